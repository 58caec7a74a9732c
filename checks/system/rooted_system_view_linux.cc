// RootedSystemView: a directory tree that mirrors a machine (`hearth-agent check --root DIR`).
// Every path is resolved inside the tree with openat2(RESOLVE_IN_ROOT): absolute symlinks (as in
// sysfs: /sys/dev/block/8:1 -> ../../devices/...) and ".." never leave it. Commands and routes
// cannot run against a tree, so they are answered from recordings in DIR/.hearth/.
#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/system_view.h"
#include "hearth/time.h"
#include "system/fs_util.h"

namespace hearth {

namespace {

constexpr size_t kMaxRecordingBytes = 64 << 20;

struct RecordedCommand {
  std::vector<std::string> argv;
  std::optional<uint32_t> as_uid;
  CommandResult result;
  bool timed_out = false;
};

class RootedSystemView final : public SystemView {
 public:
  RootedSystemView(int root_fd, std::string root,
                   std::optional<std::chrono::system_clock::time_point> now)
      : root_fd_(root_fd), root_(std::move(root)), now_(now) {}
  ~RootedSystemView() override { ::close(root_fd_); }

  Status loadRecordings() {
    auto commands = readFile("/.hearth/commands.json", kMaxRecordingBytes, false);
    if (commands.ok()) {
      HEARTH_RETURN_IF_ERROR(
          parseCommands(*commands).withContext(root_ + "/.hearth/commands.json"));
    } else if (commands.status().code() != StatusCode::kNotFound) {
      return commands.status();
    }
    auto routes = readFile("/.hearth/routes.json", kMaxRecordingBytes, false);
    if (routes.ok()) {
      HEARTH_RETURN_IF_ERROR(parseRoutes(*routes).withContext(root_ + "/.hearth/routes.json"));
    } else if (routes.status().code() != StatusCode::kNotFound) {
      return routes.status();
    }
    if (!now_) {
      auto clock = readFile("/.hearth/now", 128, false);
      if (clock.ok()) {
        std::string text = *clock;
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        auto t = parseRfc3339(text);
        if (!t.ok()) return t.status().withContext(root_ + "/.hearth/now");
        now_ = *t;
      }
    }
    return OkStatus();
  }

