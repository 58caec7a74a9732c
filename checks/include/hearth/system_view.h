// SystemView: the only way checks touch the machine. Implementations:
//   - LiveSystemView (system/live_system_view_linux.cc): this Linux machine, as the calling
//     process; (system/live_system_view_windows.cc): this Windows machine, with the registry,
//     WMI, the Windows Update Agent and the power settings besides files, commands and routes.
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
#include <string_view>
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
  // Windows (GetBestRoute2 + GetIfEntry2): the interface's IANA ifType (6 Ethernet, 23 PPP,
  // 53 proprietary virtual, 131 tunnel, ...; 0 = not reported), its description ("WireGuard
  // Tunnel", "TAP-Windows Adapter V9") and whether it is operationally up.
  uint32_t interface_type = 0;
  std::string interface_description;
  std::optional<bool> interface_up;
};

// Windows: the registry roots a SystemView can read (HKU\<SID> through kUsers).
enum class RegistryRoot { kLocalMachine, kUsers, kCurrentUser };
std::string_view registryRootName(RegistryRoot root);  // "HKLM", "HKU", "HKCU"

// Windows: one registry value. REG_DWORD and REG_QWORD are numbers; REG_SZ and REG_EXPAND_SZ
// (not expanded) are text; other types are kOther (their data is not read).
struct RegistryValue {
  enum class Type { kNumber, kText, kOther };
  Type type = Type::kOther;
  uint64_t number = 0;
  std::string text;
};

// Windows: one row of a WMI query, each requested property as text ("" for NULL), numbers in
// decimal, booleans "true"/"false".
using WmiRow = std::map<std::string, std::string>;

// Windows: one update the Windows Update Agent lists as not installed (from its local cache).
struct WindowsUpdate {
  std::string title;
  std::string update_id;
  std::vector<std::string> kb_ids;      // "5034441"
  std::string msrc_severity;            // "Critical", "Important", ... or ""
  std::vector<std::string> categories;  // "Security Updates", "Critical Updates", ...
  std::optional<std::chrono::system_clock::time_point> last_deployment_change;
};

// Windows: the Windows Update Agent's record of its last successful search for updates (its local
// cache is as fresh as that search) and of its last successful installation
// (IAutomaticUpdates2::Results). Absent when Windows Update never succeeded.
struct WindowsUpdateHistory {
  std::optional<std::chrono::system_clock::time_point> last_search_success;
  std::optional<std::chrono::system_clock::time_point> last_installation_success;
};

// Windows: the power settings of the active scheme that screen locking depends on.
struct PowerSettings {
  std::optional<int64_t> display_off_ac_seconds;  // 0 = never
  std::optional<int64_t> display_off_dc_seconds;
  std::optional<bool> lock_on_wake_ac;  // "require a sign-in on wake" (CONSOLELOCK)
  std::optional<bool> lock_on_wake_dc;
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

  // Windows only (the others answer Unavailable): the value `name` of registry key `key`
  // (backslashes) under `root`. NotFound when the key or the value does not exist.
  virtual StatusOr<RegistryValue> readRegistry(RegistryRoot root, const std::string& key,
                                               const std::string& name) const;
  // The names of the subkeys of registry key `key` under `root`, sorted (at most 10,000; more is
  // ResourceExhausted). NotFound when the key does not exist: a key's existence is a fact Windows
  // records (a pending restart is the key RebootRequired), so this is also how to test for one.
  virtual StatusOr<std::vector<std::string>> listRegistrySubkeys(RegistryRoot root,
                                                                 const std::string& key) const;
  // The rows of WQL `query` in WMI namespace `wmi_namespace` ("ROOT\\CIMV2"), with the listed
  // `properties`. A namespace that does not exist or cannot be opened is an error (with the
  // HRESULT), never zero rows.
  virtual StatusOr<std::vector<WmiRow>> queryWmi(const std::string& wmi_namespace,
                                                 const std::string& query,
                                                 const std::vector<std::string>& properties) const;
  // The Windows Update Agent's search of its local cache (never online, never a download).
  virtual StatusOr<std::vector<WindowsUpdate>> searchWindowsUpdates(
      const std::string& criteria) const;
  // The Windows Update Agent's last successful search and installation.
  virtual StatusOr<WindowsUpdateHistory> windowsUpdateHistory() const;
  // The active power scheme's display-off timeouts and sign-in-on-wake settings.
  virtual StatusOr<PowerSettings> powerSettings() const;

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
