// Durable whole-file replacement: write a temporary file beside the target, fsync it, rename it
// over the target, fsync the directory. Readers see either the old or the new content, never a
// mix, and the new content survives a crash once this returns OK.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

#include "hearth/status.h"

namespace hearth {

// Replaces `path` with `content` (mode `mode`, before umask is not applied: fchmod sets it).
// Errors carry the failing step and errno text; the temporary file is removed on failure.
Status WriteFileAtomically(const std::string& path, std::string_view content, mode_t mode = 0644);

}  // namespace hearth
