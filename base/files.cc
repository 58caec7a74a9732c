// The durable writer (see files.h). The bounded reader and the random suffix of temporary
// names are per OS: files_linux.cc, files_windows.cc.
#include "hearth/files.h"

#include "files_internal.h"

namespace hearth {

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
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
  if (temp_path.empty()) temp_path = path + ".tmp-" + internal::RandomSuffix();
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
