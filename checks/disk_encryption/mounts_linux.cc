// disk_encryption on Linux: the mounts. Which mounts of /proc/self/mountinfo are judged, excluded
// or noted; the root filesystem (OSTree, overlayroot, containers); removable media settled after
// everything is known; and the step from a mount to the device chain under its filesystem.
#include <algorithm>
#include <sys/sysmacros.h>

#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "hearth/text.h"

namespace hearth::checks::disk {

void Collector::collectMounts(Facts& facts) {
  bool have_root = false;
  int images = 0;
  int binds = 0;
  for (const MountEntry& m : mounts_) {
    const std::string& type = m.fstype;
    if (m.mount_point == "/") {
      have_root = true;
      facts.targets.insert(facts.targets.begin(), rootTarget(m));
      continue;
    }
    if (encryptedOverlayTypes().contains(type)) {
      addEncryptedDir(facts, m.mount_point, type);
      continue;
    }
    if (virtualTypes().contains(type) ||
        (type.starts_with("fuse.") && !networkTypes().contains(type))) {
      continue;
    }
    if (networkTypes().contains(type)) {
      facts.excluded.push_back({m.mount_point, type, m.source, "network filesystem"});
      continue;
    }
    if (readOnlyImageTypes().contains(type)) {
      ++images;
      continue;
    }
    if (isUnder(m.mount_point, "/boot") || isUnder(m.mount_point, "/efi")) {
      bool esp = type == "vfat" || type == "msdos" || type == "fat";
      std::string why = esp && m.mount_point != "/boot" ? "EFI system partition" : "boot partition";
      facts.excluded.push_back({m.mount_point, type, m.source, why});
      continue;
    }
    if (m.mount_point == "/recovery" && type == "vfat") {
      // Pop!_OS: a copy of the installer, no personal data (like the ESP).
      facts.excluded.push_back({m.mount_point, type, m.source, "recovery partition (installer)"});
      continue;
    }
    if (m.major == 0 && type != "btrfs" && type != "zfs" && type != "bcachefs") {
      continue;  // not block-backed (an unknown pseudo filesystem)
    }
    if (m.root != "/" && type != "btrfs" && judgedDevice(facts, m)) {
      ++binds;  // a bind mount of part of a filesystem already judged (snap, containers)
      continue;
    }
    Layer chain = filesystemChain(m, 0);
    std::vector<const Layer*> ls;
    leaves(chain, ls);
    bool all_removable = !ls.empty() && std::all_of(ls.begin(), ls.end(),
                                                    [](const Layer* l) { return l->removable; });
    bool all_volatile = !ls.empty() && std::all_of(ls.begin(), ls.end(),
                                                   [](const Layer* l) { return l->volatile_ram; });
    if (all_volatile) {
      facts.excluded.push_back({m.mount_point, type, m.source,
                                "in RAM (zram, ramdisk or an image on tmpfs), not persistent"});
      continue;
    }
    if (all_removable) {
      // Decided in settleRemovable: a disk that also carries a judged target is not removable.
      std::string state = chain.encrypted == Tri::kYes  ? "encrypted"
                          : chain.encrypted == Tri::kNo ? "not encrypted"
                                                        : "encryption unknown";
      removable_[targetKey(TargetKind::kMount, m.mount_point)] = {
          m.mount_point, type, m.source, "removable media (" + state + "), not judged"};
    }
    facts.targets.push_back(makeTarget(TargetKind::kMount, m, std::move(chain)));
  }
  if (images > 0) {
    facts.notes.push_back(std::to_string(images) +
                          " read-only image mount(s) (squashfs/erofs/iso9660) not judged");
  }
  if (binds > 0) {
    facts.notes.push_back(std::to_string(binds) +
                          " bind mount(s) of filesystems judged above not listed again");
  }
  if (!have_root) {
    Target t;
    t.kind = TargetKind::kRoot;
    t.name = "/";
    t.reason = "no mount of / in /proc/self/mountinfo";
    facts.targets.insert(facts.targets.begin(), std::move(t));
  }
}

std::string Collector::targetKey(TargetKind kind, const std::string& name) {
  return std::to_string(static_cast<int>(kind)) + name;
}

void Collector::addDisks(const Target& t, std::set<std::string>& disks) {
  if (!t.chain) return;
  std::vector<const Layer*> ls;
  leaves(*t.chain, ls);
  for (const Layer* l : ls) {
    if (!l->disk_dir.empty()) disks.insert(l->disk_dir);
  }
}

// Mounts and swaps whose every device is removable (removable=1, or on the USB bus) are listed
// as removable media, not judged, unless their disk also carries `/` or another judged target:
// a computer installed on a USB SSD keeps its plain /home and swap beside the encrypted root.
void Collector::settleRemovable(Facts& facts) {
  if (removable_.empty()) return;
  auto candidate = [&](const Target& t) {
    return t.kind != TargetKind::kRoot && removable_.contains(targetKey(t.kind, t.name));
  };
  std::set<std::string> judged_disks;
  std::vector<bool> judged(facts.targets.size());
  for (size_t i = 0; i < facts.targets.size(); ++i) {
    judged[i] = !candidate(facts.targets[i]);
    if (judged[i]) addDisks(facts.targets[i], judged_disks);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < facts.targets.size(); ++i) {
      if (judged[i]) continue;
      std::set<std::string> disks;
      addDisks(facts.targets[i], disks);
      if (std::any_of(disks.begin(), disks.end(),
                      [&](const std::string& d) { return judged_disks.contains(d); })) {
        judged[i] = true;
        judged_disks.insert(disks.begin(), disks.end());
        changed = true;
      }
    }
  }
  std::vector<Target> kept;
  for (size_t i = 0; i < facts.targets.size(); ++i) {
    if (judged[i]) {
      kept.push_back(std::move(facts.targets[i]));
    } else {
      facts.removable_media.push_back(
          removable_.at(targetKey(facts.targets[i].kind, facts.targets[i].name)));
    }
  }
  facts.targets = std::move(kept);
}

