// FakeSystemView: an in-memory machine for unit tests. Files, directories, symlinks, commands and
// routes are added explicitly; anything not added does not exist (NotFound / Unavailable).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hearth/system_view.h"

namespace hearth::testing {

class FakeSystemView : public SystemView {
 public:
  FakeSystemView();

  // Adds a regular file (parent directories are created implicitly).
  FakeSystemView& addFile(const std::string& path, std::string content);
  // Adds a file readable only through readFileAs by `uid` (readFile as "root" still works).
  FakeSystemView& addUserFile(uint32_t uid, const std::string& path, std::string content);
  FakeSystemView& addDir(const std::string& path);
  FakeSystemView& addSymlink(const std::string& path, const std::string& target);
  FakeSystemView& addFifo(const std::string& path);
  // Makes reads of `path` (and listing, if a directory) fail with `status`.
  FakeSystemView& failPath(const std::string& path, Status status);
  FakeSystemView& setFileInfo(const std::string& path, FileInfo info);
  // A command matched by exact argv (and uid, when as_uid is set).
  FakeSystemView& addCommand(std::vector<std::string> argv, CommandResult result,
                             std::optional<uint32_t> as_uid = std::nullopt);
  FakeSystemView& addCommandError(std::vector<std::string> argv, Status status);
  FakeSystemView& addRoute(const std::string& destination, RouteInfo route);
  FakeSystemView& setNow(std::chrono::system_clock::time_point t);
  // Windows: a registry value (key matched case-insensitively, as Windows does), a failure for a
  // whole key, WMI rows or a failure per namespace, Windows Update results, power settings.
  FakeSystemView& addRegistryValue(RegistryRoot root, const std::string& key,
                                   const std::string& name, RegistryValue value);
  FakeSystemView& failRegistryKey(RegistryRoot root, const std::string& key, Status status);
  FakeSystemView& setWmi(const std::string& wmi_namespace, StatusOr<std::vector<WmiRow>> rows);
  FakeSystemView& setWindowsUpdates(StatusOr<std::vector<WindowsUpdate>> updates);
  // A registry key with no values (keys holding values exist already); subkeys are listed from
  // every key and value added.
  FakeSystemView& addRegistryKey(RegistryRoot root, const std::string& key);
  FakeSystemView& setWindowsUpdateHistory(StatusOr<WindowsUpdateHistory> history);
  FakeSystemView& setPowerSettings(StatusOr<PowerSettings> power);
  FakeSystemView& setRooted(bool rooted);

  // Every command run so far, for asserting what was (not) run.
  std::vector<Command> commandsRun() const;

  // SystemView
  StatusOr<std::string> readFile(const std::string& path, size_t limit,
                                 bool truncate_ok) const override;
  StatusOr<std::string> readFileAs(const UserIdentity& user, const std::string& path,
                                   size_t limit) const override;
  StatusOr<std::vector<std::string>> listDir(const std::string& path) const override;
  StatusOr<std::string> readLink(const std::string& path) const override;
  StatusOr<FileInfo> stat(const std::string& path, bool follow) const override;
  StatusOr<CommandResult> run(const Command& command) const override;
  StatusOr<RouteInfo> routeTo(const IpAddress& destination) const override;
  std::chrono::system_clock::time_point now() const override;
  bool isRooted() const override { return rooted_; }
  StatusOr<RegistryValue> readRegistry(RegistryRoot root, const std::string& key,
                                       const std::string& name) const override;
  StatusOr<std::vector<std::string>> listRegistrySubkeys(RegistryRoot root,
                                                         const std::string& key) const override;
  StatusOr<WindowsUpdateHistory> windowsUpdateHistory() const override;
  StatusOr<std::vector<WmiRow>> queryWmi(const std::string& wmi_namespace, const std::string& query,
                                         const std::vector<std::string>& properties) const override;
  StatusOr<std::vector<WindowsUpdate>> searchWindowsUpdates(
      const std::string& criteria) const override;
  StatusOr<PowerSettings> powerSettings() const override;

 private:
  struct Node {
    FileType type = FileType::kRegular;
    std::string content;  // file content or symlink target
    std::optional<uint32_t> only_uid;
    std::optional<FileInfo> info;
  };
  struct FakeCommand {
    std::vector<std::string> argv;
    std::optional<uint32_t> as_uid;
    StatusOr<CommandResult> result;
  };
  void addParents(const std::string& path);
  // Resolves symlinks in every component (absolute and relative targets). NotFound if missing.
  StatusOr<std::string> resolve(const std::string& path, bool follow_last) const;

  std::map<std::string, Node> nodes_;
  std::map<std::string, Status> failures_;
  std::vector<FakeCommand> commands_;
  std::map<std::string, RouteInfo> routes_;
  std::chrono::system_clock::time_point now_;
  bool rooted_ = false;
  // "HKLM\\key\\name" in lower case.
  std::map<std::string, RegistryValue> registry_;
  std::map<std::string, Status> registry_failures_;  // "HKLM\\key" in lower case
  // Every key added, as given (case kept for listing), by its lower-case path.
  std::map<std::string, std::pair<RegistryRoot, std::string>> registry_keys_;
  std::optional<StatusOr<WindowsUpdateHistory>> update_history_;
  std::map<std::string, StatusOr<std::vector<WmiRow>>> wmi_;
  std::optional<StatusOr<std::vector<WindowsUpdate>>> updates_;
  std::optional<StatusOr<PowerSettings>> power_;
  mutable std::mutex mu_;
  mutable std::vector<Command> run_log_;
};

}  // namespace hearth::testing
