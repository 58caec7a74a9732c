#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "system/fs_util.h"

namespace hearth::internal {

StatusOr<std::vector<std::string>> listDirFd(int fd, const std::string& what) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return ErrnoToStatus(e, "list " + what);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
    if (names.size() > 1000000) break;
  }
  int e = errno;
  ::closedir(d);
  if (e != 0) return ErrnoToStatus(e, "list " + what);
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<FileInfo> statxInfo(int dirfd, const char* path, int flags, const std::string& what) {
  struct statx sx {};
  if (::statx(dirfd, path, flags, STATX_BASIC_STATS, &sx) != 0) {
    return ErrnoToStatus(errno, "stat " + what);
  }
  FileInfo fi;
  mode_t m = sx.stx_mode;
  if (S_ISREG(m))
    fi.type = FileType::kRegular;
  else if (S_ISDIR(m))
    fi.type = FileType::kDirectory;
  else if (S_ISLNK(m))
    fi.type = FileType::kSymlink;
  else if (S_ISFIFO(m))
    fi.type = FileType::kFifo;
  else if (S_ISCHR(m))
    fi.type = FileType::kCharDevice;
  else if (S_ISBLK(m))
    fi.type = FileType::kBlockDevice;
  else if (S_ISSOCK(m))
    fi.type = FileType::kSocket;
  fi.uid = sx.stx_uid;
  fi.gid = sx.stx_gid;
  fi.mode = m & 07777;
  fi.size = sx.stx_size;
  fi.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  fi.rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  fi.mtime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(sx.stx_mtime.tv_sec) +
          std::chrono::nanoseconds(sx.stx_mtime.tv_nsec)));
  fi.encryption_attr_known = (sx.stx_attributes_mask & STATX_ATTR_ENCRYPTED) != 0;
  fi.encrypted = (sx.stx_attributes & STATX_ATTR_ENCRYPTED) != 0;
  return fi;
}

}  // namespace hearth::internal
