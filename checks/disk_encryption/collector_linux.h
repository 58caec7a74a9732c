// disk_encryption on Linux: the collector that gathers the Facts through SystemView. One class,
// because its parts follow each other recursively (a loop device leads to a mount, a ZFS volume to
// a pool, a pool to its vdevs); its methods live in one file per seam, named below. Not
// thread-safe: one Collector per run (it caches the sysfs index, walked devices and ciphers).
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "disk_encryption/disk_encryption.h"
#include "hearth/system_view.h"

namespace hearth::checks::disk {

inline constexpr int kMaxDepth = 16;
inline constexpr auto kCommandTimeout = std::chrono::seconds(15);

class Collector {
 public:
  explicit Collector(const SystemView& sys) : sys_(sys) {}

  // Every judged target, exclusion and note of this machine (disk_encryption_linux.cc).
  Facts collect();

 private:
  // ---- mounts (mounts_linux.cc) -----------------------------------------------------------------
  void collectMounts(Facts& facts);
  static std::string targetKey(TargetKind kind, const std::string& name);
  static void addDisks(const Target& t, std::set<std::string>& disks);
  void settleRemovable(Facts& facts);
  Target rootTarget(const MountEntry& m);
  std::vector<const MountEntry*> overlayLowerMounts(const MountEntry& overlay) const;
  bool judgedDevice(const Facts& facts, const MountEntry& m) const;
  static Target baseTarget(TargetKind kind, const MountEntry& m);
  static Target makeTarget(TargetKind kind, const MountEntry& m, Layer chain);
  static void fillFromChain(Target& t, Layer chain);
  Layer filesystemChain(const MountEntry& m, int depth);
  Layer filesystemLayer(const MountEntry& m, int depth);
  const MountEntry* mountForPath(const std::string& path);

  // ---- the block-device walk through sysfs (block_walk_linux.cc) --------------------------------
  StatusOr<std::string> canonicalEntry(const std::string& path);
  bool exists(const std::string& path);
  StatusOr<bool> probe(const std::string& path);
  StatusOr<std::string> readTrimmed(const std::string& path);
  std::vector<Layer> walkSlaves(const std::string& dir, bool under_crypt, int depth,
                                std::string* error);
  bool isStacked(const std::string& dir);
  Layer walk(const std::string& dir, bool under_crypt, int depth);
  Layer walkDevice(const std::string& dir, bool under_crypt, int depth);
  void fillPhysical(const std::string& disk_dir, Layer& l);
  void buildIndex();
  StatusOr<std::string> deviceDirForPath(const std::string& path);

  // ---- ZFS datasets, pools and volumes (zfs_linux.cc) -------------------------------------------
  Layer zfsChain(const std::string& dataset, int depth);
  static bool isZvol(const std::string& dir);
  void indexZvols(const std::string& dir, const std::string& dataset, int depth);
  Layer zvolLayer(const std::string& dir, int depth);

  // ---- btrfs and bcachefs members (btrfs_bcachefs_linux.cc) -------------------------------------
  std::string cmdlineRootDevice();
  Layer btrfsChain(const MountEntry& m, int depth);
  Layer btrfsMembers(const std::string& fsid, int depth);
  Layer bcachefsChain(const MountEntry& m, int depth);

  // ---- cipher confirmation of dm devices (cipher_linux.cc) --------------------------------------
  void confirmCipher(const std::string& dm_name, const DmClass& cls, Layer& l);
  static void setCipher(Layer& result, const std::string& cipher, const DmClass& cls);
  void unknownDm(const std::string& dm_name, Layer& l);

  // ---- swap and encrypted home directories (swap_home_linux.cc) ---------------------------------
  void collectSwaps(Facts& facts);
  static void addEncryptedDir(Facts& facts, const std::string& path, const std::string& kind);
  void collectEncryptedHomes(Facts& facts);

  // ---- running the tools (disk_encryption_linux.cc) ---------------------------------------------
  StatusOr<CommandResult> runFirst(const std::vector<std::string>& programs,
                                   const std::vector<std::string>& args);
  bool noRecording(const StatusOr<CommandResult>& r) const;
  static std::string commandLine(const std::string& program, const std::vector<std::string>& args);
  static void setNoRecording(Layer& l, const std::string& what,
                             const std::vector<std::string>& command_lines);

  const SystemView& sys_;
  std::vector<MountEntry> mounts_;
  bool index_built_ = false;
  std::map<std::string, std::string> index_;     // kernel name -> sysfs dir
  std::map<std::string, std::string> dm_names_;  // dm name -> sysfs dir
  std::string index_error_;
  std::map<std::string, Layer> cipher_cache_;
  std::map<std::string, Excluded> removable_;  // targetKey -> entry if on removable media
  bool zvols_built_ = false;
  std::map<std::string, std::string> zvols_;  // zdN -> pool/volume
  std::map<std::string, Layer> walked_;       // (crypt context + sysfs dir) -> its walked layer
  std::set<std::string> walking_;             // sysfs dirs being walked (cycle detection)
};

}  // namespace hearth::checks::disk
