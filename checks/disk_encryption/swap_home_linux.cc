// disk_encryption on Linux: swap and home directories. Every swap area of /proc/swaps but zram is a
// target (a swap file through the filesystem holding it); fscrypt and eCryptfs home directories
// are noted, not judged.
#include <algorithm>

#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "hearth/text.h"

namespace hearth::checks::disk {

void Collector::collectSwaps(Facts& facts) {
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
    if (name.ends_with(" (deleted)")) name.resize(name.size() - 10);
    if (basenameOf(name).starts_with("zram")) {
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

void Collector::addEncryptedDir(Facts& facts, const std::string& path, const std::string& kind) {
  for (const auto& h : facts.encrypted_homes) {
    if (h.path == path) return;
  }
  facts.encrypted_homes.push_back({path, kind});
}

void Collector::collectEncryptedHomes(Facts& facts) {
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

}  // namespace hearth::checks::disk
