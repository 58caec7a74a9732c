// Low-level file helpers shared by the live and rooted SystemViews (POSIX, no exceptions).
#pragma once

#include <string>
#include <sys/stat.h>
#include <vector>

#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::internal {

// Reads from `fd` until EOF, at most `limit` bytes. A longer input is ResourceExhausted unless
// `truncate_ok`. `what` names the file in errors.
StatusOr<std::string> readAllBounded(int fd, size_t limit, bool truncate_ok,
                                     const std::string& what);

// Reads the file open at `fd` (any open mode), refusing anything that is not a regular file.
StatusOr<std::string> readRegularFd(int fd, size_t limit, bool truncate_ok,
                                    const std::string& what);

// Lists the directory open at `fd` (consumed: closed on return).
StatusOr<std::vector<std::string>> listDirFd(int fd, const std::string& what);

// FileInfo from statx of (dirfd, path, flags).
StatusOr<FileInfo> statxInfo(int dirfd, const char* path, int flags, const std::string& what);

}  // namespace hearth::internal