Target Collector::rootTarget(const MountEntry& m) {
  static const std::set<std::string, std::less<>> kContainer = {
      "overlay", "aufs", "tmpfs", "rootfs", "ramfs", "fuse-overlayfs", "fuse.fuse-overlayfs"};
  if (kContainer.contains(m.fstype)) {
    // OSTree systems (Fedora Silverblue/Kinoite, composefs): / is an overlay whose data lives
    // in the deployment under /sysroot, a real block-backed mount.
    for (const MountEntry& s : mounts_) {
      if (s.mount_point == "/sysroot" && !kContainer.contains(s.fstype) &&
          !virtualTypes().contains(s.fstype)) {
        Target t = makeTarget(TargetKind::kRoot, m, filesystemLayer(s, 0));
        t.via = "OSTree deployment on /sysroot";
        return t;
      }
    }
    // overlayroot (Ubuntu overlayroot=tmpfs, raspi-config "Overlay file system"): the lower
    // layer is a mounted block-backed filesystem (/media/root-ro) that holds the data; the
    // upper layer, when on a disk, is a mount judged on its own. A container's lower dirs are
    // not mount points visible here.
    std::vector<const MountEntry*> lowers = overlayLowerMounts(m);
    if (!lowers.empty()) {
      std::vector<Layer> layers;
      std::vector<std::string> names;
      for (const MountEntry* s : lowers) {
        layers.push_back(filesystemLayer(*s, 0));
        names.push_back(s->mount_point);
      }
      Layer chain;
      if (layers.size() == 1) {
        chain = std::move(layers.front());
      } else {
        chain.device = "overlay";
        chain.type = "overlay";
        chain.detail = std::to_string(layers.size()) + " lower layers";
        chain.lower = std::move(layers);
        chain.encrypted = allOf(chain.lower);
      }
      Target t = makeTarget(TargetKind::kRoot, m, std::move(chain));
      t.via = "overlay root, lower layer " + text::join(names, ", ");
      return t;
    }
    Target t = baseTarget(TargetKind::kRoot, m);
    t.reason = "the root filesystem is " + m.fstype +
               ": the agent runs in a container or a live session and cannot see the disks "
               "(agent not on the host)";
    t.remediation_hint = "container";
    return t;
  }
  if (networkTypes().contains(m.fstype) || m.fstype.starts_with("fuse")) {
    Target t = baseTarget(TargetKind::kRoot, m);
    t.reason =
        "the root filesystem is " + m.fstype + " (network or FUSE): cannot follow it to a disk";
    return t;
  }
  return makeTarget(TargetKind::kRoot, m, filesystemChain(m, 0));
}

// The mounts named by an overlay's lowerdir= (or lowerdir+=) option, when every lower dir is
// exactly the mount point of a block-backed filesystem; empty otherwise.
std::vector<const MountEntry*> Collector::overlayLowerMounts(const MountEntry& overlay) const {
  if (overlay.fstype != "overlay") return {};
  std::vector<std::string> dirs;
  for (const std::string& opt : text::split(overlay.super_options, ',')) {
    if (opt.starts_with("lowerdir+=")) {
      dirs.push_back(opt.substr(10));
    } else if (opt.starts_with("lowerdir=")) {
      for (const std::string& d : text::split(opt.substr(9), ':')) {
        if (!d.empty()) dirs.push_back(d);
      }
    }
  }
  std::vector<const MountEntry*> out;
  for (const std::string& d : dirs) {
    std::string dir = normalize(text::unescapeOctal(d));
    const MountEntry* found = nullptr;
    for (const MountEntry& s : mounts_) {
      if (s.mount_point == dir && s.mount_point != "/") found = &s;
    }
    if (found == nullptr || virtualTypes().contains(found->fstype) ||
        networkTypes().contains(found->fstype) || found->fstype.starts_with("fuse") ||
        (found->major == 0 && found->fstype != "btrfs" && found->fstype != "zfs" &&
         found->fstype != "bcachefs")) {
      return {};
    }
    out.push_back(found);
  }
  return out;
}

