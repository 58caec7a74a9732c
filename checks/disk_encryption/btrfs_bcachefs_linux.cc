// disk_encryption on Linux: filesystems spanning several devices. btrfs members from
// /sys/fs/btrfs/<fsid>/devices (and a kernel-mounted /dev/root found through /proc/cmdline);
// bcachefs members from the mount source "/dev/a:/dev/b".
#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "hearth/text.h"

namespace hearth::checks::disk {

// The root= device of /proc/cmdline as a /dev path ("UUID=x" -> /dev/disk/by-uuid/x), or "".
std::string Collector::cmdlineRootDevice() {
  auto cmdline = sys_.readFile("/proc/cmdline", 64 << 10, true);
  if (!cmdline.ok()) return "";
  std::string root;
  for (const std::string& w : text::splitWhitespace(*cmdline)) {
    if (w.starts_with("root=")) root = w.substr(5);  // the last one wins, as in the kernel
  }
  if (root.starts_with("UUID=")) return "/dev/disk/by-uuid/" + root.substr(5);
  if (root.starts_with("PARTUUID=")) return "/dev/disk/by-partuuid/" + root.substr(9);
  if (root.starts_with("LABEL=")) return "/dev/disk/by-label/" + root.substr(6);
  return root.starts_with("/dev/") ? root : "";
}

Layer Collector::btrfsChain(const MountEntry& m, int depth) {
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
Layer Collector::btrfsMembers(const std::string& fsid, int depth) {
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

// Source "/dev/sda1:/dev/sdb1": every member is walked. bcachefs can also encrypt natively,
// which sysfs does not show: plain members make the answer unknown, not fail.
Layer Collector::bcachefsChain(const MountEntry& m, int depth) {
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

}  // namespace hearth::checks::disk
