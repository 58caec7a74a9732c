// SystemView: the only way checks touch the machine. Three implementations:
//   - LiveSystemView (system/live_system_view.cc): this Linux machine, as the calling process.
//   - RootedSystemView (system/rooted_system_view.cc): a directory tree that mirrors a machine
//     (`hearth-agent check --root DIR`); commands and routes come from recordings inside the tree.
//   - testing::FakeSystemView (tests/fakes): in-memory files, commands and routes for unit tests.
// Implementations must be safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "hearth/ip_address.h"
#include "hearth/process.h"  // Command, CommandResult, UserIdentity
#include "hearth/status.h"

namespace hearth {

enum class FileType {
  kRegular,
  kDirectory,
  kSymlink,
  kFifo,
  kCharDevice,
  kBlockDevice,
  kSocket,
  kOther
};

struct FileInfo {
  FileType type = FileType::kOther;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0;  // permission bits only (07777)
  uint64_t size = 0;
  uint64_t dev = 0;   // device of the filesystem holding the file (makedev form)
  uint64_t rdev = 0;  // for device nodes
  std::chrono::system_clock::time_point mtime;
  // statx(2) STATX_ATTR_ENCRYPTED (fscrypt): known only where the filesystem reports it.
  bool encryption_attr_known = false;
  bool encrypted = false;
};

// The kernel's answer to "which route does a packet to `destination` take" (RTM_GETROUTE,
// policy rules included).
struct RouteInfo {
  std::string destination;  // the address asked about
  std::string type;         // "unicast", "local", "unreachable", "blackhole", "prohibit", ...
  std::string interface;    // output interface name ("" if none)
  int interface_index = 0;
  std::string gateway;         // "" when directly connected
  std::string source;          // preferred source address, if any
  uint32_t table = 0;          // routing table the route came from (254 = main)
  std::string matched_prefix;  // the route that matched, e.g. "10.20.0.0/16" or "default"
};

class SystemView {
 public:
  virtual ~SystemView() = default;

  // Contents of the regular file `path` (absolute), at most `limit` bytes: a longer file is an
  // error (ResourceExhausted) unless `truncate_ok`, in which case the first `limit` bytes are
  // returned. NotFound if it does not exist, PermissionDenied if unreadable, InvalidArgument if it
  // is not a regular file (FIFOs and devices are never opened for reading).
  virtual StatusOr<std::string> readFile(const std::string& path, size_t limit = 1 << 20,
                                         bool truncate_ok = false) const = 0;

  // Like readFile, but as `user` (live: in a child process with that identity, so the user's
  // permissions apply and no symlink the user planted is followed with root's rights; rooted:
  // inside the root, regular files only, symlinks that leave the tree refused).
  virtual StatusOr<std::string> readFileAs(const UserIdentity& user, const std::string& path,
                                           size_t limit = 1 << 20) const = 0;

  // Names in directory `path`, sorted, without "." and "..".
  virtual StatusOr<std::vector<std::string>> listDir(const std::string& path) const = 0;

  // The target of symlink `path` as stored (not resolved).
  virtual StatusOr<std::string> readLink(const std::string& path) const = 0;

  // Metadata of `path`; `follow` = follow a final symlink.
  virtual StatusOr<FileInfo> stat(const std::string& path, bool follow = true) const = 0;

  // Runs `command`. A non-zero exit is not an error (see CommandResult); errors are: the program
  // does not exist (NotFound), cannot be started, or ran past its timeout (DeadlineExceeded; the
  // whole process group is killed). Unavailable when this view cannot run commands at all.
  virtual StatusOr<CommandResult> run(const Command& command) const = 0;

  // Asks the kernel which route a packet to `destination` would take. Sends no packet.
  virtual StatusOr<RouteInfo> routeTo(const IpAddress& destination) const = 0;

  virtual std::chrono::system_clock::time_point now() const = 0;

  // True when this view looks at a tree under --root rather than the running machine (commands
  // as other users, D-Bus and live kernel state are not available).
  virtual bool isRooted() const { return false; }
};

struct LiveOptions {
  // Added to the environment of every command (unless the command sets the variable itself).
  // Tests use it to point apt (APT_CONFIG) and dconf (DCONF_PROFILE) at hermetic data; nothing in
  // production sets it.
  std::map<std::string, std::string> command_env;
};

// The running machine.
std::unique_ptr<SystemView> NewLiveSystemView(LiveOptions options = {});

// A tree mirroring a machine's files. Paths are resolved inside `root` (openat2 RESOLVE_IN_ROOT):
// absolute symlinks and ".." stay inside the tree. Recorded command outputs and routes are read
// from `root`/.hearth/commands.json and `root`/.hearth/routes.json (see docs/root-trees.md);
// a command or route without a recording is Unavailable. `now` overrides the clock if set.
StatusOr<std::unique_ptr<SystemView>> NewRootedSystemView(
    const std::string& root,
    std::optional<std::chrono::system_clock::time_point> now = std::nullopt);

}  // namespace hearth
