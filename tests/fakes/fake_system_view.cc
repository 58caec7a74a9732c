#include "fakes/fake_system_view.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace hearth::testing {

namespace {

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return path.substr(0, slash);
}

// Normalises "/a/./b/../c" to "/a/c".
std::string normalize(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

}  // namespace

FakeSystemView::FakeSystemView()
    : now_(std::chrono::system_clock::from_time_t(1795687200)) {  // 2026-11-26T10:00:00Z
  nodes_["/"] = Node{FileType::kDirectory, "", std::nullopt, std::nullopt};
}

void FakeSystemView::addParents(const std::string& path) {
  std::string p = parentOf(path);
  while (true) {
    auto it = nodes_.find(p);
    if (it == nodes_.end()) nodes_[p] = Node{FileType::kDirectory, "", std::nullopt, std::nullopt};
    if (p == "/") break;
    p = parentOf(p);
  }
}

FakeSystemView& FakeSystemView::addFile(const std::string& path, std::string content) {
  addParents(path);
  nodes_[normalize(path)] =
      Node{FileType::kRegular, std::move(content), std::nullopt, std::nullopt};
  return *this;
}

FakeSystemView& FakeSystemView::addUserFile(uint32_t uid, const std::string& path,
                                            std::string content) {
  addParents(path);
  nodes_[normalize(path)] = Node{FileType::kRegular, std::move(content), uid, std::nullopt};
  return *this;
}

FakeSystemView& FakeSystemView::addDir(const std::string& path) {
  addParents(path);
  nodes_[normalize(path)] = Node{FileType::kDirectory, "", std::nullopt, std::nullopt};
  return *this;
}

FakeSystemView& FakeSystemView::addSymlink(const std::string& path, const std::string& target) {
  addParents(path);
  nodes_[normalize(path)] = Node{FileType::kSymlink, target, std::nullopt, std::nullopt};
  return *this;
}

FakeSystemView& FakeSystemView::addFifo(const std::string& path) {
  addParents(path);
  nodes_[normalize(path)] = Node{FileType::kFifo, "", std::nullopt, std::nullopt};
  return *this;
}

FakeSystemView& FakeSystemView::failPath(const std::string& path, Status status) {
  failures_[normalize(path)] = std::move(status);
  return *this;
}

FakeSystemView& FakeSystemView::setFileInfo(const std::string& path, FileInfo info) {
  nodes_[normalize(path)].info = info;
  return *this;
}

FakeSystemView& FakeSystemView::addCommand(std::vector<std::string> argv, CommandResult result,
                                           std::optional<uint32_t> as_uid) {
  commands_.push_back(FakeCommand{std::move(argv), as_uid, std::move(result)});
  return *this;
}

FakeSystemView& FakeSystemView::addCommandError(std::vector<std::string> argv, Status status) {
  commands_.push_back(FakeCommand{std::move(argv), std::nullopt, std::move(status)});
  return *this;
}

FakeSystemView& FakeSystemView::addRoute(const std::string& destination, RouteInfo route) {
  auto ip = IpAddress::parse(destination);
  std::string key = ip.ok() ? ip->toString() : destination;
  route.destination = key;
  routes_[key] = std::move(route);
  return *this;
}

FakeSystemView& FakeSystemView::setNow(std::chrono::system_clock::time_point t) {
  now_ = t;
  return *this;
}

FakeSystemView& FakeSystemView::setRooted(bool rooted) {
  rooted_ = rooted;
  return *this;
}

std::vector<Command> FakeSystemView::commandsRun() const {
  std::lock_guard<std::mutex> lock(mu_);
  return run_log_;
}