// Whether a target with the same device number as `m` was already judged.
bool Collector::judgedDevice(const Facts& facts, const MountEntry& m) const {
  std::string num = std::to_string(m.major) + ":" + std::to_string(m.minor);
  return std::any_of(facts.targets.begin(), facts.targets.end(), [&](const Target& t) {
    return t.device_number == num && !removable_.contains(targetKey(t.kind, t.name));
  });
}

Target Collector::baseTarget(TargetKind kind, const MountEntry& m) {
  Target t;
  t.kind = kind;
  t.name = m.mount_point;
  t.fstype = m.fstype;
  t.source = m.source;
  t.device_number = std::to_string(m.major) + ":" + std::to_string(m.minor);
  return t;
}

Target Collector::makeTarget(TargetKind kind, const MountEntry& m, Layer chain) {
  Target t = baseTarget(kind, m);
  fillFromChain(t, std::move(chain));
  return t;
}

void Collector::fillFromChain(Target& t, Layer chain) {
  t.encrypted = chain.encrypted;
  if (chain.encrypted != Tri::kYes) {
    const Layer& d = decidingLayer(chain);
    t.reason = d.reason;
    t.remediation_hint = d.hint;
    t.remediation_detail = d.hint_detail;
    if (chain.encrypted == Tri::kNo) {
      std::vector<std::string> plain;
      plainDevices(chain, plain);
      t.plain_device = text::join(plain, ", ");
    }
  }
  t.chain = std::move(chain);
}

// The device chain under the filesystem mounted as `m`.
Layer Collector::filesystemChain(const MountEntry& m, int depth) {
  if (depth > kMaxDepth) return unknownLayer(m.source, "filesystem", "device chain too deep");
  if (m.fstype == "zfs") return zfsChain(m.source, depth);
  if (m.fstype == "btrfs") return btrfsChain(m, depth);
  if (m.fstype == "bcachefs") return bcachefsChain(m, depth);
  if (m.major == 0) {
    return unknownLayer(m.source, m.fstype,
                        "a " + m.fstype + " filesystem is not backed by a block device");
  }
  std::string num = std::to_string(m.major) + ":" + std::to_string(m.minor);
  auto dir = canonicalEntry("/sys/dev/block/" + num);
  if (!dir.ok()) {
    if (dir.status().code() == StatusCode::kNotFound && m.source.starts_with("/dev/")) {
      auto by_name = deviceDirForPath(m.source);
      if (by_name.ok()) return walk(*by_name, false, depth + 1);
    }
    return unknownLayer(m.source, "device", sysfsProblem("/sys/dev/block/" + num, dir.status()));
  }
  return walk(*dir, false, depth + 1);
}

// A "filesystem" layer: "/ (ext4) <- ..." for loop backing files and swap files.
Layer Collector::filesystemLayer(const MountEntry& m, int depth) {
  Layer fs;
  fs.device = m.mount_point;
  fs.type = "filesystem";
  fs.detail = m.fstype;
  if (m.fstype == "fuse.dislocker") {
    // dislocker decrypts a BitLocker volume in user space and exposes the clear volume as
    // <mount>/dislocker-file (loop-mounted): the data below it on disk is BitLocker-encrypted.
    fs.type = "crypt";
    fs.detail = "BitLocker via dislocker";
    fs.encrypted = Tri::kYes;
    return fs;
  }
  if (virtualTypes().contains(m.fstype) || networkTypes().contains(m.fstype)) {
    fs.reason = "on a " + m.fstype + " filesystem";
    return fs;
  }
  fs.lower.push_back(filesystemChain(m, depth + 1));
  fs.encrypted = fs.lower.back().encrypted;
  return fs;
}

// The mount holding `path`: by device number when live, else (and as a fallback) the longest
// mount point that is a prefix of the path.
const MountEntry* Collector::mountForPath(const std::string& path) {
  if (!sys_.isRooted()) {
    auto st = sys_.stat(path, true);
    if (st.ok()) {
      const MountEntry* best = nullptr;
      for (const auto& m : mounts_) {
        if (makedev(m.major, m.minor) != st->dev || !isUnder(path, m.mount_point)) continue;
        if (best == nullptr || m.mount_point.size() > best->mount_point.size()) best = &m;
      }
      if (best != nullptr) return best;
    }
  }
  const MountEntry* best = nullptr;
  for (const auto& m : mounts_) {
    if (!isUnder(path, m.mount_point)) continue;
    if (best == nullptr || m.mount_point.size() >= best->mount_point.size()) best = &m;
  }
  return best;
}

}  // namespace hearth::checks::disk
