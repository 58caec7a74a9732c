// LiveSystemView: the running Linux machine, as the calling process.
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "hearth/files.h"
#include "hearth/system_view.h"
#include "system/fs_util.h"
#include "system/netlink_route.h"
#include "system/process.h"

namespace hearth {

namespace {

class LiveSystemView final : public SystemView {
 public:
  explicit LiveSystemView(LiveOptions options) : options_(std::move(options)) {}

  StatusOr<std::string> readFile(const std::string& path, size_t limit,
                                 bool truncate_ok) const override {
    return ReadFileBounded(path, limit, {.truncate = truncate_ok});
  }

  StatusOr<std::string> readFileAs(const UserIdentity& user, const std::string& path,
                                   size_t limit) const override {
    if (::geteuid() != 0 || user.uid == ::geteuid()) {
      // Not root (or already that user): our own rights are no more than theirs.
      return readFile(path, limit, false);
    }
    return internal::ReadFileAsUser(user, path, limit);
  }

  StatusOr<std::vector<std::string>> listDir(const std::string& path) const override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "open directory " + path);
    return internal::listDirFd(fd, path);
  }

  StatusOr<std::string> readLink(const std::string& path) const override {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n < 0) return ErrnoToStatus(errno, "readlink " + path);
    if (static_cast<size_t>(n) >= sizeof buf)
      return ResourceExhaustedError("link too long: " + path);
    return std::string(buf, static_cast<size_t>(n));
  }

  StatusOr<FileInfo> stat(const std::string& path, bool follow) const override {
    return internal::statxInfo(AT_FDCWD, path.c_str(), follow ? 0 : AT_SYMLINK_NOFOLLOW, path);
  }

  StatusOr<CommandResult> run(const Command& command) const override {
    if (options_.command_env.empty()) return RunCommand(command);
    Command c = command;
    for (const auto& [k, v] : options_.command_env) c.env.emplace(k, v);
    return RunCommand(c);
  }

  StatusOr<RouteInfo> routeTo(const IpAddress& destination) const override {
    return internal::NetlinkRouteLookup(destination);
  }

  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }

 private:
  LiveOptions options_;
};

}  // namespace

std::unique_ptr<SystemView> NewLiveSystemView(LiveOptions options) {
  return std::make_unique<LiveSystemView>(std::move(options));
}

}  // namespace hearth