StatusOr<std::string> FakeSystemView::resolve(const std::string& path, bool follow_last) const {
  if (path.empty() || path[0] != '/') return InvalidArgumentError("path must be absolute: " + path);
  std::string current = normalize(path);
  for (int hops = 0; hops < 40; ++hops) {
    // Find the first component that is a symlink (respecting follow_last for the final one).
    std::string prefix;
    size_t i = 1;
    bool changed = false;
    while (i <= current.size()) {
      size_t j = current.find('/', i);
      if (j == std::string::npos) j = current.size();
      prefix = current.substr(0, j);
      bool last = j >= current.size();
      if (auto f = failures_.find(prefix); f != failures_.end() && !last) return f->second;
      auto it = nodes_.find(prefix);
      if (it == nodes_.end()) return NotFoundError(path + " does not exist");
      if (it->second.type == FileType::kSymlink && (!last || follow_last)) {
        const std::string& target = it->second.content;
        std::string base =
            target.size() > 0 && target[0] == '/' ? target : parentOf(prefix) + "/" + target;
        current = normalize(base + current.substr(j));
        changed = true;
        break;
      }
      i = j + 1;
    }
    if (!changed) return current;
  }
  return InvalidArgumentError("too many levels of symbolic links: " + path);
}

StatusOr<std::string> FakeSystemView::readFile(const std::string& path, size_t limit,
                                               bool truncate_ok) const {
  if (auto f = failures_.find(normalize(path)); f != failures_.end()) return f->second;
  HEARTH_ASSIGN_OR_RETURN(std::string real, resolve(path, true));
  if (auto f = failures_.find(real); f != failures_.end()) return f->second;
  const Node& n = nodes_.at(real);
  if (n.type != FileType::kRegular) return InvalidArgumentError(path + " is not a regular file");
  if (n.content.size() > limit) {
    if (truncate_ok) return n.content.substr(0, limit);
    return ResourceExhaustedError(path + " is larger than " + std::to_string(limit) + " bytes");
  }
  return n.content;
}

StatusOr<std::string> FakeSystemView::readFileAs(const UserIdentity& user, const std::string& path,
                                                 size_t limit) const {
  HEARTH_ASSIGN_OR_RETURN(std::string real, resolve(path, true));
  const Node& n = nodes_.at(real);
  if (n.only_uid && *n.only_uid != user.uid) {
    return PermissionDeniedError(path + " is not readable as uid " + std::to_string(user.uid));
  }
  return readFile(path, limit, false);
}

StatusOr<std::vector<std::string>> FakeSystemView::listDir(const std::string& path) const {
  if (auto f = failures_.find(normalize(path)); f != failures_.end()) return f->second;
  HEARTH_ASSIGN_OR_RETURN(std::string real, resolve(path, true));
  if (auto f = failures_.find(real); f != failures_.end()) return f->second;
  if (nodes_.at(real).type != FileType::kDirectory) {
    return InvalidArgumentError(path + " is not a directory");
  }
  std::string prefix = real == "/" ? "/" : real + "/";
  std::vector<std::string> names;
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    std::string rest = it->first.substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) names.push_back(rest);
  }
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<std::string> FakeSystemView::readLink(const std::string& path) const {
  if (auto f = failures_.find(normalize(path)); f != failures_.end()) return f->second;
  HEARTH_ASSIGN_OR_RETURN(std::string real, resolve(path, false));
  const Node& n = nodes_.at(real);
  if (n.type != FileType::kSymlink) return InvalidArgumentError(path + " is not a symlink");
  return n.content;
}

StatusOr<FileInfo> FakeSystemView::stat(const std::string& path, bool follow) const {
  if (auto f = failures_.find(normalize(path)); f != failures_.end()) return f->second;
  HEARTH_ASSIGN_OR_RETURN(std::string real, resolve(path, follow));
  const Node& n = nodes_.at(real);
  FileInfo fi = n.info.value_or(FileInfo{});
  // An explicit type from setFileInfo (a socket, a device) wins over the node's own.
  if (!n.info || n.info->type == FileType::kOther) fi.type = n.type;
  if (!n.info) {
    fi.mode = n.type == FileType::kDirectory ? 0755 : 0644;
    fi.size = n.content.size();
    fi.mtime = now_;
  }
  return fi;
}

StatusOr<CommandResult> FakeSystemView::run(const Command& command) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    run_log_.push_back(command);
  }
  for (const auto& c : commands_) {
    if (c.argv != command.argv) continue;
    if (c.as_uid && (!command.as_user || command.as_user->uid != *c.as_uid)) continue;
    return c.result;
  }
  std::string cmd;
  for (const auto& a : command.argv) cmd += (cmd.empty() ? "" : " ") + a;
  return NotFoundError("fake: no command registered for: " + cmd);
}

