// disk_encryption on Linux: collects the facts through SystemView and decides (disk_encryption.cc).
//
// Each judged target is followed from /proc/self/mountinfo through /sys/dev/block/MAJ:MIN and every
// slaves/ entry down to the physical devices. Device types are told apart by their sysfs entries
// (dm/, md/, loop/, partition), never by major number. Symlinks are resolved with readLink and
// lexical joining (sysfs directories under /sys/devices are real directories), so the same code
// works live, under --root (RootedSystemView) and on FakeSystemView.
//
// Commands (argv exactly as run; --root trees record them in DIR/.hearth/commands.json; each
// program is tried under /usr/sbin first, then /sbin):
//   cryptsetup --readonly status NAME    the cipher of a crypt layer
//   dmsetup table NAME                   fallback, and dm devices without uuid (no --showkeys)
//   zfs get -H -o name,property,value encryption,keystatus,encryptionroot DATASET (or ZVOL)
//   zpool status -P POOL                 vdevs of a pool without native encryption
#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <set>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/text.h"
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

namespace {

using disk::classifyDmUuid;
using disk::DmRole;
using disk::Facts;
using disk::Layer;
using disk::MountEntry;
using disk::Target;
using disk::TargetKind;
using disk::Tri;

constexpr int kMaxDepth = 16;
constexpr auto kCommandTimeout = std::chrono::seconds(15);

const std::set<std::string, std::less<>>& virtualTypes() {
  static const std::set<std::string, std::less<>> k = {
      "proc",       "sysfs",         "tmpfs",          "devtmpfs",
      "devpts",     "cgroup",        "cgroup2",        "securityfs",
      "debugfs",    "tracefs",       "pstore",         "bpf",
      "mqueue",     "hugetlbfs",     "configfs",       "fusectl",
      "autofs",     "binfmt_misc",   "efivarfs",       "ramfs",
      "rpc_pipefs", "nsfs",          "selinuxfs",      "overlay",
      "aufs",       "rootfs",        "nfsd",           "functionfs",
      "fuse",       "devfs",         "usbfs",          "ipathfs",
      "xenfs",      "zonefs",        "fuse.portal",    "fuse.gvfsd-fuse",
      "fuse.lxcfs", "fuse.snapfuse", "fuse-overlayfs", "fuse.fuse-overlayfs"};
  return k;
}

const std::set<std::string, std::less<>>& networkTypes() {
  static const std::set<std::string, std::less<>> k = {
      "nfs",         "nfs4",     "cifs", "smb3",  "smbfs",      "ceph",          "glusterfs",
      "9p",          "virtiofs", "afs",  "ncpfs", "fuse.sshfs", "fuse.rclone",   "davfs",
      "fuse.davfs2", "lustre",   "gfs2", "ocfs2", "fuse.s3fs",  "fuse.glusterfs"};
  return k;
}

const std::set<std::string, std::less<>>& readOnlyImageTypes() {
  static const std::set<std::string, std::less<>> k = {"squashfs", "erofs", "iso9660", "cramfs",
                                                       "romfs"};
  return k;
}

// Stacked encrypting filesystems: noted, never judged (they sit on top of another filesystem).
const std::set<std::string, std::less<>>& encryptedOverlayTypes() {
  static const std::set<std::string, std::less<>> k = {"ecryptfs", "fuse.gocryptfs", "fuse.encfs",
                                                       "fuse.cryfs", "fuse.securefs"};
  return k;
}

std::string basenameOf(const std::string& p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string dirnameOf(const std::string& p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

// Lexical normalisation of an absolute path ("." and ".." removed).
std::string normalize(const std::string& path) {
  std::vector<std::string> parts;
  for (const std::string& c : text::split(path, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  return "/" + text::join(parts, "/");
}

bool isUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || text::startsWith(path, dir + "/");
}

// "vgubuntu-root" -> "vgubuntu/root"; LVM doubles '-' inside names ("my--vg-lv" -> "my-vg/lv").
std::string lvmDisplayName(const std::string& dm_name) {
  for (size_t i = 0; i < dm_name.size(); ++i) {
    if (dm_name[i] != '-') continue;
    if (i + 1 < dm_name.size() && dm_name[i + 1] == '-') {
      ++i;
      continue;
    }
    auto undouble = [](std::string s) {
      std::string out;
      for (size_t k = 0; k < s.size(); ++k) {
        out += s[k];
        if (s[k] == '-' && k + 1 < s.size() && s[k + 1] == '-') ++k;
      }
      return out;
    };
    return undouble(dm_name.substr(0, i)) + "/" + undouble(dm_name.substr(i + 1));
  }
  return dm_name;
}

std::string firstLine(const std::string& s) {
  std::string t = text::trim(s);
  size_t nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(0, nl);
}

Tri allOf(const std::vector<Layer>& lower) {
  if (lower.empty()) return Tri::kUnknown;
  bool unknown = false;
  for (const auto& l : lower) {
    if (l.encrypted == Tri::kNo) return Tri::kNo;
    if (l.encrypted == Tri::kUnknown) unknown = true;
  }
  return unknown ? Tri::kUnknown : Tri::kYes;
}

// The layer whose own fact decided a kNo/kUnknown verdict (deepest along the deciding path).
const Layer& decidingLayer(const Layer& l) {
  for (const auto& c : l.lower) {
    if (c.encrypted == l.encrypted && l.encrypted != Tri::kYes && l.type != "crypt") {
      return decidingLayer(c);
    }
  }
  return l;
}

void plainDevices(const Layer& l, std::vector<std::string>& out) {
  if (l.encrypted != Tri::kNo) return;
  if (l.type == "crypt") {  // cipher_null: the crypt layer itself is what is wrong
    out.push_back(l.device);
    return;
  }
  bool child = false;
  for (const auto& c : l.lower) {
    if (c.encrypted == Tri::kNo) {
      plainDevices(c, out);
      child = true;
    }
  }
  if (!child && std::find(out.begin(), out.end(), l.device) == out.end()) out.push_back(l.device);
}

void leaves(const Layer& l, std::vector<const Layer*>& out) {
  if (l.lower.empty()) {
    out.push_back(&l);
    return;
  }
  for (const auto& c : l.lower) leaves(c, out);
}

Layer unknownLayer(std::string device, std::string type, std::string reason) {
  Layer l;
  l.device = std::move(device);
  l.type = std::move(type);
  l.encrypted = Tri::kUnknown;
  l.reason = std::move(reason);
  return l;
}

class Collector {
 public:
  explicit Collector(const SystemView& sys) : sys_(sys) {}

  Facts collect() {
    Facts facts;
    auto text = sys_.readFile("/proc/self/mountinfo", 8 << 20, false);
    if (!text.ok()) {
      Target t;
      t.kind = TargetKind::kRoot;
      t.name = "/";
      t.reason = "cannot read /proc/self/mountinfo: " + text.status().message();
      facts.targets.push_back(std::move(t));
      return facts;
    }
    auto parsed = disk::parseMountInfo(*text);
    if (!parsed.ok()) {
      Target t;
      t.kind = TargetKind::kRoot;
      t.name = "/";
      t.reason = "cannot parse /proc/self/mountinfo: " + parsed.status().message();
      facts.targets.push_back(std::move(t));
      return facts;
    }
    mounts_ = disk::visibleMounts(*parsed);

    collectMounts(facts);
    collectSwaps(facts);
    settleRemovable(facts);
    collectEncryptedHomes(facts);
    return facts;
  }

 private:
  // ---- mounts ---------------------------------------------------------------------------------

  void collectMounts(Facts& facts) {
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
          (text::startsWith(type, "fuse.") && !networkTypes().contains(type))) {
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
        std::string why =
            esp && m.mount_point != "/boot" ? "EFI system partition" : "boot partition";
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
      bool all_volatile = !ls.empty() && std::all_of(ls.begin(), ls.end(), [](const Layer* l) {
        return l->volatile_ram;
      });
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

  static std::string targetKey(TargetKind kind, const std::string& name) {
    return std::to_string(static_cast<int>(kind)) + name;
  }

  static void addDisks(const Target& t, std::set<std::string>& disks) {
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
  void settleRemovable(Facts& facts) {
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

  Target rootTarget(const MountEntry& m) {
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
    if (networkTypes().contains(m.fstype) || text::startsWith(m.fstype, "fuse")) {
      Target t = baseTarget(TargetKind::kRoot, m);
      t.reason =
          "the root filesystem is " + m.fstype + " (network or FUSE): cannot follow it to a disk";
      return t;
    }
    return makeTarget(TargetKind::kRoot, m, filesystemChain(m, 0));
  }

  // The mounts named by an overlay's lowerdir= (or lowerdir+=) option, when every lower dir is
  // exactly the mount point of a block-backed filesystem; empty otherwise.
  std::vector<const MountEntry*> overlayLowerMounts(const MountEntry& overlay) const {
    if (overlay.fstype != "overlay") return {};
    std::vector<std::string> dirs;
    for (const std::string& opt : text::split(overlay.super_options, ',')) {
      if (text::startsWith(opt, "lowerdir+=")) {
        dirs.push_back(opt.substr(10));
      } else if (text::startsWith(opt, "lowerdir=")) {
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
          networkTypes().contains(found->fstype) || text::startsWith(found->fstype, "fuse") ||
          (found->major == 0 && found->fstype != "btrfs" && found->fstype != "zfs" &&
           found->fstype != "bcachefs")) {
        return {};
      }
      out.push_back(found);
    }
    return out;
  }

  // Whether a target with the same device number as `m` was already judged.
  bool judgedDevice(const Facts& facts, const MountEntry& m) const {
    std::string num = std::to_string(m.major) + ":" + std::to_string(m.minor);
    return std::any_of(facts.targets.begin(), facts.targets.end(), [&](const Target& t) {
      return t.device_number == num && !removable_.contains(targetKey(t.kind, t.name));
    });
  }

  static Target baseTarget(TargetKind kind, const MountEntry& m) {
    Target t;
    t.kind = kind;
    t.name = m.mount_point;
    t.fstype = m.fstype;
    t.source = m.source;
    t.device_number = std::to_string(m.major) + ":" + std::to_string(m.minor);
    return t;
  }

  static Target makeTarget(TargetKind kind, const MountEntry& m, Layer chain) {
    Target t = baseTarget(kind, m);
    fillFromChain(t, std::move(chain));
    return t;
  }

  static void fillFromChain(Target& t, Layer chain) {
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
  Layer filesystemChain(const MountEntry& m, int depth) {
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
      if (dir.status().code() == StatusCode::kNotFound && text::startsWith(m.source, "/dev/")) {
        auto by_name = deviceDirForPath(m.source);
        if (by_name.ok()) return walk(*by_name, false, depth + 1);
      }
      return unknownLayer(m.source, "device", sysfsProblem("/sys/dev/block/" + num, dir.status()));
    }
    return walk(*dir, false, depth + 1);
  }

  static std::string sysfsProblem(const std::string& path, const Status& st) {
    if (st.code() == StatusCode::kNotFound) {
      return "no " + path + " entry (sysfs not available or incomplete)";
    }
    return "sysfs unreadable: " + st.message();
  }

  // ---- sysfs walk -----------------------------------------------------------------------------

  // `path` if it is not a symlink, else its target resolved against its directory.
  StatusOr<std::string> canonicalEntry(const std::string& path) {
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

  bool exists(const std::string& path) { return sys_.stat(path, true).ok(); }

  // Whether `path` exists; an error other than NotFound (unreadable sysfs) is returned as such,
  // so that a device we cannot inspect is never taken for a plain disk.
  StatusOr<bool> probe(const std::string& path) {
    auto st = sys_.stat(path, true);
    if (st.ok()) return true;
    if (st.status().code() == StatusCode::kNotFound) return false;
    return st.status();
  }

  StatusOr<std::string> readTrimmed(const std::string& path) {
    auto r = sys_.readFile(path, 64 << 10, true);
    if (!r.ok()) return r.status();
    return text::trim(*r);
  }

  std::vector<Layer> walkSlaves(const std::string& dir, bool under_crypt, int depth,
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
        out.push_back(
            unknownLayer(n, "device", "cannot resolve slave: " + lower.status().message()));
        continue;
      }
      out.push_back(walk(*lower, under_crypt, depth + 1));
    }
    return out;
  }

  // Whether `dir` is a device stacked on others (dm, md, loop, or with slaves).
  bool isStacked(const std::string& dir) {
    if (exists(dir + "/dm") || exists(dir + "/md") || exists(dir + "/loop")) return true;
    auto names = sys_.listDir(dir + "/slaves");
    return names.ok() && !names->empty();
  }

  // walkDevice, once per device directory (and crypt context): sysfs may list the same lower
  // device under several uppers, and a corrupt or synthetic tree may list devices as each
  // other's slaves. A device met again while it is being walked is a cycle: unknown, never a hang.
  Layer walk(const std::string& dir, bool under_crypt, int depth) {
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

  Layer walkDevice(const std::string& dir, bool under_crypt, int depth) {
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
    static constexpr std::array<const char*, 4> kKindEntries = {"/dm", "/md", "/loop",
                                                                "/partition"};
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
      if (l.lower.empty())
        l.reason = slave_error.empty() ? "md device without members" : slave_error;
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
      if (text::endsWith(file, " (deleted)")) {
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

  // ---- ZFS volumes ----------------------------------------------------------------------------

  // A ZFS volume (/dev/zdN): sysfs shows a plain disk, but its data is in a ZFS dataset whose
  // own encryption decides.
  static bool isZvol(const std::string& dir) {
    std::string n = basenameOf(dir);
    return n.size() > 2 && text::startsWith(n, "zd") &&
           std::all_of(n.begin() + 2, n.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  // udev's /dev/zvol/<pool>/<volume> -> ../../zdN links, read once: kernel name -> dataset.
  void indexZvols(const std::string& dir, const std::string& dataset, int depth) {
    if (depth > 8) return;
    auto names = sys_.listDir(dir);
    if (!names.ok()) return;
    for (const std::string& n : *names) {
      std::string path = dir + "/" + n;
      std::string ds = dataset.empty() ? n : dataset + "/" + n;
      auto target = sys_.readLink(path);
      if (target.ok()) {
        zvols_.emplace(basenameOf(*target), ds);
      } else if (target.status().code() == StatusCode::kInvalidArgument) {
        indexZvols(path, ds, depth + 1);
      }
    }
  }

  Layer zvolLayer(const std::string& dir, int depth) {
    Layer l;
    l.device = basenameOf(dir);
    l.type = "zvol";
    if (!zvols_built_) {
      zvols_built_ = true;
      indexZvols("/dev/zvol", "", 0);
    }
    auto it = zvols_.find(l.device);
    if (it == zvols_.end()) {
      l.detail = "ZFS volume";
      l.reason =
          "cannot find the ZFS volume of " + l.device + " (no /dev/zvol/<pool>/<volume> link)";
      return l;
    }
    l.detail = "ZFS volume " + it->second;
    l.lower.push_back(zfsChain(it->second, depth + 1));
    l.encrypted = l.lower.back().encrypted;
    return l;
  }

  void fillPhysical(const std::string& disk_dir, Layer& l) {
    auto removable = readTrimmed(disk_dir + "/removable");
    l.removable =
        (removable.ok() && *removable == "1") || disk_dir.find("/usb") != std::string::npos;
    l.disk_dir = disk_dir;
    std::string disk = basenameOf(disk_dir);
    l.volatile_ram = text::startsWith(disk, "zram") || text::startsWith(disk, "ram");
    l.encrypted = Tri::kNo;
    l.reason = "plain device without an encryption layer";
  }

  // A "filesystem" layer: "/ (ext4) <- ..." for loop backing files and swap files.
  Layer filesystemLayer(const MountEntry& m, int depth) {
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
  const MountEntry* mountForPath(const std::string& path) {
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

  // ---- device lookup by /dev path -------------------------------------------------------------

  void buildIndex() {
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
  StatusOr<std::string> deviceDirForPath(const std::string& path) {
    if (!sys_.isRooted()) {
      auto st = sys_.stat(path, true);
      if (st.ok() && st->type == FileType::kBlockDevice) {
        auto dir = canonicalEntry("/sys/dev/block/" + std::to_string(major(st->rdev)) + ":" +
                                  std::to_string(minor(st->rdev)));
        if (dir.ok()) return dir;
      }
    }
    std::string p = path;
    for (int hops = 0; hops < 8 && text::startsWith(p, "/dev/"); ++hops) {
      auto t = sys_.readLink(p);
      if (!t.ok()) break;
      p = normalize(!t->empty() && (*t)[0] == '/' ? *t : dirnameOf(p) + "/" + *t);
    }
    buildIndex();
    if (text::startsWith(p, "/dev/mapper/")) {
      auto it = dm_names_.find(p.substr(12));
      if (it != dm_names_.end()) return it->second;
    }
    auto it = index_.find(basenameOf(p));
    if (it != index_.end()) return it->second;
    if (!index_error_.empty()) return UnavailableError("sysfs unreadable: " + index_error_);
    return NotFoundError("no block device in /sys/dev/block for " + path);
  }

  // ---- btrfs ----------------------------------------------------------------------------------

  // The root= device of /proc/cmdline as a /dev path ("UUID=x" -> /dev/disk/by-uuid/x), or "".
  std::string cmdlineRootDevice() {
    auto cmdline = sys_.readFile("/proc/cmdline", 64 << 10, true);
    if (!cmdline.ok()) return "";
    std::string root;
    for (const std::string& w : text::splitWhitespace(*cmdline)) {
      if (text::startsWith(w, "root=")) root = w.substr(5);  // the last one wins, as in the kernel
    }
    if (text::startsWith(root, "UUID=")) return "/dev/disk/by-uuid/" + root.substr(5);
    if (text::startsWith(root, "PARTUUID=")) return "/dev/disk/by-partuuid/" + root.substr(9);
    if (text::startsWith(root, "LABEL=")) return "/dev/disk/by-label/" + root.substr(6);
    return text::startsWith(root, "/dev/") ? root : "";
  }

  Layer btrfsChain(const MountEntry& m, int depth) {
    auto src = deviceDirForPath(m.source);
    if (!src.ok() && m.source == "/dev/root") {
      // A root mounted by the kernel itself (root=/dev/mmcblk0p2 rootfstype=btrfs, no
      // initramfs) shows the source /dev/root, which has no sysfs entry. The only btrfs
      // filesystem is then the root's; else root= of the kernel command line names it.
      auto all = sys_.listDir("/sys/fs/btrfs");
      std::vector<std::string> with_devices;
      if (all.ok()) {
        for (const std::string& fsid : *all) {
          if (exists("/sys/fs/btrfs/" + fsid + "/devices")) with_devices.push_back(fsid);
        }
      }
      if (with_devices.size() == 1) return btrfsMembers(with_devices.front(), depth);
      std::string dev = cmdlineRootDevice();
      if (!dev.empty()) {
        auto by_cmdline = deviceDirForPath(dev);
        if (by_cmdline.ok()) src = by_cmdline;
      }
    }
    if (!src.ok()) {
      return unknownLayer(
          m.source, "btrfs",
          "cannot find the device of btrfs source " + m.source + ": " + src.status().message());
    }
    std::string src_name = basenameOf(*src);
    auto fsids = sys_.listDir("/sys/fs/btrfs");
    if (!fsids.ok()) {
      return unknownLayer(m.source, "btrfs",
                          "cannot read /sys/fs/btrfs: " + fsids.status().message());
    }
    for (const std::string& fsid : *fsids) {
      std::string devices = "/sys/fs/btrfs/" + fsid + "/devices";
      auto members = sys_.listDir(devices);
      if (!members.ok()) continue;
      bool match = false;
      for (const auto& n : *members) {
        auto d = canonicalEntry(devices + "/" + n);
        if (n == src_name || (d.ok() && *d == *src)) match = true;
      }
      if (match) return btrfsMembers(fsid, depth);
    }
    return unknownLayer(m.source, "btrfs", "no /sys/fs/btrfs/<fsid>/devices lists " + src_name);
  }

  // Every member of the btrfs filesystem `fsid`, walked.
  Layer btrfsMembers(const std::string& fsid, int depth) {
    std::string devices = "/sys/fs/btrfs/" + fsid + "/devices";
    auto members = sys_.listDir(devices);
    if (!members.ok() || members->empty()) {
      return unknownLayer(
          "btrfs", "btrfs",
          "cannot list " + devices + ": " + (members.ok() ? "empty" : members.status().message()));
    }
    std::vector<Layer> lower;
    for (const auto& n : *members) {
      auto d = canonicalEntry(devices + "/" + n);
      if (!d.ok()) {
        lower.push_back(unknownLayer(n, "device", sysfsProblem(devices + "/" + n, d.status())));
        continue;
      }
      lower.push_back(walk(*d, false, depth + 1));
    }
    if (lower.size() == 1) return std::move(lower.front());
    Layer l;
    l.device = "btrfs";
    l.type = "btrfs";
    l.detail = std::to_string(lower.size()) + " devices";
    l.lower = std::move(lower);
    l.encrypted = allOf(l.lower);
    return l;
  }

  // ---- bcachefs ---------------------------------------------------------------------------------

  // Source "/dev/sda1:/dev/sdb1": every member is walked. bcachefs can also encrypt natively,
  // which sysfs does not show: plain members make the answer unknown, not fail.
  Layer bcachefsChain(const MountEntry& m, int depth) {
    Layer l;
    l.device = "bcachefs";
    l.type = "bcachefs";
    for (const std::string& member : text::split(m.source, ':')) {
      auto dir = deviceDirForPath(member);
      if (!dir.ok()) {
        l.lower.push_back(unknownLayer(basenameOf(member), "device", dir.status().message()));
        continue;
      }
      l.lower.push_back(walk(*dir, false, depth + 1));
    }
    l.detail = std::to_string(l.lower.size()) + " device(s)";
    l.encrypted = allOf(l.lower);
    if (l.encrypted == Tri::kNo) {
      l.encrypted = Tri::kUnknown;
      l.reason = "bcachefs on unencrypted devices: its native encryption cannot be confirmed";
    }
    return l;
  }

  // ---- ZFS ------------------------------------------------------------------------------------

  StatusOr<CommandResult> runFirst(const std::vector<std::string>& programs,
                                   const std::vector<std::string>& args) {
    Status first;
    for (const auto& p : programs) {
      Command c;
      c.argv.push_back(p);
      c.argv.insert(c.argv.end(), args.begin(), args.end());
      c.timeout = kCommandTimeout;
      c.max_output = 1 << 20;
      auto r = sys_.run(c);
      if (r.ok()) return r;
      if (first.ok()) first = r.status();
      if (r.status().code() != StatusCode::kNotFound &&
          r.status().code() != StatusCode::kUnavailable) {
        return r.status();
      }
    }
    return first;
  }

  // Under --root, a command without a recording in DIR/.hearth/commands.json (not a failure of
  // the command itself: nothing says it would need root).
  bool noRecording(const StatusOr<CommandResult>& r) const {
    return sys_.isRooted() && !r.ok() && r.status().code() == StatusCode::kUnavailable;
  }

  static std::string commandLine(const std::string& program, const std::vector<std::string>& args) {
    return "`" + program + " " + text::join(args, " ") + "`";
  }

  static void setNoRecording(Layer& l, const std::string& what,
                             const std::vector<std::string>& command_lines) {
    std::string cmds = text::join(command_lines, " or ");
    l.reason = what + ": the --root tree has no recording of " + cmds + " in .hearth/commands.json";
    l.hint = "no_recording";
    l.hint_detail = cmds;
  }

  Layer zfsChain(const std::string& dataset, int depth) {
    auto r = runFirst(
        {"/usr/sbin/zfs", "/sbin/zfs"},
        {"get", "-H", "-o", "name,property,value", "encryption,keystatus,encryptionroot", dataset});
    if (noRecording(r)) {
      Layer l = unknownLayer(dataset, "zfs", "");
      setNoRecording(
          l, "cannot read the ZFS encryption of " + dataset,
          {commandLine("/usr/sbin/zfs", {"get", "-H", "-o", "name,property,value",
                                         "encryption,keystatus,encryptionroot", dataset})});
      return l;
    }
    if (!r.ok() || r->exit_code != 0) {
      Layer l = unknownLayer(dataset, "zfs",
                             "cannot read the ZFS encryption of " + dataset + ": " +
                                 (r.ok() ? firstLine(r->err) : r.status().message()));
      l.hint = "zfs_tool";
      return l;
    }
    disk::ZfsEncryption z = disk::parseZfsGet(r->out);
    if (z.encryption.empty()) {
      return unknownLayer(dataset, "zfs", "zfs get printed no encryption property");
    }
    if (z.encryption != "off") {
      Layer l;
      l.device = dataset;
      l.type = "zfs";
      l.detail = "ZFS native " + z.encryption;
      if (!z.encryption_root.empty() && z.encryption_root != "-") {
        l.detail += ", root " + z.encryption_root;
      }
      l.cipher = z.encryption;
      l.encrypted = Tri::kYes;
      return l;
    }
    std::string pool = dataset.substr(0, dataset.find('/'));
    Layer l;
    l.device = pool;
    l.type = "zpool";
    l.detail = "ZFS pool, no native encryption";
    auto st = runFirst({"/usr/sbin/zpool", "/sbin/zpool"}, {"status", "-P", pool});
    if (noRecording(st)) {
      setNoRecording(l, "cannot list the devices of ZFS pool " + pool,
                     {commandLine("/usr/sbin/zpool", {"status", "-P", pool})});
      return l;
    }
    if (!st.ok() || st->exit_code != 0) {
      l.reason = "cannot list the devices of ZFS pool " + pool + ": " +
                 (st.ok() ? firstLine(st->err) : st.status().message());
      l.hint = "zfs_tool";
      return l;
    }
    std::vector<std::string> vdevs = disk::parseZpoolDevices(st->out);
    for (const auto& v : vdevs) {
      auto dir = deviceDirForPath(v);
      if (!dir.ok()) {
        l.lower.push_back(unknownLayer(basenameOf(v), "device", dir.status().message()));
        continue;
      }
      l.lower.push_back(walk(*dir, false, depth + 1));
    }
    l.encrypted = allOf(l.lower);
    if (vdevs.empty()) l.reason = "zpool status -P listed no devices for " + pool;
    return l;
  }

  // ---- cipher confirmation --------------------------------------------------------------------

  // A CRYPT-* dm uuid only says cryptsetup created the device; the cipher may be cipher_null
  // (no protection). So every crypt layer is confirmed: `cryptsetup --readonly status` (cipher
  // line), else `dmsetup table` (the crypt target's cipher; keys are never asked for). Both need
  // root (libdevmapper cannot talk to the kernel otherwise) and nothing readable without root
  // shows the cipher (sysfs has no table), so an unconfirmed crypt layer is unknown with "run
  // the check as root", never assumed encrypted. The agent service runs as root, so this only
  // shows for a person running `hearth-agent check` by hand.
  void confirmCipher(const std::string& dm_name, const disk::DmClass& cls, Layer& l) {
    auto cached = cipher_cache_.find(dm_name);
    if (cached != cipher_cache_.end()) {
      l.encrypted = cached->second.encrypted;
      l.cipher = cached->second.cipher;
      l.reason = cached->second.reason;
      l.hint = cached->second.hint;
      return;
    }
    Layer result;
    std::string cs_error;
    auto cs =
        runFirst({"/usr/sbin/cryptsetup", "/sbin/cryptsetup"}, {"--readonly", "status", dm_name});
    if (cs.ok() && cs->exit_code == 0) {
      disk::CryptStatus st = disk::parseCryptsetupStatus(cs->out);
      if (st.active && !st.cipher.empty()) {
        setCipher(result, st.cipher, cls);
      } else if (st.active && cls.opal) {
        result.encrypted = Tri::kYes;
        result.cipher = "hardware (OPAL)";
      } else {
        cs_error = st.active ? "no cipher in its output" : "device not active";
      }
    } else {
      cs_error = cs.ok() ? "exit " + std::to_string(cs->exit_code) + ": " + firstLine(cs->err)
                         : cs.status().message();
    }
    if (result.encrypted == Tri::kUnknown && result.reason.empty()) {
      std::string dm_error;
      auto dm = runFirst({"/usr/sbin/dmsetup", "/sbin/dmsetup"}, {"table", dm_name});
      if (dm.ok() && dm->exit_code == 0) {
        std::vector<disk::DmTableSegment> segs = disk::parseDmsetupTable(dm->out);
        bool any_crypt = false;
        bool all_linear = !segs.empty();
        for (const auto& s : segs) {
          if (s.target == "crypt") {
            any_crypt = true;
            setCipher(result, s.cipher, cls);
            if (result.encrypted == Tri::kNo) break;
          }
          if (s.target != "linear") all_linear = false;
        }
        if (!any_crypt) {
          if (cls.opal && all_linear) {
            result.encrypted = Tri::kYes;
            result.cipher = "hardware (OPAL)";
          } else {
            dm_error = "its table has no crypt target";
          }
        }
      } else {
        dm_error = dm.ok() ? "exit " + std::to_string(dm->exit_code) + ": " + firstLine(dm->err)
                           : dm.status().message();
      }
      if (result.encrypted == Tri::kUnknown && noRecording(cs) && noRecording(dm)) {
        setNoRecording(result, "cannot confirm the cipher of " + dm_name,
                       {commandLine("/usr/sbin/cryptsetup", {"--readonly", "status", dm_name}),
                        commandLine("/usr/sbin/dmsetup", {"table", dm_name})});
      } else if (result.encrypted == Tri::kUnknown) {
        bool not_root = !sys_.isRooted() && ::geteuid() != 0;
        result.reason = std::string(not_root ? "not running as root: " : "") +
                        "cannot confirm the cipher of " + dm_name +
                        " (cryptsetup status: " + cs_error + "; dmsetup table: " + dm_error +
                        "); run the check as root";
        result.hint = "run_as_root";
      }
    }
    cipher_cache_[dm_name] = result;
    l.encrypted = result.encrypted;
    l.cipher = result.cipher;
    l.reason = result.reason;
    l.hint = result.hint;
    l.hint_detail = result.hint_detail;
  }

  static void setCipher(Layer& result, const std::string& cipher, const disk::DmClass& /*cls*/) {
    result.cipher = cipher;
    if (disk::isNullCipher(cipher)) {
      result.encrypted = Tri::kNo;
      result.reason = "the crypt device uses " + cipher + ", which does not encrypt";
      result.hint = "cipher_null";
    } else {
      result.encrypted = Tri::kYes;
    }
  }

  // A dm device without uuid: decided by its table (needs root).
  void unknownDm(const std::string& dm_name, Layer& l) {
    static const std::set<std::string, std::less<>> kPass = {
        "linear",          "striped",   "mirror",    "raid",  "multipath",  "snapshot",
        "snapshot-origin", "thin",      "thin-pool", "cache", "writecache", "era",
        "delay",           "integrity", "verity"};
    auto dm = runFirst({"/usr/sbin/dmsetup", "/sbin/dmsetup"}, {"table", dm_name});
    if (noRecording(dm)) {
      setNoRecording(l, "device-mapper device " + dm_name + " has no uuid",
                     {commandLine("/usr/sbin/dmsetup", {"table", dm_name})});
      return;
    }
    if (!dm.ok() || dm->exit_code != 0) {
      l.reason = "device-mapper device " + dm_name + " has no uuid and its table cannot be read (" +
                 (dm.ok() ? firstLine(dm->err) : dm.status().message()) + "); run as root";
      l.hint = "run_as_root";
      return;
    }
    auto segs = disk::parseDmsetupTable(dm->out);
    bool all_crypt = !segs.empty();
    bool all_pass = !segs.empty();
    for (const auto& s : segs) {
      if (s.target != "crypt") all_crypt = false;
      if (!kPass.contains(s.target)) all_pass = false;
    }
    if (all_crypt) {
      for (const auto& s : segs) {
        setCipher(l, s.cipher, disk::DmClass{});
        if (l.encrypted == Tri::kNo) break;
      }
      l.type = "crypt";
      return;
    }
    if (all_pass) {
      l.encrypted = allOf(l.lower);
      if (l.lower.empty()) l.reason = "no lower devices";
      return;
    }
    l.reason = "device-mapper device " + dm_name + " without uuid has an unknown table";
  }

  // ---- swap -----------------------------------------------------------------------------------

  void collectSwaps(Facts& facts) {
    auto text = sys_.readFile("/proc/swaps", 1 << 20, false);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) return;  // no swap support at all
      Target t;
      t.kind = TargetKind::kSwap;
      t.name = "/proc/swaps";
      t.reason = "cannot read /proc/swaps: " + text.status().message();
      facts.targets.push_back(std::move(t));
      return;
    }
    for (const disk::SwapEntry& s : disk::parseProcSwaps(*text)) {
      std::string name = s.filename;
      if (text::endsWith(name, " (deleted)")) name.resize(name.size() - 10);
      if (text::startsWith(basenameOf(name), "zram")) {
        facts.excluded.push_back({name, "swap", name, "zram swap (compressed RAM), exempt"});
        continue;
      }
      Target t;
      t.kind = TargetKind::kSwap;
      t.name = name;
      t.source = name;
      if (s.type == "file") {
        t.fstype = "file";
        const MountEntry* holder = mountForPath(name);
        if (holder == nullptr) {
          t.reason = "cannot find the filesystem that holds the swap file";
          facts.targets.push_back(std::move(t));
          continue;
        }
        t.via = "swap file on " + holder->mount_point;
        fillFromChain(t, filesystemLayer(*holder, 0));
        facts.targets.push_back(std::move(t));
        continue;
      }
      t.fstype = s.type;
      auto dir = deviceDirForPath(name);
      if (!dir.ok()) {
        t.reason = "cannot find swap device " + name + " in sysfs: " + dir.status().message();
        facts.targets.push_back(std::move(t));
        continue;
      }
      Layer chain = walk(*dir, false, 0);
      std::vector<const Layer*> ls;
      leaves(chain, ls);
      if (!ls.empty() &&
          std::all_of(ls.begin(), ls.end(), [](const Layer* l) { return l->volatile_ram; })) {
        facts.excluded.push_back({name, "swap", name, "swap in RAM, exempt"});
        continue;
      }
      if (!ls.empty() &&
          std::all_of(ls.begin(), ls.end(), [](const Layer* l) { return l->removable; })) {
        removable_[targetKey(TargetKind::kSwap, name)] = {name, "swap", name,
                                                          "swap on removable media, not judged"};
      }
      fillFromChain(t, std::move(chain));
      facts.targets.push_back(std::move(t));
    }
  }

  // ---- encrypted home directories -------------------------------------------------------------

  static void addEncryptedDir(Facts& facts, const std::string& path, const std::string& kind) {
    for (const auto& h : facts.encrypted_homes) {
      if (h.path == path) return;
    }
    facts.encrypted_homes.push_back({path, kind});
  }

  void collectEncryptedHomes(Facts& facts) {
    auto homes = sys_.listDir("/home");
    if (homes.ok()) {
      for (const std::string& h : *homes) {
        std::string p = "/home/" + h;
        if (h == ".ecryptfs") {
          auto users = sys_.listDir(p);
          if (!users.ok()) continue;
          for (const auto& u : *users) {
            // Unmounted eCryptfs homes keep their data under /home/.ecryptfs/USER/.Private.
            if (exists(p + "/" + u + "/.Private")) {
              bool mounted = false;
              for (const auto& e : facts.encrypted_homes) mounted |= e.path == "/home/" + u;
              if (!mounted) addEncryptedDir(facts, "/home/" + u, "ecryptfs");
            }
          }
          continue;
        }
        auto st = sys_.stat(p, false);
        if (st.ok() && st->type == FileType::kDirectory && st->encryption_attr_known &&
            st->encrypted) {
          addEncryptedDir(facts, p, "fscrypt");
        }
      }
    }
    auto root_home = sys_.stat("/root", false);
    if (root_home.ok() && root_home->encryption_attr_known && root_home->encrypted) {
      addEncryptedDir(facts, "/root", "fscrypt");
    }
  }

  const SystemView& sys_;
  std::vector<MountEntry> mounts_;
  bool index_built_ = false;
  std::map<std::string, std::string> index_;     // kernel name -> sysfs dir
  std::map<std::string, std::string> dm_names_;  // dm name -> sysfs dir
  std::string index_error_;
  std::map<std::string, Layer> cipher_cache_;
  std::map<std::string, disk::Excluded> removable_;  // targetKey -> entry if on removable media
  bool zvols_built_ = false;
  std::map<std::string, std::string> zvols_;  // zdN -> pool/volume
  std::map<std::string, Layer> walked_;       // (crypt context + sysfs dir) -> its walked layer
  std::set<std::string> walking_;             // sysfs dirs being walked (cycle detection)
};

class DiskEncryptionCheck final : public Check {
 public:
  std::string_view id() const override { return "disk_encryption"; }
  StatusOr<CheckResult> run(const SystemView& system,
                            const CheckParams& /*params*/) const override {
    Collector collector(system);
    return disk::decide(collector.collect());
  }
};

}  // namespace

std::unique_ptr<Check> NewDiskEncryptionCheck() { return std::make_unique<DiskEncryptionCheck>(); }

}  // namespace hearth::checks
