// The disk_encryption check: is everything this machine keeps on disk encrypted at rest?
//
// disk_encryption.cc holds the pure parts (parsers of mountinfo, /proc/swaps, cryptsetup, dmsetup,
// zfs and zpool output; dm uuid classification; the decision and its wording), collect_util.cc the
// pure helpers of the collector; disk_encryption_linux.cc is the Check, and the Linux collector
// (collector_linux.h) gathers the facts through SystemView in one *_linux.cc file per seam
// (mounts, block-device walk, ZFS, btrfs/bcachefs, cipher confirmation, swap and homes).
//
// Judged targets: `/`, every other persistent, non-removable, block-backed mount and every swap
// device but zram. Each is followed from /proc/self/mountinfo through /sys/dev/block/MAJ:MIN and
// every slaves/ entry down to the physical devices. Verdict: pass only if every target is
// encrypted, fail if any is plainly unencrypted, unknown otherwise (unknown is never pass).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/json.h"
#include "hearth/result.h"
#include "hearth/status.h"

namespace hearth::checks {

inline constexpr char kDiskEncryptionCheckId[] = "disk_encryption";

std::unique_ptr<Check> NewDiskEncryptionCheck();
// Its policy part (disk_encryption_spec.cc: id and names; no policy settings of its own) and its
// agent's entry (disk_encryption_entry.cc: the factory).
CheckSpec DiskEncryptionCheckEntry(PolicyPart);
CheckEntry DiskEncryptionCheckEntry(AgentPart);

namespace disk {

// ---- Parsers (pure) ---------------------------------------------------------------------------

// One line of /proc/self/mountinfo, octal escapes (\040 ...) decoded.
struct MountEntry {
  int64_t mount_id = 0;
  int64_t parent_id = 0;
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string root;         // path inside the filesystem (btrfs subvolume, bind source)
  std::string mount_point;  // "/", "/home"
  std::string options;      // per-mount options ("rw,relatime")
  std::string fstype;       // "ext4", "btrfs", "fuse.gocryptfs"
  std::string source;       // "/dev/mapper/vgubuntu-root", "rpool/ROOT/ubuntu", "overlay"
  std::string super_options;
};

// Every well-formed line, in file order. InvalidArgument (naming the line) if a line is malformed.
StatusOr<std::vector<MountEntry>> parseMountInfo(std::string_view text);

// The visible mounts: for each mount point only the LAST entry (an overmount hides earlier ones),
// in the order of those last entries.
std::vector<MountEntry> visibleMounts(const std::vector<MountEntry>& entries);

// One line of /proc/swaps (header skipped; the file name's octal escapes decoded).
struct SwapEntry {
  std::string filename;  // "/dev/dm-1", "/swapfile", "/dev/zram0"
  std::string type;      // "partition" or "file"
};
std::vector<SwapEntry> parseProcSwaps(std::string_view text);

// `cryptsetup --readonly status NAME`.
struct CryptStatus {
  bool active = false;  // "... is active" / "... is active and is in use."
  std::string type;     // "LUKS2", "PLAIN", "BITLK", ...
  std::string cipher;   // "aes-xts-plain64", "cipher_null-ecb"; empty if not printed
};
CryptStatus parseCryptsetupStatus(std::string_view text);

// `dmsetup table NAME` (never --showkeys: keys are not read, kept or printed).
struct DmTableSegment {
  std::string target;  // "crypt", "linear", "verity", ...
  std::string cipher;  // crypt targets only
};
std::vector<DmTableSegment> parseDmsetupTable(std::string_view text);

// True when `cipher` (from cryptsetup or a dm table) does no encryption (cipher_null, "null").
bool isNullCipher(std::string_view cipher);

// `zfs get -H -o name,property,value encryption,keystatus,encryptionroot DATASET`.
struct ZfsEncryption {
  std::string dataset;
  std::string encryption;       // "off", "aes-256-gcm"; empty if not printed
  std::string keystatus;        // "available", "unavailable", "-"
  std::string encryption_root;  // "rpool", "-"
};
ZfsEncryption parseZfsGet(std::string_view text);

// The vdev device paths (absolute, as printed with -P) of `zpool status -P POOL` or
// `zpool list -vHP POOL`.
std::vector<std::string> parseZpoolDevices(std::string_view text);

// ---- Classification --------------------------------------------------------------------------

enum class DmRole {
  kEncryption,   // a crypt layer (LUKS1/2, PLAIN, BITLK, TCRYPT, LOOPAES, FVAULT2, LUKS2-OPAL)
  kPassThrough,  // LVM, multipath, kpartx partitions, verity, integrity, crypt sub-devices
  kUnknown,      // no uuid (raw dmsetup create) or an unknown prefix
};
struct DmClass {
  DmRole role = DmRole::kUnknown;
  std::string label;  // "LUKS2", "LVM", "verity", "integrity", "multipath", ...
  bool opal = false;  // CRYPT-LUKS2-OPAL-: the drive does (some of) the encryption
};
DmClass classifyDmUuid(std::string_view uuid);

// ---- Facts and decision ----------------------------------------------------------------------

enum class Tri { kNo, kYes, kUnknown };

// One device in a chain, from the top (the mounted device) down.
struct Layer {
  std::string device;  // kernel name: "dm-0", "nvme0n1p3", "md0", "loop0", "vda"
  std::string type;    // "crypt", "lvm", "dm", "md", "loop", "partition", "disk", "btrfs", ...
  std::string detail;  // "LUKS2", "LVM vgubuntu-root", "raid1", "backing /var/x.img on /"
  Tri encrypted = Tri::kUnknown;
  std::string reason;       // why unknown / why not
  std::string hint;         // for remediation: "cipher_null", "run_as_root", "zfs_tool", ...
  std::string hint_detail;  // "no_recording": the command lines the --root tree lacks
  std::string cipher;       // crypt layers, when confirmed
  bool removable = false;
  bool volatile_ram = false;  // zram, ram disks, loop images on tmpfs
  std::string disk_dir;       // physical leaves: the sysfs dir of the whole disk (not shown)
  std::vector<Layer> lower;
};

// "dm-1 (LVM vgubuntu-root) ← dm-0 (LUKS2) ← nvme0n1p3"; several lower devices are shown as
// "md0 (raid1) ← [dm-0 (LUKS2) ← sda1 | dm-1 (LUKS2) ← sdb1]".
std::string chainString(const Layer& top);

enum class TargetKind { kRoot, kMount, kSwap };

struct Target {
  TargetKind kind = TargetKind::kMount;
  std::string name;  // mount point, or the swap file / device path
  std::string fstype;
  std::string source;
  std::string device_number;  // "254:0" as in mountinfo; empty for swap
  Tri encrypted = Tri::kUnknown;
  std::string reason;              // for kNo / kUnknown: the deciding fact
  std::string plain_device;        // the unencrypted device, for kNo ("vda", "sdb1")
  std::optional<Layer> chain;      // absent when nothing could be walked
  std::string via;                 // "zfs native encryption", "swap file on /", ...
  std::string remediation_hint;    // "cipher_null", "run_as_root", "container", "no_recording"...
  std::string remediation_detail;  // "no_recording": the command lines the --root tree lacks
};

struct Excluded {
  std::string name;  // mount point or swap path
  std::string fstype;
  std::string source;
  std::string why;  // "boot partition", "EFI system partition", "removable media", "zram swap"
};

struct EncryptedHome {
  std::string path;
  std::string kind;  // "fscrypt", "ecryptfs", "fuse.gocryptfs", ...
};

struct Facts {
  std::vector<Target> targets;
  std::vector<Excluded> excluded;  // notable mounts and swaps not judged (not proc/sysfs/...)
  std::vector<Excluded> removable_media;
  std::vector<EncryptedHome> encrypted_homes;
  std::vector<std::string> notes;
};

// The verdict, summary, evidence and remediation for these facts (id/required/duration are the
// runner's). Pure.
CheckResult decide(const Facts& facts);

// Evidence for one layer tree (used in decide; exposed for tests).
json::Value layerJson(const Layer& layer);

}  // namespace disk
}  // namespace hearth::checks
