// uid_t and gid_t: from <sys/types.h> on POSIX systems. Windows has no POSIX user and group ids;
// there they are plain numbers for the shared code (account parsers, UserIdentity) and unused.
#pragma once

#include <sys/types.h>

#if defined(_WIN32)
#include <cstdint>
using uid_t = std::uint32_t;
using gid_t = std::uint32_t;
#endif
