// disk_encryption on Linux: ZFS. A dataset's native encryption (`zfs get`), else the vdevs of
// its pool (`zpool status -P`) walked as block devices; and ZFS volumes (/dev/zdN), whose data is
// in a dataset.
#include <algorithm>

#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "hearth/text.h"

namespace hearth::checks::disk {

Layer Collector::zfsChain(const std::string& dataset, int depth) {
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
                               (r.ok() ? text::firstLine(r->err) : r.status().message()));
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
               (st.ok() ? text::firstLine(st->err) : st.status().message());
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

// A ZFS volume (/dev/zdN): sysfs shows a plain disk, but its data is in a ZFS dataset whose
// own encryption decides.
bool Collector::isZvol(const std::string& dir) {
  std::string n = basenameOf(dir);
  return n.size() > 2 && n.starts_with("zd") &&
         std::all_of(n.begin() + 2, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// udev's /dev/zvol/<pool>/<volume> -> ../../zdN links, read once: kernel name -> dataset.
void Collector::indexZvols(const std::string& dir, const std::string& dataset, int depth) {
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

Layer Collector::zvolLayer(const std::string& dir, int depth) {
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
    l.reason = "cannot find the ZFS volume of " + l.device + " (no /dev/zvol/<pool>/<volume> link)";
    return l;
  }
  l.detail = "ZFS volume " + it->second;
  l.lower.push_back(zfsChain(it->second, depth + 1));
  l.encrypted = l.lower.back().encrypted;
  return l;
}

}  // namespace hearth::checks::disk
