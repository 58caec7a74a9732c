// `hearth-server join` (issue 18): another server of a cluster on one PostgreSQL database gets
// the keys, certificates and first secrets of an existing server's state directory, so that
// both accept the same device certificates, present the same server certificate and sign
// policies with the same key. Again after a rotation: the files the rotation changed replace
// the joined server's, and what it removed goes.
#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/server/state.h"

namespace hearth::server {

namespace {

constexpr size_t kMaxStateFile = 1 << 20;  // keys, certificates and one-line secrets are small

std::string trimmed(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// What a server's state directory shares with the others: its regular top-level files, but the
// SQLite database (and its journals), a write in progress and a restore's configuration.
bool shared(const std::string& name) {
  return !name.starts_with("hearth.db") && name.find(".tmp-") == std::string::npos &&
         name != "server.conf.from-backup" && !name.starts_with(".");
}

// The shared files of `dir` with their modes (permission bits). NotFound when `dir` is missing.
StatusOr<std::map<std::string, mode_t>> sharedFiles(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoToStatus(errno, "open the state directory " + dir);
  std::map<std::string, mode_t> out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || !shared(n)) continue;
    struct stat st {};
    if (::lstat((dir + "/" + n).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out[n] = st.st_mode & 07777;
  }
  ::closedir(d);
  return out;
}

}  // namespace

StatusOr<JoinResult> JoinServerState(const std::string& from_dir, const std::string& to_dir,
                                     bool again) {
  std::string from = trimmed(from_dir), to = trimmed(to_dir);
  if (from.empty() || to.empty()) return InvalidArgumentError("join needs --from DIR");
  struct stat from_st {
  }, to_st{};
  if (::stat(from.c_str(), &from_st) != 0) {
    return ErrnoToStatus(errno, "--from " + from).withContext("join");
  }
  bool to_exists = ::stat(to.c_str(), &to_st) == 0;
  if (to_exists && from_st.st_dev == to_st.st_dev && from_st.st_ino == to_st.st_ino) {
    return InvalidArgumentError("--from and --state-dir are the same directory");
  }
  // The source must be a server's: its keys load.
  if (auto keys = LoadServerKeys(from); !keys.ok()) {
    return FailedPreconditionError("--from " + from + " is not a usable server state directory (" +
                                   keys.status().message() + ")");
  }
  HEARTH_ASSIGN_OR_RETURN(auto files, sharedFiles(from));
  std::map<std::string, mode_t> existing;
  if (to_exists) {
    if (!S_ISDIR(to_st.st_mode)) return InvalidArgumentError(to + " is not a directory");
    HEARTH_ASSIGN_OR_RETURN(existing, sharedFiles(to));
    if (!existing.empty() && !again) {
      return FailedPreconditionError(
          to +
          " already holds a server's files: join only into a new or empty state directory, or "
          "add --again to take the files of --from over them (after a rotation)");
    }
  } else {
    HEARTH_RETURN_IF_ERROR(CreateDirsDurably(PosixFileLayer(), to, 0700));
  }
  if (again && existing.empty()) {
    return FailedPreconditionError(to + " holds no server: join it without --again first");
  }
  // Files take the owner of an existing directory (made by the package for the hearth-server
  // user, join run as root), as restore does.
  uid_t uid = to_exists ? to_st.st_uid : ::geteuid();
  gid_t gid = to_exists ? to_st.st_gid : ::getegid();
  JoinResult result;
  for (const auto& [name, mode] : files) {
    HEARTH_ASSIGN_OR_RETURN(std::string content, ReadFileBounded(from + "/" + name, kMaxStateFile));
    std::string path = to + "/" + name;
    HEARTH_RETURN_IF_ERROR(WriteFileDurably(path, content, mode));
    if ((uid != ::geteuid() || gid != ::getegid()) && ::chown(path.c_str(), uid, gid) != 0) {
      return ErrnoToStatus(errno, "give " + path + " the owner of " + to);
    }
    result.copied.push_back(name);
  }
  // What a rotation removed from the source (the old device CA after --finish, the next key
  // once it took over) goes here too, or this server would go on as if it were still under way.
  for (const auto& [name, mode] : existing) {
    if (files.count(name) != 0) continue;
    if (::unlink((to + "/" + name).c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, "remove " + to + "/" + name);
    }
    result.removed.push_back(name);
  }
  if (!result.removed.empty()) {
    int fd = ::open(to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  if (auto keys = LoadServerKeys(to); !keys.ok()) {
    return InternalError("the copied keys do not load: " + keys.status().message());
  }
  return result;
}

}  // namespace hearth::server