  StatusOr<std::string> readFile(const std::string& path, size_t limit,
                                 bool truncate_ok) const override {
    auto fd = openIn(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (!fd.ok()) return fd.status();
    auto r = ReadFdBounded(*fd, limit, describe(path), {.truncate = truncate_ok});
    ::close(*fd);
    return r;
  }

  StatusOr<std::string> readFileAs(const UserIdentity& user, const std::string& path,
                                   size_t limit) const override {
    // Read as root, but safely: inside the tree, no magic links, regular files only, bounded.
    // A file in the user's home is resolved beneath the home: a symlink the user planted that
    // leads out of it (to /etc/shadow, or a ~/.config pointing elsewhere) is refused, since the
    // user could not have read its target on the real machine either.
    std::string home = user.home;
    while (home.size() > 1 && home.back() == '/') home.pop_back();
    if (home.size() <= 1 || !path.starts_with(home + "/")) {
      return readFile(path, limit, false);
    }
    auto home_fd = openIn(home, O_PATH | O_DIRECTORY, 0);
    if (!home_fd.ok()) return home_fd.status();
    struct open_how how {};
    how.flags = static_cast<uint64_t>(O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    std::string rel = path.substr(home.size() + 1);
    long fd = ::syscall(SYS_openat2, *home_fd, rel.c_str(), &how, sizeof how);
    int err = errno;
    ::close(*home_fd);
    if (fd < 0) {
      if (err == EXDEV) {
        return PermissionDeniedError(describe(path) + " leads out of " + user.name +
                                     "'s home directory through a symlink; not followed");
      }
      return ErrnoToStatus(err, "open " + describe(path));
    }
    auto r = ReadFdBounded(static_cast<int>(fd), limit, describe(path));
    ::close(static_cast<int>(fd));
    return r;
  }

  StatusOr<std::vector<std::string>> listDir(const std::string& path) const override {
    auto fd = openIn(path, O_RDONLY | O_DIRECTORY, 0);
    if (!fd.ok()) return fd.status();
    return internal::listDirFd(*fd, describe(path));
  }

  StatusOr<std::string> readLink(const std::string& path) const override {
    auto fd = openIn(path, O_PATH | O_NOFOLLOW, 0);
    if (!fd.ok()) return fd.status();
    char buf[4096];
    ssize_t n = ::readlinkat(*fd, "", buf, sizeof buf);
    int e = errno;
    ::close(*fd);
    if (n < 0) {
      if (e == ENOENT) return InvalidArgumentError(describe(path) + " is not a symlink");
      return ErrnoToStatus(e, "readlink " + describe(path));
    }
    if (static_cast<size_t>(n) >= sizeof buf) return ResourceExhaustedError("link too long");
    return std::string(buf, static_cast<size_t>(n));
  }

  StatusOr<FileInfo> stat(const std::string& path, bool follow) const override {
    auto fd = openIn(path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
    if (!fd.ok()) return fd.status();
    auto r = internal::statxInfo(*fd, "", AT_EMPTY_PATH, describe(path));
    ::close(*fd);
    return r;
  }

  StatusOr<CommandResult> run(const Command& command) const override {
    for (const auto& rc : commands_) {
      if (rc.argv != command.argv) continue;
      if (rc.as_uid && (!command.as_user || command.as_user->uid != *rc.as_uid)) continue;
      if (!rc.as_uid && command.as_user) continue;
      if (rc.timed_out) {
        return DeadlineExceededError(command.argv[0] + " did not finish (recorded timeout)");
      }
      return rc.result;
    }
    std::string cmd;
    for (const auto& a : command.argv) cmd += (cmd.empty() ? "" : " ") + a;
    return UnavailableError("commands are not run under --root, and " + root_ +
                            "/.hearth/commands.json has no recorded output for: " + cmd);
  }

  StatusOr<RouteInfo> routeTo(const IpAddress& destination) const override {
    std::string d = destination.toString();
    for (const auto& r : routes_) {
      if (r.destination == d) return r;
    }
    return UnavailableError("routes are not looked up under --root, and " + root_ +
                            "/.hearth/routes.json has no recorded route to " + d);
  }

  std::chrono::system_clock::time_point now() const override {
    return now_ ? *now_ : std::chrono::system_clock::now();
  }

  bool isRooted() const override { return true; }

 private:
  std::string describe(const std::string& path) const { return root_ + path; }

  StatusOr<int> openIn(const std::string& path, int flags, uint64_t resolve_extra) const {
    if (path.empty() || path[0] != '/') {
      return InvalidArgumentError("path must be absolute: " + path);
    }
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve_extra;
    std::string rel = path.substr(1);
    if (rel.empty()) rel = ".";
    long fd = ::syscall(SYS_openat2, root_fd_, rel.c_str(), &how, sizeof how);
    if (fd < 0) return ErrnoToStatus(errno, "open " + describe(path));
    return static_cast<int>(fd);
  }

  Status parseCommands(const std::string& text) {
    json::ParseOptions po;
    po.max_bytes = kMaxRecordingBytes;
    HEARTH_ASSIGN_OR_RETURN(json::Value doc, json::parse(text, po));
    const json::Value* list = doc.find("commands");
    if (list == nullptr || !list->isArray()) {
      return InvalidArgumentError("expected {\"commands\": [...]}");
    }
    for (const auto& e : list->asArray()) {
      RecordedCommand rc;
      const json::Value* argv = e.find("argv");
      if (argv == nullptr || !argv->isArray() || argv->size() == 0) {
        return InvalidArgumentError("each command needs \"argv\": [strings]");
      }
      for (const auto& a : argv->asArray()) {
        if (!a.isString()) return InvalidArgumentError("argv entries must be strings");
        rc.argv.push_back(a.asString());
      }
      if (const json::Value* u = e.find("as_uid"); u != nullptr && u->isInt()) {
        rc.as_uid = static_cast<uint32_t>(u->asInt());
      }
      if (const json::Value* x = e.find("exit"); x != nullptr && x->isInt()) {
        rc.result.exit_code = static_cast<int>(x->asInt());
      } else {
        rc.result.exit_code = 0;
      }
      if (const json::Value* t = e.find("timed_out"); t != nullptr && t->isBool()) {
        rc.timed_out = t->asBool();
      }
      for (const char* stream : {"stdout", "stderr"}) {
        std::string* dest = std::string(stream) == "stdout" ? &rc.result.out : &rc.result.err;
        if (const json::Value* s = e.find(stream); s != nullptr && s->isString()) {
          *dest = s->asString();
        }
        std::string file_key = std::string(stream) + "_file";
        if (const json::Value* f = e.find(file_key); f != nullptr && f->isString()) {
          auto content = readFile("/.hearth/" + f->asString(), kMaxRecordingBytes, false);
          if (!content.ok()) return content.status();
          *dest = *content;
        }
      }
      commands_.push_back(std::move(rc));
    }
    return OkStatus();
  }

  Status parseRoutes(const std::string& text) {
    HEARTH_ASSIGN_OR_RETURN(json::Value doc, json::parse(text));
    const json::Value* list = doc.find("routes");
    if (list == nullptr || !list->isArray()) {
      return InvalidArgumentError("expected {\"routes\": [...]}");
    }
    for (const auto& e : list->asArray()) {
      RouteInfo r;
      auto str = [&](const char* k) -> std::string {
        const json::Value* v = e.find(k);
        return v != nullptr && v->isString() ? v->asString() : std::string();
      };
      std::string dest = str("destination");
      auto ip = IpAddress::parse(dest);
      if (!ip.ok()) return ip.status();
      r.destination = ip->toString();
      r.type = str("type");
      if (r.type.empty()) r.type = "unicast";
      r.interface = str("interface");
      r.gateway = str("gateway");
      r.source = str("source");
      r.matched_prefix = str("matched_prefix");
      if (const json::Value* v = e.find("table"); v != nullptr && v->isInt()) {
        r.table = static_cast<uint32_t>(v->asInt());
      } else {
        r.table = 254;
      }
      if (const json::Value* v = e.find("interface_index"); v != nullptr && v->isInt()) {
        r.interface_index = static_cast<int>(v->asInt());
      }
      routes_.push_back(std::move(r));
    }
    return OkStatus();
  }

  int root_fd_;
  std::string root_;
  std::optional<std::chrono::system_clock::time_point> now_;
  std::vector<RecordedCommand> commands_;
  std::vector<RouteInfo> routes_;
};

}  // namespace

StatusOr<std::unique_ptr<SystemView>> NewRootedSystemView(
    const std::string& root, std::optional<std::chrono::system_clock::time_point> now) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "--root " + root);
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  auto view = std::make_unique<RootedSystemView>(fd, clean, now);
  HEARTH_RETURN_IF_ERROR(view->loadRecordings());
  return std::unique_ptr<SystemView>(std::move(view));
}

}  // namespace hearth
