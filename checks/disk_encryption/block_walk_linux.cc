// disk_encryption on Linux: the block-device walk. From a sysfs device directory through every
// slaves/ entry down to the physical disks, telling device types apart by their sysfs entries
// (dm/, md/, loop/, partition), never by major number; and /dev paths to their sysfs directories.
#include <array>
#include <sys/sysmacros.h>

#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "hearth/text.h"

namespace hearth::checks::disk {

// `path` if it is not a symlink, else its target resolved against its directory.
StatusOr<std::string> Collector::canonicalEntry(const std::string& path) {
  auto target = sys_.readLink(path);
  if (target.ok()) {
    const std::string& t = *target;
    return normalize(!t.empty() && t[0] == '/' ? t : dirnameOf(path) + "/" + t);
  }
  if (target.status().code() == StatusCode::kInvalidArgument) {  // exists, not a symlink
    return normalize(path);
  }
  return target.status();
}

bool Collector::exists(const std::string& path) { return sys_.stat(path, true).ok(); }

// Whether `path` exists; an error other than NotFound (unreadable sysfs) is returned as such,
// so that a device we cannot inspect is never taken for a plain disk.
StatusOr<bool> Collector::probe(const std::string& path) {
  auto st = sys_.stat(path, true);
  if (st.ok()) return true;
  if (st.status().code() == StatusCode::kNotFound) return false;
  return st.status();
}

StatusOr<std::string> Collector::readTrimmed(const std::string& path) {
  auto r = sys_.readFile(path, 64 << 10, true);
  if (!r.ok()) return r.status();
  return text::trim(*r);
}

std::vector<Layer> Collector::walkSlaves(const std::string& dir, bool under_crypt, int depth,
                                         std::string* error) {
  std::vector<Layer> out;
  auto names = sys_.listDir(dir + "/slaves");
  if (!names.ok()) {
    if (names.status().code() != StatusCode::kNotFound) {
      *error = "cannot list " + dir + "/slaves: " + names.status().message();
    }
    return out;
  }
  for (const std::string& n : *names) {
    auto lower = canonicalEntry(dir + "/slaves/" + n);
    if (!lower.ok()) {
      out.push_back(unknownLayer(n, "device", "cannot resolve slave: " + lower.status().message()));
      continue;
    }
    out.push_back(walk(*lower, under_crypt, depth + 1));
  }
  return out;
}

// Whether `dir` is a device stacked on others (dm, md, loop, or with slaves).
bool Collector::isStacked(const std::string& dir) {
  if (exists(dir + "/dm") || exists(dir + "/md") || exists(dir + "/loop")) return true;
  auto names = sys_.listDir(dir + "/slaves");
  return names.ok() && !names->empty();
}

// walkDevice, once per device directory (and crypt context): sysfs may list the same lower
// device under several uppers, and a corrupt or synthetic tree may list devices as each
// other's slaves. A device met again while it is being walked is a cycle: unknown, never a hang.
Layer Collector::walk(const std::string& dir, bool under_crypt, int depth) {
  std::string key = (under_crypt ? "1" : "0") + dir;
  auto done = walked_.find(key);
  if (done != walked_.end()) return done->second;
  if (walking_.contains(dir)) {
    return unknownLayer(basenameOf(dir), "cycle",
                        "sysfs lists " + basenameOf(dir) +
                            " below itself (a slaves/ cycle): cannot follow the device chain");
  }
  walking_.insert(dir);
  Layer l = walkDevice(dir, under_crypt, depth);
  walking_.erase(dir);
  walked_.emplace(key, l);
  return l;
}

Layer Collector::walkDevice(const std::string& dir, bool under_crypt, int depth) {
  Layer l;
  l.device = basenameOf(dir);
  if (depth > kMaxDepth) {
    l.reason = "device chain too deep (a loop?)";
    return l;
  }
  auto dev_probe = sys_.stat(dir, true);
  if (!dev_probe.ok()) {
    l.type = "device";
    l.reason = sysfsProblem(dir, dev_probe.status());
    return l;
  }
  std::string slave_error;
  // What the device is, from its sysfs entries: dm/, md/, loop/, partition.
  static constexpr std::array<const char*, 4> kKindEntries = {"/dm", "/md", "/loop", "/partition"};
  std::array<bool, 4> kinds{};
  for (size_t k = 0; k < kKindEntries.size(); ++k) {
    auto p = probe(dir + kKindEntries[k]);
    if (!p.ok()) {
      l.type = "device";
      l.reason = sysfsProblem(dir + kKindEntries[k], p.status());
      return l;
    }
    kinds[k] = *p;
  }

  if (kinds[0]) {
    auto uuid = readTrimmed(dir + "/dm/uuid");
    auto name = readTrimmed(dir + "/dm/name");
    std::string dm_name = name.ok() ? *name : l.device;
    if (!uuid.ok()) {
      l.type = "dm";
      l.reason = "cannot read " + dir + "/dm/uuid: " + uuid.status().message();
      return l;
    }
    disk::DmClass cls = classifyDmUuid(*uuid);
    bool crypt = cls.role == DmRole::kEncryption;
    l.lower = walkSlaves(dir, under_crypt || crypt, depth, &slave_error);
    if (crypt) {
      l.type = "crypt";
      l.detail = cls.label;
      confirmCipher(dm_name, cls, l);
      return l;
    }
    if (cls.role == DmRole::kPassThrough) {
      l.type = cls.label == "LVM" ? "lvm" : cls.label;
      l.detail = cls.label == "LVM" ? "LVM " + lvmDisplayName(dm_name) : cls.label;
      l.encrypted = allOf(l.lower);
      if (l.lower.empty()) l.reason = slave_error.empty() ? "no lower devices" : slave_error;
      if (l.encrypted == Tri::kNo && (cls.label == "verity" || cls.label == "integrity")) {
        l.reason = "dm-" + cls.label + " protects integrity only, it does not encrypt";
      }
      return l;
    }
    // No uuid (raw dmsetup create): the table tells what it is (root only).
    l.type = "dm";
    l.detail = "dm " + dm_name;
    unknownDm(dm_name, l);
    return l;
  }

  if (kinds[1]) {
    l.type = "md";
    auto level = readTrimmed(dir + "/md/level");
    l.detail = level.ok() ? *level : "md RAID";
    l.lower = walkSlaves(dir, under_crypt, depth, &slave_error);
    l.encrypted = allOf(l.lower);
    if (l.lower.empty()) l.reason = slave_error.empty() ? "md device without members" : slave_error;
    return l;
  }

  if (kinds[2]) {
    l.type = "loop";
    auto backing = readTrimmed(dir + "/loop/backing_file");
    if (!backing.ok()) {
      l.reason = "cannot read the loop device's backing file: " + backing.status().message();
      return l;
    }
    std::string file = *backing;
    l.detail = "backing " + file;
    if (under_crypt) {
      l.reason = "not followed: encrypted by the layer above";
      return l;
    }
    if (file.ends_with(" (deleted)")) {
      l.reason = "the backing file " + file + " was deleted";
      return l;
    }
    const MountEntry* holder = mountForPath(file);
    if (holder == nullptr) {
      l.reason = "cannot find the filesystem that holds " + file;
      return l;
    }
    if (holder->fstype == "tmpfs" || holder->fstype == "ramfs") {
      // An image in RAM (/tmp, /dev/shm on tmpfs): gone at power-off, like zram.
      l.detail += " on " + holder->fstype + " " + holder->mount_point;
      l.volatile_ram = true;
      l.reason = "the backing file is in RAM (" + holder->fstype + "), not persistent storage";
      return l;
    }
    l.lower.push_back(filesystemLayer(*holder, depth + 1));
    l.encrypted = l.lower.back().encrypted;
    return l;
  }

  if (kinds[3]) {
    l.type = "partition";
    std::string parent = dirnameOf(dir);
    if (isStacked(parent) || isZvol(parent)) {
      l.lower.push_back(walk(parent, under_crypt, depth + 1));
      l.encrypted = l.lower.back().encrypted;
      return l;
    }
    fillPhysical(parent, l);
    return l;
  }

  l.lower = walkSlaves(dir, under_crypt, depth, &slave_error);
  if (!slave_error.empty()) {
    l.type = "device";
    l.reason = slave_error;
    return l;
  }
  if (!l.lower.empty()) {
    l.type = "stacked";
    l.encrypted = allOf(l.lower);
    return l;
  }
  if (isZvol(dir)) return zvolLayer(dir, depth);
  l.type = "disk";
  fillPhysical(dir, l);
  return l;
}

void Collector::fillPhysical(const std::string& disk_dir, Layer& l) {
  auto removable = readTrimmed(disk_dir + "/removable");
  l.removable = (removable.ok() && *removable == "1") || disk_dir.find("/usb") != std::string::npos;
  l.disk_dir = disk_dir;
  std::string disk = basenameOf(disk_dir);
  l.volatile_ram = disk.starts_with("zram") || disk.starts_with("ram");
  l.encrypted = Tri::kNo;
  l.reason = "plain device without an encryption layer";
}

void Collector::buildIndex() {
  if (index_built_) return;
  index_built_ = true;
  auto entries = sys_.listDir("/sys/dev/block");
  if (!entries.ok()) {
    index_error_ = entries.status().message();
    return;
  }
  for (const std::string& e : *entries) {
    auto dir = canonicalEntry("/sys/dev/block/" + e);
    if (!dir.ok()) continue;
    index_[basenameOf(*dir)] = *dir;
    auto dm = readTrimmed(*dir + "/dm/name");
    if (dm.ok() && !dm->empty()) dm_names_[*dm] = *dir;
  }
}

// The sysfs directory of the block device at `path` ("/dev/sda2", "/dev/mapper/x", a by-id
// symlink). Live: by the node's device number; otherwise by name.
StatusOr<std::string> Collector::deviceDirForPath(const std::string& path) {
  if (!sys_.isRooted()) {
    auto st = sys_.stat(path, true);
    if (st.ok() && st->type == FileType::kBlockDevice) {
      auto dir = canonicalEntry("/sys/dev/block/" + std::to_string(major(st->rdev)) + ":" +
                                std::to_string(minor(st->rdev)));
      if (dir.ok()) return dir;
    }
  }
  std::string p = path;
  for (int hops = 0; hops < 8 && p.starts_with("/dev/"); ++hops) {
    auto t = sys_.readLink(p);
    if (!t.ok()) break;
    p = normalize(!t->empty() && (*t)[0] == '/' ? *t : dirnameOf(p) + "/" + *t);
  }
  buildIndex();
  if (p.starts_with("/dev/mapper/")) {
    auto it = dm_names_.find(p.substr(12));
    if (it != dm_names_.end()) return it->second;
  }
  auto it = index_.find(basenameOf(p));
  if (it != index_.end()) return it->second;
  if (!index_error_.empty()) return UnavailableError("sysfs unreadable: " + index_error_);
  return NotFoundError("no block device in /sys/dev/block for " + path);
}

}  // namespace hearth::checks::disk
