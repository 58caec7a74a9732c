// The file layer on Windows (see file_layer.h): CreateFileW, FlushFileBuffers and
// MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH). Windows cannot flush a
// directory: the write-through rename is what makes a replacement's name durable, so syncDir only
// checks that the directory exists. Permission bits (`mode`) become the equivalent protected ACL
// (windows_acl.h), given at creation.
#include <windows.h>

#include <sddl.h>

#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/windows_acl.h"
#include "hearth/windows_text.h"

namespace hearth {

namespace {

constexpr std::string_view kDiskFullPrefix = "disk full: ";

// The security attributes standing for `mode` (windows_acl.h); freed with the object.
class ModeSecurity {
 public:
  ModeSecurity(mode_t mode, bool directory) {
    const std::wstring sddl = windows::Widen(windows::SddlForMode(mode, directory));
    if (::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd_,
                                                               nullptr)) {
      attrs_.nLength = sizeof attrs_;
      attrs_.lpSecurityDescriptor = sd_;
      attrs_.bInheritHandle = FALSE;
    }
  }
  ~ModeSecurity() {
    if (sd_ != nullptr) ::LocalFree(sd_);
  }
  ModeSecurity(const ModeSecurity&) = delete;
  ModeSecurity& operator=(const ModeSecurity&) = delete;
  // Null (the default ACL) only when the descriptor could not be made.
  SECURITY_ATTRIBUTES* get() { return sd_ != nullptr ? &attrs_ : nullptr; }

 private:
  PSECURITY_DESCRIPTOR sd_ = nullptr;
  SECURITY_ATTRIBUTES attrs_{};
};

class WindowsWritableFile : public WritableFile {
 public:
  WindowsWritableFile(HANDLE h, std::string path) : h_(h), path_(std::move(path)) {}
  ~WindowsWritableFile() override {
    if (h_ != INVALID_HANDLE_VALUE) ::CloseHandle(h_);
  }
  WindowsWritableFile(const WindowsWritableFile&) = delete;
  WindowsWritableFile& operator=(const WindowsWritableFile&) = delete;

  Status append(std::string_view data) override {
    if (h_ == INVALID_HANDLE_VALUE) {
      return FailedPreconditionError("write " + path_ + ": the file is closed");
    }
    while (!data.empty()) {
      DWORD chunk = data.size() > (1U << 30) ? (1U << 30) : static_cast<DWORD>(data.size());
      DWORD n = 0;
      if (!::WriteFile(h_, data.data(), chunk, &n, nullptr)) {
        return windows::Win32ErrorStatus(::GetLastError(), "write " + path_);
      }
      data.remove_prefix(n);
    }
    return OkStatus();
  }

  Status sync() override {
    if (h_ == INVALID_HANDLE_VALUE) {
      return FailedPreconditionError("flush " + path_ + ": the file is closed");
    }
    if (!::FlushFileBuffers(h_)) {
      return windows::Win32ErrorStatus(::GetLastError(), "flush " + path_);
    }
    return OkStatus();
  }

  Status close() override {
    if (h_ == INVALID_HANDLE_VALUE) return OkStatus();
    BOOL ok = ::CloseHandle(h_);
    h_ = INVALID_HANDLE_VALUE;
    if (!ok) return windows::Win32ErrorStatus(::GetLastError(), "close " + path_);
    return OkStatus();
  }

 private:
  HANDLE h_;
  std::string path_;
};

class WindowsLayer : public FileLayer {
 public:
  StatusOr<std::unique_ptr<WritableFile>> createFile(const std::string& path,
                                                     mode_t mode) override {
    std::wstring wpath = windows::Widen(path);
    DWORD attrs = ::GetFileAttributesW(wpath.c_str());
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
      return InvalidArgumentError("create " + path + ": a link, not followed");
    }
    // An existing file keeps its ACL under CREATE_ALWAYS: the durable writer always creates a
    // fresh temporary file, which brings this one when renamed into place.
    ModeSecurity security(mode, false);
    HANDLE h = ::CreateFileW(wpath.c_str(), GENERIC_WRITE, FILE_SHARE_READ, security.get(),
                             CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
      return windows::Win32ErrorStatus(::GetLastError(), "create " + path);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<WindowsWritableFile>(h, path));
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (!::MoveFileExW(windows::Widen(from).c_str(), windows::Widen(to).c_str(),
                       MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
      return windows::Win32ErrorStatus(::GetLastError(), "rename " + from + " to " + to);
    }
    return OkStatus();
  }

  Status syncDir(const std::string& dir) override {
    DWORD attrs = ::GetFileAttributesW(windows::Widen(dir).c_str());
    if (attrs == INVALID_FILE_ATTRIBUTES) {
      return windows::Win32ErrorStatus(::GetLastError(), "open directory " + dir);
    }
    return OkStatus();
  }

  Status createDir(const std::string& dir, mode_t mode) override {
    std::wstring wdir = windows::Widen(dir);
    ModeSecurity security(mode, true);
    if (::CreateDirectoryW(wdir.c_str(), security.get())) return OkStatus();
    DWORD err = ::GetLastError();
    DWORD attrs = ::GetFileAttributesW(wdir.c_str());
    if (err == ERROR_ALREADY_EXISTS && attrs != INVALID_FILE_ATTRIBUTES &&
        (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      return OkStatus();
    }
    return windows::Win32ErrorStatus(err, "create directory " + dir);
  }

  StatusOr<std::vector<std::string>> listDir(const std::string& dir) override {
    WIN32_FIND_DATAW data{};
    HANDLE h = ::FindFirstFileW(windows::Widen(dir + "/*").c_str(), &data);
    if (h == INVALID_HANDLE_VALUE)
      return windows::Win32ErrorStatus(::GetLastError(), "list " + dir);
    std::vector<std::string> names;
    do {
      std::string n = windows::Narrow(data.cFileName);
      if (n != "." && n != "..") names.push_back(std::move(n));
    } while (::FindNextFileW(h, &data));
    DWORD err = ::GetLastError();
    ::FindClose(h);
    if (err != ERROR_NO_MORE_FILES) return windows::Win32ErrorStatus(err, "list " + dir);
    return names;
  }

  StatusOr<std::string> readFile(const std::string& path, size_t limit) override {
    return ReadFileBounded(path, limit, {.follow_symlinks = false});
  }

  StatusOr<uint64_t> fileSize(const std::string& path) override {
    WIN32_FILE_ATTRIBUTE_DATA data{};
    if (!::GetFileAttributesExW(windows::Widen(path).c_str(), GetFileExInfoStandard, &data)) {
      return windows::Win32ErrorStatus(::GetLastError(), "stat " + path);
    }
    if ((data.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0) {
      return InvalidArgumentError(path + " is not a regular file");
    }
    return (static_cast<uint64_t>(data.nFileSizeHigh) << 32) | data.nFileSizeLow;
  }

  Status unlink(const std::string& path) override {
    if (!::DeleteFileW(windows::Widen(path).c_str())) {
      return windows::Win32ErrorStatus(::GetLastError(), "remove " + path);
    }
    return OkStatus();
  }
};

}  // namespace

FileLayer& PosixFileLayer() {
  static WindowsLayer* layer = new WindowsLayer();  // never destroyed: usable during exit
  return *layer;
}

Status FileErrorStatus(int err, std::string_view what) { return ErrnoToStatus(err, what); }

bool IsDiskFull(const Status& s) {
  return s.code() == StatusCode::kResourceExhausted && s.message().starts_with(kDiskFullPrefix);
}

}  // namespace hearth
