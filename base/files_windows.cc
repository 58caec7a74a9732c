// The bounded reader and the random suffix of temporary names on Windows (see files.h).
#include <windows.h>

#include <bcrypt.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "files_internal.h"
#include "hearth/files.h"
#include "hearth/windows_text.h"

namespace hearth {

namespace internal {

std::string RandomSuffix() {
  static std::atomic<uint64_t> counter{0};
  uint64_t v = 0;
  if (!BCRYPT_SUCCESS(::BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(&v), sizeof v,
                                        BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    v = (static_cast<uint64_t>(::GetCurrentProcessId()) << 40) ^ static_cast<uint64_t>(now) ^
        ++counter;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace internal

namespace {

class Handle {
 public:
  explicit Handle(HANDLE h) : h_(h) {}
  ~Handle() {
    if (h_ != INVALID_HANDLE_VALUE) ::CloseHandle(h_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  HANDLE get() const { return h_; }
  bool valid() const { return h_ != INVALID_HANDLE_VALUE; }

 private:
  HANDLE h_;
};

}  // namespace

// A symlink or junction at `path` is refused (as O_NOFOLLOW) unless options.follow_symlinks;
// devices, pipes and directories are "not a regular file".
StatusOr<std::string> ReadFileBounded(const std::string& path, size_t limit,
                                      const ReadOptions& options) {
  DWORD flags = FILE_FLAG_SEQUENTIAL_SCAN;
  if (!options.follow_symlinks) flags |= FILE_FLAG_OPEN_REPARSE_POINT;
  Handle h(::CreateFileW(windows::Widen(path).c_str(), GENERIC_READ,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, flags, nullptr));
  if (!h.valid()) return windows::Win32ErrorStatus(::GetLastError(), "open " + path);
  BY_HANDLE_FILE_INFORMATION info{};
  if (::GetFileType(h.get()) != FILE_TYPE_DISK || !::GetFileInformationByHandle(h.get(), &info) ||
      (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return InvalidArgumentError(path + " is not a regular file");
  }
  if (!options.follow_symlinks && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    return InvalidArgumentError("open " + path + ": a link, not followed");
  }
  std::string out;
  char buf[16384];
  while (true) {
    DWORD n = 0;
    if (!::ReadFile(h.get(), buf, sizeof buf, &n, nullptr)) {
      return windows::Win32ErrorStatus(::GetLastError(), "read " + path);
    }
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > limit) {
      if (options.truncate) {
        out.resize(limit);
        return out;
      }
      return ResourceExhaustedError(path + " is larger than " + std::to_string(limit) + " bytes");
    }
  }
  return out;
}

}  // namespace hearth
