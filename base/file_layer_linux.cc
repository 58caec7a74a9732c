// The POSIX file layer (see file_layer.h).
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/file_layer.h"
#include "hearth/files.h"

namespace hearth {

namespace {

constexpr std::string_view kDiskFullPrefix = "disk full: ";

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status append(std::string_view data) override {
    if (fd_ < 0) return FailedPreconditionError("write " + path_ + ": the file is closed");
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return FileErrorStatus(errno, "write " + path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return OkStatus();
  }

  Status sync() override {
    if (fd_ < 0) return FailedPreconditionError("fsync " + path_ + ": the file is closed");
    if (::fsync(fd_) != 0) return FileErrorStatus(errno, "fsync " + path_);
    return OkStatus();
  }

  Status close() override {
    if (fd_ < 0) return OkStatus();
    int rc = ::close(fd_);
    fd_ = -1;
    // EINTR from close(2) on Linux: the descriptor is gone anyway; not an error worth retrying.
    if (rc != 0 && errno != EINTR) return FileErrorStatus(errno, "close " + path_);
    return OkStatus();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixLayer : public FileLayer {
 public:
  StatusOr<std::unique_ptr<WritableFile>> createFile(const std::string& path,
                                                     mode_t mode) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return FileErrorStatus(errno, "create " + path);
    if (::fchmod(fd, mode) != 0) {
      int err = errno;
      ::close(fd);
      return FileErrorStatus(err, "fchmod " + path);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(fd, path));
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return FileErrorStatus(errno, "rename " + from + " to " + to);
    }
    return OkStatus();
  }

  Status syncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return FileErrorStatus(errno, "open directory " + dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return FileErrorStatus(err, "fsync directory " + dir);
    return OkStatus();
  }

  Status createDir(const std::string& dir, mode_t mode) override {
    if (::mkdir(dir.c_str(), mode) == 0) {
      if (::chmod(dir.c_str(), mode) != 0) return FileErrorStatus(errno, "chmod " + dir);
      return OkStatus();
    }
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return OkStatus();
    return FileErrorStatus(err, "create directory " + dir);
  }

  StatusOr<std::vector<std::string>> listDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return FileErrorStatus(errno, "list " + dir);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
      errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return FileErrorStatus(err, "list " + dir);
    return names;
  }

  StatusOr<std::string> readFile(const std::string& path, size_t limit) override {
    return ReadFileBounded(path, limit, {.follow_symlinks = false});
  }

  StatusOr<uint64_t> fileSize(const std::string& path) override {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return FileErrorStatus(errno, "stat " + path);
    if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + " is not a regular file");
    return static_cast<uint64_t>(st.st_size);
  }

  Status unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return FileErrorStatus(errno, "remove " + path);
    return OkStatus();
  }
};

}  // namespace

FileLayer& PosixFileLayer() {
  static PosixLayer* layer = new PosixLayer();  // never destroyed: usable during exit
  return *layer;
}

Status FileErrorStatus(int err, std::string_view what) {
  if (err == ENOSPC || err == EDQUOT) {
    return ResourceExhaustedError(std::string(kDiskFullPrefix) + std::string(what) + ": " +
                                  std::strerror(err));
  }
  return ErrnoToStatus(err, what);
}

bool IsDiskFull(const Status& s) {
  return s.code() == StatusCode::kResourceExhausted && s.message().starts_with(kDiskFullPrefix);
}

}  // namespace hearth
