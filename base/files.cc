// The bounded reader and the durable writer (see files.h).
#include "hearth/files.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/fd.h"

namespace hearth {

namespace {

// 16 hex digits no other writer will pick: from getrandom(2), or (should it fail) from the pid,
// the clock and a counter.
std::string randomSuffix() {
  static std::atomic<uint64_t> counter{0};
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    v = (static_cast<uint64_t>(::getpid()) << 40) ^ static_cast<uint64_t>(now) ^ ++counter;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

StatusOr<std::string> ReadFdBounded(int fd, size_t limit, const std::string& what,
                                    const ReadOptions& options) {
  if (options.regular_only) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return ErrnoToStatus(errno, "stat " + what);
    if (!S_ISREG(st.st_mode)) return InvalidArgumentError(what + " is not a regular file");
  }
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "read " + what);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) {
      if (options.truncate) {
        out.resize(limit);
        return out;
      }
      return ResourceExhaustedError(what + " is larger than " + std::to_string(limit) + " bytes");
    }
  }
  return out;
}

StatusOr<std::string> ReadFileBounded(const std::string& path, size_t limit,
                                      const ReadOptions& options) {
  // O_NONBLOCK: opening a FIFO must never block (logind's .ref files are FIFOs).
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  if (!options.follow_symlinks) flags |= O_NOFOLLOW;
  Fd fd(::open(path.c_str(), flags));
  if (!fd.valid()) return ErrnoToStatus(errno, "open " + path);
  ReadOptions regular = options;
  regular.regular_only = true;
  return ReadFdBounded(fd.get(), limit, path, regular);
}

// --- the durable writer -------------------------------------------------------------------------

DurableFileWriter::DurableFileWriter(FileLayer& files, std::string path, std::string temp_path,
                                     std::unique_ptr<WritableFile> file)
    : files_(files),
      path_(std::move(path)),
      temp_path_(std::move(temp_path)),
      file_(std::move(file)) {}

DurableFileWriter::~DurableFileWriter() {
  if (!done_) (void)fail(OkStatus());
}

StatusOr<std::unique_ptr<DurableFileWriter>> DurableFileWriter::Create(FileLayer& files,
                                                                       const std::string& path,
                                                                       mode_t mode,
                                                                       std::string temp_path) {
  if (temp_path.empty()) temp_path = path + ".tmp-" + randomSuffix();
  auto created = files.createFile(temp_path, mode);
  if (!created.ok()) {
    (void)files.unlink(temp_path);  // O_TRUNC may have failed after creating it
    return created.status();
  }
  return std::unique_ptr<DurableFileWriter>(
      new DurableFileWriter(files, path, std::move(temp_path), std::move(created).value()));
}

Status DurableFileWriter::fail(const Status& s) {
  file_.reset();
  (void)files_.unlink(temp_path_);
  done_ = true;
  return s;
}

Status DurableFileWriter::append(std::string_view data) {
  if (done_) return FailedPreconditionError("write " + temp_path_ + ": already finished");
  if (Status s = file_->append(data); !s.ok()) return fail(s);
  return OkStatus();
}

Status DurableFileWriter::commit() {
  if (done_) return FailedPreconditionError("commit " + path_ + ": already finished");
  // The data must be durable before the name points at it: otherwise a power cut after the
  // rename can leave `path` empty or partial (the classic ext4 zero-length-file failure).
  if (Status s = file_->sync(); !s.ok()) return fail(s);
  if (Status s = file_->close(); !s.ok()) return fail(s);
  if (Status s = files_.rename(temp_path_, path_); !s.ok()) return fail(s);
  done_ = true;
  file_.reset();
  // Without this the rename itself may be undone by a power cut.
  return files_.syncDir(ParentDir(path_));
}

Status WriteFileDurably(FileLayer& files, const std::string& path, const std::string& temp_path,
                        std::string_view content, mode_t mode) {
  HEARTH_ASSIGN_OR_RETURN(auto writer, DurableFileWriter::Create(files, path, mode, temp_path));
  HEARTH_RETURN_IF_ERROR(writer->append(content));
  return writer->commit();
}

Status WriteFileDurably(FileLayer& files, const std::string& path, std::string_view content,
                        mode_t mode) {
  return WriteFileDurably(files, path, "", content, mode);
}

Status WriteFileDurably(const std::string& path, std::string_view content, mode_t mode) {
  return WriteFileDurably(PosixFileLayer(), path, "", content, mode);
}

Status CreateDirsDurably(FileLayer& files, const std::string& dir, mode_t mode) {
  Status s = files.createDir(dir, mode);
  if (s.code() == StatusCode::kNotFound) {
    std::string parent = ParentDir(dir);
    if (parent == dir) return s;
    HEARTH_RETURN_IF_ERROR(CreateDirsDurably(files, parent, mode));
    s = files.createDir(dir, mode);
  }
  HEARTH_RETURN_IF_ERROR(s);
  return files.syncDir(ParentDir(dir));
}

}  // namespace hearth
