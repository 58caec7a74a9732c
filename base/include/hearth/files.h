// Whole files: the one bounded reader and the one durable writer, as LevelDB builds
// ReadFileToString and WriteStringToFile once on its Env. Nothing in Hearth reads a file without a
// size bound or replaces one without this protocol.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "hearth/file_layer.h"
#include "hearth/status.h"

namespace hearth {

struct ReadOptions {
  // ReadFileBounded: false refuses a symlink at `path` itself (InvalidArgument, ELOOP).
  bool follow_symlinks = true;
  // true: a longer file is cut at `limit` bytes instead of refused.
  bool truncate = false;
  // ReadFdBounded: false reads any descriptor (a pipe) to its end.
  bool regular_only = true;
};

// Contents of the regular file `path`, at most `limit` bytes. Opening never blocks (a FIFO is
// refused, not waited on). Errors name the path: NotFound / PermissionDenied ... "open <path>:
// <strerror>"; InvalidArgument "<path> is not a regular file"; ResourceExhausted "<path> is
// larger than <limit> bytes".
StatusOr<std::string> ReadFileBounded(const std::string& path, size_t limit,
                                      const ReadOptions& options = {});

// The same for the open descriptor `fd` (not closed; read from its current offset); `what` names
// it in errors.
StatusOr<std::string> ReadFdBounded(int fd, size_t limit, const std::string& what,
                                    const ReadOptions& options = {});

// A file written in pieces and then put in place whole: data goes to a temporary file beside
// `path`; commit() fsyncs it, renames it over `path` and fsyncs the directory. Readers of `path`
// see the old content or the new, never a mix, and the new content survives a power cut once
// commit() returns OK. Destroyed without a successful commit(), it removes the temporary file.
// Not thread-safe.
class DurableFileWriter {
 public:
  // Creates the temporary file `temp_path` (truncated if a crash left it behind) with `mode`
  // (umask does not apply). With no `temp_path`, "<path>.tmp-<random>": for files that more than
  // one process may replace at once.
  static StatusOr<std::unique_ptr<DurableFileWriter>> Create(FileLayer& files,
                                                             const std::string& path, mode_t mode,
                                                             std::string temp_path = "");
  ~DurableFileWriter();
  DurableFileWriter(const DurableFileWriter&) = delete;
  DurableFileWriter& operator=(const DurableFileWriter&) = delete;

  Status append(std::string_view data);
  // After OK, `path` holds exactly what was appended, durably; after an error, `path` is unchanged
  // or already holds it (if only the directory fsync failed), and the temporary file is removed
  // (best effort: a crash can leave it; callers that care clean up "*.tmp-*").
  Status commit();

 private:
  DurableFileWriter(FileLayer& files, std::string path, std::string temp_path,
                    std::unique_ptr<WritableFile> file);
  Status fail(const Status& s);

  FileLayer& files_;
  std::string path_;
  std::string temp_path_;
  std::unique_ptr<WritableFile> file_;
  bool done_ = false;
};

// The whole-file replacement: DurableFileWriter with `content` in one piece, through `temp_path`
// (same directory as `path`; see DurableFileWriter::Create).
Status WriteFileDurably(FileLayer& files, const std::string& path, const std::string& temp_path,
                        std::string_view content, mode_t mode);
// The same with a random temporary name beside `path` ("<path>.tmp-<random>").
Status WriteFileDurably(FileLayer& files, const std::string& path, std::string_view content,
                        mode_t mode);
// The same on the real file system (PosixFileLayer()).
Status WriteFileDurably(const std::string& path, std::string_view content, mode_t mode);

// Creates `dir` and its missing parents, each made durable in its parent (createDir + syncDir).
// New directories get `mode`; existing ones are left as they are.
Status CreateDirsDurably(FileLayer& files, const std::string& dir, mode_t mode);

// The directory that holds `path` ("." for a bare name, "/" for "/x").
std::string ParentDir(const std::string& path);

}  // namespace hearth
