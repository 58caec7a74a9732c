// Low-level file helpers shared by the live and rooted SystemViews (POSIX, no exceptions).
#pragma once

#include <string>
#include <sys/stat.h>
#include <vector>

#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::internal {

// Lists the directory open at `fd` (consumed: closed on return).
StatusOr<std::vector<std::string>> listDirFd(int fd, const std::string& what);

// FileInfo from statx of (dirfd, path, flags).
StatusOr<FileInfo> statxInfo(int dirfd, const char* path, int flags, const std::string& what);

}  // namespace hearth::internal
