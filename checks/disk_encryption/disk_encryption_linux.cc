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
//
// The collector (collector_linux.h) has one file per seam: mounts_linux.cc, block_walk_linux.cc,
// zfs_linux.cc, btrfs_bcachefs_linux.cc, cipher_linux.cc, swap_home_linux.cc; this file holds its
// entry point, the running of tools, and the Check.
#include <memory>

#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "disk_encryption/disk_encryption.h"
#include "hearth/text.h"

namespace hearth::checks {

namespace disk {

Facts Collector::collect() {
  Facts facts;
  // Without the mount table nothing can be judged: `/` is unknown, with the reason.
  auto rootUnknown = [&facts](std::string reason) {
    Target t;
    t.kind = TargetKind::kRoot;
    t.name = "/";
    t.reason = std::move(reason);
    facts.targets.push_back(std::move(t));
    return facts;
  };
  auto text = sys_.readFile("/proc/self/mountinfo", 8 << 20, false);
  if (!text.ok()) {
    return rootUnknown("cannot read /proc/self/mountinfo: " + text.status().message());
  }
  auto parsed = disk::parseMountInfo(*text);
  if (!parsed.ok()) {
    return rootUnknown("cannot parse /proc/self/mountinfo: " + parsed.status().message());
  }
  mounts_ = disk::visibleMounts(*parsed);

  collectMounts(facts);
  collectSwaps(facts);
  settleRemovable(facts);
  collectEncryptedHomes(facts);
  return facts;
}

StatusOr<CommandResult> Collector::runFirst(const std::vector<std::string>& programs,
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
bool Collector::noRecording(const StatusOr<CommandResult>& r) const {
  return sys_.isRooted() && !r.ok() && r.status().code() == StatusCode::kUnavailable;
}

std::string Collector::commandLine(const std::string& program,
                                   const std::vector<std::string>& args) {
  return "`" + program + " " + text::join(args, " ") + "`";
}

void Collector::setNoRecording(Layer& l, const std::string& what,
                               const std::vector<std::string>& command_lines) {
  std::string cmds = text::join(command_lines, " or ");
  l.reason = what + ": the --root tree has no recording of " + cmds + " in .hearth/commands.json";
  l.hint = "no_recording";
  l.hint_detail = cmds;
}

}  // namespace disk

namespace {

class DiskEncryptionCheck final : public Check {
 public:
  std::string_view id() const override { return kDiskEncryptionCheckId; }
  StatusOr<CheckResult> run(const SystemView& system,
                            const CheckParams& /*params*/) const override {
    disk::Collector collector(system);
    return disk::decide(collector.collect());
  }
};

}  // namespace

std::unique_ptr<Check> NewDiskEncryptionCheck() { return std::make_unique<DiskEncryptionCheck>(); }

}  // namespace hearth::checks
