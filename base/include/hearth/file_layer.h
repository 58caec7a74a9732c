// The file operations durable state is built on (the agent's spool and sequence counter, every
// whole-file replacement through WriteFileDurably in files.h), as one narrow interface: LevelDB's
// Env is the model, kept to the handful of calls a crash-safe "temp file + fsync + rename + fsync
// directory" protocol needs. Production code uses PosixFileLayer(); tests substitute a layer that
// fails any step on command or simulates a power cut (tests/fakes/fault_file_layer.h), to prove
// the fsync ordering of the code above it.
//
// Durability contract (what the fault layer enforces and the POSIX layer relies on):
//   - data written to a file survives a power cut only after WritableFile::sync();
//   - a file's *name* (its creation, a rename onto it, an unlink) survives only after syncDir() of
//     the directory that holds it; a directory's own name needs syncDir() of its parent.
//
// Errors: ENOSPC and EDQUOT are ResourceExhausted with a message that starts with "disk full: "
// (IsDiskFull()); other errno values follow ErrnoToStatus. Every message names the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "hearth/status.h"

namespace hearth {

// One file being written. Not thread-safe. Destroying it closes it, ignoring errors.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` (a short write is retried; an error may leave part of it written).
  virtual Status append(std::string_view data) = 0;
  // fsync(2): what was appended so far is durable. Not the file's name: see FileLayer::syncDir.
  virtual Status sync() = 0;
  // Closes the file; idempotent. close(2) can report a deferred write error.
  virtual Status close() = 0;
};

// Implementations must be safe for concurrent use by several threads.
class FileLayer {
 public:
  virtual ~FileLayer() = default;

  // Creates `path` with permission bits `mode` (umask does not apply), truncating an existing
  // regular file. Never follows a symlink at `path`.
  virtual StatusOr<std::unique_ptr<WritableFile>> createFile(const std::string& path,
                                                             mode_t mode) = 0;
  // rename(2): atomically replaces `to`. Both must be in the same directory for the fault layer.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // fsync(2) of a directory: names created, replaced or removed in it so far are durable.
  virtual Status syncDir(const std::string& dir) = 0;
  // Creates one directory level with `mode` (umask does not apply); OK if it is already a
  // directory (its mode is then left alone).
  virtual Status createDir(const std::string& dir, mode_t mode) = 0;
  // Names in `dir`, without "." and "..", in no particular order. NotFound if it does not exist.
  virtual StatusOr<std::vector<std::string>> listDir(const std::string& dir) = 0;
  // Contents of the regular file `path`, never following a symlink at `path`. NotFound if absent;
  // ResourceExhausted if it is larger than `limit`; InvalidArgument if it is not a regular file.
  virtual StatusOr<std::string> readFile(const std::string& path, size_t limit) = 0;
  // Size of the regular file `path` (not following a symlink). NotFound if absent.
  virtual StatusOr<uint64_t> fileSize(const std::string& path) = 0;
  // unlink(2). NotFound if absent.
  virtual Status unlink(const std::string& path) = 0;
};

// The real file system (file_layer_linux.cc; on Windows file_layer_windows.cc, where the name is
// kept for the shared callers). Stateless and thread-safe; lives as long as the process.
FileLayer& PosixFileLayer();

// The Status for errno `err` while doing `what` (which names the path): "disk full: what: No
// space left on device" (ResourceExhausted) for ENOSPC/EDQUOT, else ErrnoToStatus(err, what).
Status FileErrorStatus(int err, std::string_view what);

// True when `s` came from a full disk or quota (see FileErrorStatus).
bool IsDiskFull(const Status& s);

}  // namespace hearth