StatusOr<RouteInfo> FakeSystemView::routeTo(const IpAddress& destination) const {
  auto it = routes_.find(destination.toString());
  if (it == routes_.end()) return UnavailableError("fake: no route to " + destination.toString());
  return it->second;
}

std::chrono::system_clock::time_point FakeSystemView::now() const { return now_; }

namespace {

std::string registryPath(RegistryRoot root, const std::string& key) {
  std::string p = std::string(registryRootName(root)) + "\\" + key;
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p;
}

}  // namespace

FakeSystemView& FakeSystemView::addRegistryValue(RegistryRoot root, const std::string& key,
                                                 const std::string& name, RegistryValue value) {
  registry_[registryPath(root, key + "\\" + name)] = std::move(value);
  return addRegistryKey(root, key);
}

FakeSystemView& FakeSystemView::addRegistryKey(RegistryRoot root, const std::string& key) {
  registry_keys_[registryPath(root, key)] = {root, key};
  return *this;
}

FakeSystemView& FakeSystemView::setWindowsUpdateHistory(StatusOr<WindowsUpdateHistory> history) {
  update_history_ = std::move(history);
  return *this;
}

StatusOr<std::vector<std::string>> FakeSystemView::listRegistrySubkeys(
    RegistryRoot root, const std::string& key) const {
  const std::string path = registryPath(root, key);
  if (auto f = registry_failures_.find(path); f != registry_failures_.end()) return f->second;
  // A key exists when it or a key below it was added; its subkeys are the next components.
  bool exists = false;
  std::set<std::string> names;
  for (const auto& [lower, added] : registry_keys_) {
    if (lower == path) {
      exists = true;
      continue;
    }
    if (!lower.starts_with(path + "\\")) continue;
    exists = true;
    const std::string& given = added.second;
    std::string rest = given.substr(key.size() + 1);
    names.insert(rest.substr(0, rest.find('\\')));
  }
  if (!exists) {
    return NotFoundError("fake: no registry key " + std::string(registryRootName(root)) + "\\" +
                         key);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

StatusOr<WindowsUpdateHistory> FakeSystemView::windowsUpdateHistory() const {
  if (!update_history_) return SystemView::windowsUpdateHistory();
  return *update_history_;
}

FakeSystemView& FakeSystemView::failRegistryKey(RegistryRoot root, const std::string& key,
                                                Status status) {
  registry_failures_[registryPath(root, key)] = std::move(status);
  return *this;
}

FakeSystemView& FakeSystemView::setWmi(const std::string& wmi_namespace,
                                       StatusOr<std::vector<WmiRow>> rows) {
  wmi_.insert_or_assign(wmi_namespace, std::move(rows));
  return *this;
}

FakeSystemView& FakeSystemView::setWindowsUpdates(StatusOr<std::vector<WindowsUpdate>> updates) {
  updates_ = std::move(updates);
  return *this;
}

FakeSystemView& FakeSystemView::setPowerSettings(StatusOr<PowerSettings> power) {
  power_ = std::move(power);
  return *this;
}

StatusOr<RegistryValue> FakeSystemView::readRegistry(RegistryRoot root, const std::string& key,
                                                     const std::string& name) const {
  if (auto f = registry_failures_.find(registryPath(root, key)); f != registry_failures_.end()) {
    return f->second;
  }
  auto it = registry_.find(registryPath(root, key + "\\" + name));
  if (it == registry_.end()) {
    return NotFoundError("fake: no registry value " + std::string(registryRootName(root)) + "\\" +
                         key + " " + name);
  }
  return it->second;
}

StatusOr<std::vector<WmiRow>> FakeSystemView::queryWmi(
    const std::string& wmi_namespace, const std::string& query,
    const std::vector<std::string>& properties) const {
  auto it = wmi_.find(wmi_namespace);
  if (it == wmi_.end()) return SystemView::queryWmi(wmi_namespace, query, properties);
  return it->second;
}

StatusOr<std::vector<WindowsUpdate>> FakeSystemView::searchWindowsUpdates(
    const std::string& criteria) const {
  if (!updates_) return SystemView::searchWindowsUpdates(criteria);
  return *updates_;
}

StatusOr<PowerSettings> FakeSystemView::powerSettings() const {
  if (!power_) return SystemView::powerSettings();
  return *power_;
}

}  // namespace hearth::testing
