// disk_encryption end to end through a SystemView: the fixture trees of
// tests/fixtures/linux/disk_encryption (through the real RootedSystemView, as `check --root`),
// hand-built FakeSystemView machines for faults, and this machine itself.
#include "disk_encryption/disk_encryption.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/check.h"
#include "hearth/policy.h"
#include "support/programs.h"
#include "support/temp_dir.h"

namespace hearth::checks {
namespace {

using hearth::testing::FakeSystemView;

const std::string kFixtures = std::string(HEARTH_FIXTURES_DIR) + "/linux/disk_encryption/";

CheckResult RunDisk(const SystemView& view) {
  Policy policy;
  policy.enable(kDiskEncryptionCheckId);
  CheckParams params{policy, ""};
  auto r = NewDiskEncryptionCheck()->run(view, params);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return r.ok() ? *r : CheckResult{};
}

CheckResult RunFixture(const std::string& name) {
  auto view = NewRootedSystemView(kFixtures + name);
  EXPECT_TRUE(view.ok()) << view.status().toString();
  if (!view.ok()) return CheckResult{};
  return RunDisk(**view);
}

const json::Value* FindTarget(const CheckResult& r, const std::string& name) {
  const json::Value* targets = r.evidence.find("targets");
  if (targets == nullptr) return nullptr;
  for (const auto& t : targets->asArray()) {
    if (t.find("target")->asString() == name) return &t;
  }
  return nullptr;
}

std::string Chain(const CheckResult& r, const std::string& name) {
  const json::Value* t = FindTarget(r, name);
  return t == nullptr ? "<no target " + name + ">" : t->find("chain")->asString();
}

bool Listed(const CheckResult& r, const char* key, const std::string& name) {
  const json::Value* list = r.evidence.find(key);
  if (list == nullptr) return false;
  for (const auto& e : list->asArray()) {
    const json::Value* v = e.find("target");
    if (v == nullptr) v = e.find("path");
    if (v != nullptr && v->asString() == name) return true;
  }
  return false;
}

// ---- fixture trees: every "Disk" scenario of checks.md §7.3 and more --------------------------

struct Scenario {
  const char* dir;
  Verdict verdict;
  const char* summary;  // expected to be contained in the summary
};

class DiskEncryptionFixtureTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(DiskEncryptionFixtureTest, JudgedAsTheRealLayoutDeserves) {
  const Scenario& s = GetParam();
  CheckResult r = RunFixture(s.dir);
  EXPECT_EQ(verdictName(r.verdict), verdictName(s.verdict)) << s.dir << ": " << r.summary << "\n"
                                                            << json::write(r.evidence, {true});
  EXPECT_NE(r.summary.find(s.summary), std::string::npos) << s.dir << ": " << r.summary;
  if (r.verdict != Verdict::kPass) {
    EXPECT_FALSE(r.remediation.empty()) << s.dir;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, DiskEncryptionFixtureTest,
    ::testing::Values(
        Scenario{"plain_ext4", Verdict::kFail, "Root filesystem / on vda is not encrypted"},
        Scenario{"luks2_direct", Verdict::kPass, "Encrypted: /"},
        Scenario{"luks1", Verdict::kPass, "Encrypted: /"},
        Scenario{"ubuntu_lvm_on_luks", Verdict::kPass, "Encrypted: /, swap /dev/dm-2"},
        Scenario{"dm_major_252", Verdict::kPass, "Encrypted: /, swap /dev/dm-2"},
        Scenario{"dm_major_254", Verdict::kPass, "Encrypted: /, swap /dev/dm-2"},
        Scenario{"luks_on_lvm", Verdict::kPass, "Encrypted: /"},
        Scenario{"lvm_two_pvs_one_plain", Verdict::kFail, "Root filesystem / on sda is not"},
        Scenario{"fedora_btrfs_on_luks", Verdict::kPass, "Encrypted: /, /home"},
        Scenario{"btrfs_multi_device_one_plain", Verdict::kFail,
                 "Root filesystem / on sdb is not encrypted"},
        Scenario{"md_raid1_of_luks", Verdict::kPass, "Encrypted: /"},
        Scenario{"luks_over_md", Verdict::kPass, "Encrypted: /"},
        Scenario{"dm_verity_root", Verdict::kFail, "Root filesystem / on vda2 is not encrypted"},
        Scenario{"dm_integrity_only", Verdict::kFail, "Root filesystem / on sda2 is not encrypted"},
        Scenario{"plain_swap_plain_root", Verdict::kFail,
                 "Root filesystem / on sda2 is not encrypted"},
        Scenario{"zram_swap", Verdict::kPass, "Encrypted: /"},
        Scenario{"plain_swap_partition", Verdict::kFail,
                 "Swap /dev/nvme0n1p3 on nvme0n1p3 is not encrypted"},
        Scenario{"swapfile_on_encrypted_root", Verdict::kPass, "swap /swap.img"},
        Scenario{"separate_plain_home", Verdict::kFail,
                 "Filesystem /home on sda1 is not encrypted"},
        Scenario{"ecryptfs_home_over_fde", Verdict::kPass, "Encrypted: /"},
        Scenario{"ecryptfs_home_plain_root", Verdict::kFail,
                 "Root filesystem / on sda1 is not encrypted; only /home/alice (ecryptfs)"},
        Scenario{"unrelated_encrypted_loop", Verdict::kFail,
                 "Root filesystem / on sda1 is not encrypted"},
        Scenario{"zfs_native", Verdict::kPass, "Encrypted: /, /home/alice"},
        Scenario{"zfs_on_luks", Verdict::kPass, "Encrypted: /"},
        Scenario{"cipher_null", Verdict::kFail, "cipher_null"},
        Scenario{"luks2_not_root", Verdict::kUnknown, "run the check as root"},
        Scenario{"container_overlay_root", Verdict::kUnknown, "container"},
        Scenario{"sysfs_unreadable", Verdict::kUnknown, "/sys/dev/block/259:2"},
        Scenario{"removable_usb", Verdict::kPass, "Encrypted: /"},
        Scenario{"overmounted_root_and_escapes", Verdict::kPass, "Encrypted: /, /srv/My Data"},
        Scenario{"silverblue_composefs_root", Verdict::kPass, "Encrypted: /, /sysroot"},
        Scenario{"usb_system_disk_plain_home", Verdict::kFail,
                 "Filesystem /home on sda3 is not encrypted; also not encrypted: /dev/sda4"},
        Scenario{"overlayroot_luks_lower", Verdict::kPass, "Encrypted: /, /media/root-ro"},
        Scenario{"pi_overlayroot_plain", Verdict::kFail,
                 "Root filesystem / on mmcblk0p2 is not encrypted"},
        Scenario{"dislocker_bitlocker", Verdict::kPass, "Encrypted: /, /mnt/windows"},
        Scenario{"btrfs_dev_root_plain", Verdict::kFail,
                 "Root filesystem / on mmcblk0p2 is not encrypted"},
        Scenario{"loop_image_on_tmpfs", Verdict::kPass, "Encrypted: /"},
        Scenario{"luks2_no_recording", Verdict::kUnknown,
                 "has no recording of `/usr/sbin/cryptsetup --readonly status root`"},
        Scenario{"zfs_native_zvol_swap", Verdict::kPass, "Encrypted: /, /home, swap /dev/zd0"}),
    [](const ::testing::TestParamInfo<Scenario>& p) { return std::string(p.param.dir); });

TEST(DiskEncryptionFixtureDetailTest, UbuntuChainIsShownLayerByLayer) {
  CheckResult r = RunFixture("ubuntu_lvm_on_luks");
  EXPECT_EQ(Chain(r, "/"), "/ ← dm-1 (LVM vgubuntu/root) ← dm-0 (LUKS2) ← nvme0n1p3");
  EXPECT_EQ(Chain(r, "/dev/dm-2"),
            "/dev/dm-2 ← dm-2 (LVM vgubuntu/swap_1) ← dm-0 (LUKS2) ← nvme0n1p3");
  const json::Value* root = FindTarget(r, "/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->find("fstype")->asString(), "ext4");
  EXPECT_EQ(root->find("source")->asString(), "/dev/mapper/vgubuntu-root");
  EXPECT_EQ(root->find("encrypted")->asBool(), true);
  const auto& layers = root->find("layers")->asArray();
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1].find("type")->asString(), "crypt");
  EXPECT_EQ(layers[1].find("cipher")->asString(), "aes-xts-plain64");
  // /boot, the ESP and the snap image are not judged.
  EXPECT_EQ(FindTarget(r, "/boot"), nullptr);
  EXPECT_EQ(FindTarget(r, "/boot/efi"), nullptr);
  EXPECT_EQ(FindTarget(r, "/snap/core22/1380"), nullptr);
  EXPECT_TRUE(Listed(r, "not_judged", "/boot"));
  EXPECT_TRUE(Listed(r, "not_judged", "/boot/efi"));
}

TEST(DiskEncryptionFixtureDetailTest, BootAndEspAreIgnoredEvenWhenPlain) {
  CheckResult r = RunFixture("luks2_direct");
  EXPECT_EQ(r.verdict, Verdict::kPass);
  const json::Value* targets = r.evidence.find("targets");
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_TRUE(Listed(r, "not_judged", "/boot"));
  EXPECT_TRUE(Listed(r, "not_judged", "/boot/efi"));
}

TEST(DiskEncryptionFixtureDetailTest, BtrfsSubvolumesWithAnonymousDevicesFollowTheirMembers) {
  CheckResult r = RunFixture("fedora_btrfs_on_luks");
  EXPECT_EQ(Chain(r, "/"), "/ ← dm-0 (LUKS2) ← nvme0n1p3");
  EXPECT_EQ(Chain(r, "/home"), "/home ← dm-0 (LUKS2) ← nvme0n1p3");
  EXPECT_EQ(FindTarget(r, "/")->find("device_number")->asString(), "0:35");
  EXPECT_TRUE(Listed(r, "not_judged", "/dev/zram0"));
}

TEST(DiskEncryptionFixtureDetailTest, MultiDeviceBtrfsNamesThePlainMember) {
  CheckResult r = RunFixture("btrfs_multi_device_one_plain");
  EXPECT_EQ(Chain(r, "/"), "/ ← btrfs (2 devices) ← [dm-0 (LUKS2) ← sda2 | sdb]");
  EXPECT_EQ(FindTarget(r, "/")->find("unencrypted_device")->asString(), "sdb");
}

TEST(DiskEncryptionFixtureDetailTest, RaidChainsShowEveryMember) {
  EXPECT_EQ(Chain(RunFixture("md_raid1_of_luks"), "/"),
            "/ ← md0 (raid1) ← [dm-0 (LUKS2) ← sda1 | dm-1 (LUKS2) ← sdb1]");
  EXPECT_EQ(Chain(RunFixture("luks_over_md"), "/"),
            "/ ← dm-0 (LUKS2) ← md0 (raid1) ← [sda1 | sdb1]");
  EXPECT_EQ(Chain(RunFixture("luks_on_lvm"), "/"), "/ ← dm-1 (LUKS2) ← dm-0 (LVM vg0/root) ← sda2");
}

TEST(DiskEncryptionFixtureDetailTest, VerityAndIntegritySayWhyTheyAreNotEncryption) {
  CheckResult v = RunFixture("dm_verity_root");
  EXPECT_EQ(Chain(v, "/"), "/ ← dm-0 (verity) ← vda2");
  CheckResult i = RunFixture("dm_integrity_only");
  EXPECT_EQ(Chain(i, "/"), "/ ← dm-0 (integrity) ← sda2");
}

TEST(DiskEncryptionFixtureDetailTest, PlainSwapCryptIsFineButRootIsNot) {
  CheckResult r = RunFixture("plain_swap_plain_root");
  const json::Value* swap = FindTarget(r, "/dev/dm-0");
  ASSERT_NE(swap, nullptr);
  EXPECT_TRUE(swap->find("encrypted")->asBool());
  EXPECT_EQ(swap->find("kind")->asString(), "swap");
  EXPECT_FALSE(FindTarget(r, "/")->find("encrypted")->asBool());
  EXPECT_EQ(r.summary, "Root filesystem / on sda2 is not encrypted");
}

TEST(DiskEncryptionFixtureDetailTest, PlainSwapPartitionRemediationIsAboutSwap) {
  CheckResult r = RunFixture("plain_swap_partition");
  EXPECT_NE(r.remediation.find("crypttab"), std::string::npos) << r.remediation;
  EXPECT_EQ(r.remediation.find("reinstall"), std::string::npos) << r.remediation;
}

TEST(DiskEncryptionFixtureDetailTest, SwapFileTakesTheVerdictOfItsFilesystem) {
  CheckResult r = RunFixture("swapfile_on_encrypted_root");
  EXPECT_EQ(Chain(r, "/swap.img"),
            "/swap.img ← / (ext4) ← dm-1 (LVM vgubuntu/root) ← dm-0 (LUKS2) ← nvme0n1p3");
}

TEST(DiskEncryptionFixtureDetailTest, EncryptedHomesAreNoted) {
  EXPECT_TRUE(Listed(RunFixture("ecryptfs_home_over_fde"), "encrypted_homes", "/home/alice"));
  CheckResult plain = RunFixture("ecryptfs_home_plain_root");
  EXPECT_TRUE(Listed(plain, "encrypted_homes", "/home/alice"));
  EXPECT_EQ(FindTarget(plain, "/home/alice"), nullptr);  // a stacked filesystem, not a target
}

TEST(DiskEncryptionFixtureDetailTest, UnrelatedEncryptedLoopDoesNotRescueThePlainRoot) {
  CheckResult r = RunFixture("unrelated_encrypted_loop");
  EXPECT_EQ(Chain(r, "/"), "/ ← sda1");
  EXPECT_EQ(Chain(r, "/mnt/vault"),
            "/mnt/vault ← dm-0 (LUKS2) ← loop0 (backing /home/bob/vault.img)");
  EXPECT_TRUE(FindTarget(r, "/mnt/vault")->find("encrypted")->asBool());
}

TEST(DiskEncryptionFixtureDetailTest, RemovableUsbIsListedButDoesNotDecide) {
  CheckResult r = RunFixture("removable_usb");
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_TRUE(Listed(r, "removable_media", "/media/alice/KINGSTON"));
  EXPECT_EQ(FindTarget(r, "/media/alice/KINGSTON"), nullptr);
}

TEST(DiskEncryptionFixtureDetailTest, UsbDiskCarryingRootIsNotRemovableMedia) {
  CheckResult r = RunFixture("usb_system_disk_plain_home");
  EXPECT_FALSE(Listed(r, "removable_media", "/home"));
  EXPECT_FALSE(Listed(r, "removable_media", "/dev/sda4"));
  EXPECT_EQ(Chain(r, "/home"), "/home ← sda3");
  EXPECT_EQ(Chain(r, "/dev/sda4"), "/dev/sda4 ← sda4");
  // A USB stick beside an internal root stays removable media (removable_usb).
  CheckResult stick = RunFixture("removable_usb");
  EXPECT_TRUE(Listed(stick, "removable_media", "/media/alice/KINGSTON"));
}

TEST(DiskEncryptionFixtureDetailTest, ZfsChains) {
  EXPECT_EQ(Chain(RunFixture("zfs_native"), "/"),
            "/ ← rpool/ROOT/ubuntu_k3x9q1 (ZFS native aes-256-gcm, root rpool)");
  EXPECT_EQ(Chain(RunFixture("zfs_on_luks"), "/"),
            "/ ← zroot (ZFS pool, no native encryption) ← dm-0 (LUKS2) ← nvme0n1p2");
}

TEST(DiskEncryptionFixtureDetailTest, NotRootAsksToRunAsRoot) {
  CheckResult r = RunFixture("luks2_not_root");
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.remediation.find("as root"), std::string::npos) << r.remediation;
  EXPECT_TRUE(FindTarget(r, "/")->find("encrypted")->isNull());
}

TEST(DiskEncryptionFixtureDetailTest, OstreeOverlayRootIsJudgedBySysroot) {
  CheckResult r = RunFixture("silverblue_composefs_root");
  EXPECT_EQ(Chain(r, "/"), "/ ← /sysroot (btrfs) ← dm-0 (LUKS2) ← nvme0n1p3");
  EXPECT_EQ(Chain(r, "/var"), "/var ← dm-0 (LUKS2) ← nvme0n1p3");
}

TEST(DiskEncryptionFixtureDetailTest, OverlayrootIsJudgedByItsMountedLowerLayer) {
  CheckResult r = RunFixture("overlayroot_luks_lower");
  EXPECT_EQ(Chain(r, "/"), "/ ← /media/root-ro (ext4) ← dm-0 (LUKS2) ← sda2");
  EXPECT_NE(json::write(r.evidence).find("lower layer /media/root-ro"), std::string::npos);
  // Docker's lower dirs are not mount points here: still "agent not on the host".
  EXPECT_EQ(RunFixture("container_overlay_root").verdict, Verdict::kUnknown);
}

TEST(DiskEncryptionFixtureDetailTest, DislockerBitLockerLayerCountsAsEncryption) {
  CheckResult r = RunFixture("dislocker_bitlocker");
  EXPECT_EQ(Chain(r, "/mnt/windows"),
            "/mnt/windows ← loop0 (backing /mnt/dislocker/dislocker-file) ← /mnt/dislocker "
            "(BitLocker via dislocker)");
}

TEST(DiskEncryptionFixtureDetailTest, LoopImageOnTmpfsIsListedAsNotJudged) {
  CheckResult r = RunFixture("loop_image_on_tmpfs");
  EXPECT_EQ(FindTarget(r, "/mnt/scratch"), nullptr);
  EXPECT_TRUE(Listed(r, "not_judged", "/mnt/scratch"));
}

TEST(DiskEncryptionFixtureDetailTest, MissingRecordingIsNotBlamedOnRoot) {
  CheckResult r = RunFixture("luks2_no_recording");
  EXPECT_EQ(r.summary.find("as root"), std::string::npos) << r.summary;
  EXPECT_EQ(r.remediation.find("as root (sudo"), std::string::npos) << r.remediation;
  EXPECT_NE(r.remediation.find("no recording of `/usr/sbin/cryptsetup --readonly status root`"),
            std::string::npos)
      << r.remediation;
  EXPECT_NE(r.remediation.find(".hearth/commands.json"), std::string::npos) << r.remediation;
  // A recorded failure (cryptsetup without root) still asks for root (luks2_not_root).
  EXPECT_NE(RunFixture("luks2_not_root").summary.find("run the check as root"), std::string::npos);
}

TEST(DiskEncryptionFixtureDetailTest, SwapOnZvolIsJudgedByItsDataset) {
  CheckResult r = RunFixture("zfs_native_zvol_swap");
  EXPECT_EQ(Chain(r, "/dev/zd0"),
            "/dev/zd0 ← zd0 (ZFS volume rpool/swap) ← rpool/swap (ZFS native aes-256-gcm, root "
            "rpool)");
}

TEST(DiskEncryptionFixtureDetailTest, ContainerRootIsUnknownWithAdvice) {
  CheckResult r = RunFixture("container_overlay_root");
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.remediation.find("not inside a container"), std::string::npos) << r.remediation;
}

// --- fscrypt: a --root tree cannot carry STATX_ATTR_ENCRYPTED, so overlay it on one path -------

class StatOverlayView : public SystemView {
 public:
  StatOverlayView(const SystemView& inner, std::string path, FileInfo info)
      : inner_(inner), path_(std::move(path)), info_(info) {}
  StatusOr<std::string> readFile(const std::string& p, size_t l, bool t) const override {
    return inner_.readFile(p, l, t);
  }
  StatusOr<std::string> readFileAs(const UserIdentity& u, const std::string& p,
                                   size_t l) const override {
    return inner_.readFileAs(u, p, l);
  }
  StatusOr<std::vector<std::string>> listDir(const std::string& p) const override {
    return inner_.listDir(p);
  }
  StatusOr<std::string> readLink(const std::string& p) const override { return inner_.readLink(p); }
  StatusOr<FileInfo> stat(const std::string& p, bool follow) const override {
    if (p == path_) return info_;
    return inner_.stat(p, follow);
  }
  StatusOr<CommandResult> run(const Command& c) const override { return inner_.run(c); }
  StatusOr<RouteInfo> routeTo(const IpAddress& d) const override { return inner_.routeTo(d); }
  std::chrono::system_clock::time_point now() const override { return inner_.now(); }
  bool isRooted() const override { return inner_.isRooted(); }

 private:
  const SystemView& inner_;
  std::string path_;
  FileInfo info_;
};

TEST(DiskEncryptionFscryptTest, FscryptHomeOnPlainRootFailsForRootWithHomeNoted) {
  auto tree = NewRootedSystemView(kFixtures + "fscrypt_home_plain_root");
  ASSERT_TRUE(tree.ok());
  FileInfo enc;
  enc.type = FileType::kDirectory;
  enc.encryption_attr_known = true;
  enc.encrypted = true;
  StatOverlayView view(**tree, "/home/alice", enc);
  CheckResult r = RunDisk(view);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_TRUE(r.summary.starts_with("Root filesystem / on vda is not encrypted")) << r.summary;
  EXPECT_TRUE(Listed(r, "encrypted_homes", "/home/alice"));
  EXPECT_NE(json::write(r.evidence).find("fscrypt"), std::string::npos);
  // Without the attribute the same tree is a plain fail with nothing noted.
  CheckResult bare = RunDisk(**tree);
  EXPECT_FALSE(Listed(bare, "encrypted_homes", "/home/alice"));
}

// --- the agent binary with --root -------------------------------------------------------------

TEST(DiskEncryptionCliTest, AgentCheckRootJudgesAFixtureTree) {
  hearth::testing::TempDir tmp;
  std::string policy = tmp.write(
      "policy.json",
      R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true}}})");
  auto fail = hearth::testing::RunProcess({hearth::testing::AgentProgram(), "check", "--json",
                                           "--policy", policy, "--root", kFixtures + "plain_ext4"});
  EXPECT_EQ(fail.exit_code, 1) << fail.err;
  EXPECT_NE(fail.out.find("Root filesystem / on vda is not encrypted"), std::string::npos)
      << fail.out;
  auto pass =
      hearth::testing::RunProcess({hearth::testing::AgentProgram(), "check", "--json", "--policy",
                                   policy, "--root", kFixtures + "ubuntu_lvm_on_luks"});
  EXPECT_EQ(pass.exit_code, 0) << pass.out << pass.err;
}

// --- FakeSystemView machines: faults and tool fallbacks ---------------------------------------

// A VM with / on dm-0 (LUKS2) over vda2.
void LuksVm(FakeSystemView& v) {
  v.addFile("/proc/self/mountinfo", "27 1 252:0 / / rw - ext4 /dev/mapper/root rw\n");
  v.addFile("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
  v.addSymlink("/sys/dev/block/252:0", "../../devices/virtual/block/dm-0");
  v.addSymlink("/sys/dev/block/254:2", "../../devices/pci0000:00/virtio1/block/vda/vda2");
  v.addFile("/sys/devices/virtual/block/dm-0/dm/name", "root\n");
  v.addFile("/sys/devices/virtual/block/dm-0/dm/uuid", "CRYPT-LUKS2-0123456789abcdef-root\n");
  v.addSymlink("/sys/devices/virtual/block/dm-0/slaves/vda2",
               "../../../../pci0000:00/virtio1/block/vda/vda2");
  v.addFile("/sys/devices/pci0000:00/virtio1/block/vda/vda2/partition", "2\n");
  v.addFile("/sys/devices/pci0000:00/virtio1/block/vda/removable", "0\n");
}

CommandResult Out(std::string out, int exit = 0, std::string err = "") {
  CommandResult r;
  r.exit_code = exit;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

TEST(DiskEncryptionFakeTest, CryptsetupUnderSbinIsUsedWhenUsrSbinIsMissing) {
  FakeSystemView v;
  LuksVm(v);
  v.addCommandError({"/usr/sbin/cryptsetup", "--readonly", "status", "root"},
                    NotFoundError("no such file"));
  v.addCommand({"/sbin/cryptsetup", "--readonly", "status", "root"},
               Out("/dev/mapper/root is active.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Chain(r, "/"), "/ ← dm-0 (LUKS2) ← vda2");
}

TEST(DiskEncryptionFakeTest, DmsetupTableConfirmsWhenCryptsetupIsNotInstalled) {
  FakeSystemView v;
  LuksVm(v);
  v.addCommand({"/usr/sbin/dmsetup", "table", "root"},
               Out("0 41940992 crypt aes-xts-plain64 :64:logon:cryptsetup:x-d0 0 254:2 32768\n"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  for (const Command& c : v.commandsRun()) {
    for (const auto& a : c.argv) EXPECT_NE(a, "--showkeys");
  }
}

TEST(DiskEncryptionFakeTest, DmsetupCipherNullFails) {
  FakeSystemView v;
  LuksVm(v);
  v.addCommand({"/usr/sbin/dmsetup", "table", "root"},
               Out("0 2048 crypt cipher_null-ecb - 0 254:2 4096\n"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("cipher_null"), std::string::npos);
}

TEST(DiskEncryptionFakeTest, NoToolAtAllIsUnknownNeverPass) {
  FakeSystemView v;
  LuksVm(v);
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("run the check as root"), std::string::npos) << r.summary;
}

TEST(DiskEncryptionFakeTest, UnreadableSysfsIsUnknown) {
  FakeSystemView v;
  LuksVm(v);
  v.failPath("/sys/devices/virtual/block/dm-0",
             PermissionDeniedError("open /sys/devices/virtual/block/dm-0: Permission denied"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("sysfs unreadable"), std::string::npos) << r.summary;
}

TEST(DiskEncryptionFakeTest, UninspectableDeviceIsUnknownNotAPlainDisk) {
  FakeSystemView v;
  LuksVm(v);
  v.failPath("/sys/devices/virtual/block/dm-0/dm", PermissionDeniedError("stat dm: denied"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
  EXPECT_NE(r.summary.find("sysfs unreadable"), std::string::npos) << r.summary;
}

TEST(DiskEncryptionFakeTest, UnreadableMountinfoIsUnknown) {
  FakeSystemView v;
  v.failPath("/proc/self/mountinfo", PermissionDeniedError("denied"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("mountinfo"), std::string::npos);
}

TEST(DiskEncryptionFakeTest, ZfsToolMissingIsUnknown) {
  FakeSystemView v;
  v.addFile("/proc/self/mountinfo", "27 1 0:26 / / rw - zfs rpool/ROOT/ubuntu rw,xattr\n");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.remediation.find("zfsutils"), std::string::npos) << r.remediation;
}

TEST(DiskEncryptionFakeTest, ZfsNativeWithEncryptionOffFallsBackToPlainVdevs) {
  FakeSystemView v;
  v.addFile("/proc/self/mountinfo", "27 1 0:26 / / rw - zfs rpool/ROOT/ubuntu rw,xattr\n");
  v.addCommand({"/usr/sbin/zfs", "get", "-H", "-o", "name,property,value",
                "encryption,keystatus,encryptionroot", "rpool/ROOT/ubuntu"},
               Out("rpool/ROOT/ubuntu\tencryption\toff\n"));
  v.addCommand(
      {"/usr/sbin/zpool", "status", "-P", "rpool"},
      Out("config:\n\trpool ONLINE 0 0 0\n\t  /dev/disk/by-id/ata-X-part4 ONLINE 0 0 0\n"));
  v.addSymlink("/dev/disk/by-id/ata-X-part4", "../../sda4");
  v.addSymlink("/sys/dev/block/8:4", "../../devices/ata1/block/sda/sda4");
  v.addFile("/sys/devices/ata1/block/sda/sda4/partition", "4\n");
  v.addFile("/sys/devices/ata1/block/sda/removable", "0\n");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.summary;
  EXPECT_EQ(r.summary, "Root filesystem / on sda4 is not encrypted");
}

TEST(DiskEncryptionFakeTest, LoopBackedMountTakesTheVerdictOfTheBackingFilesystem) {
  FakeSystemView v;
  LuksVm(v);
  v.addCommand({"/usr/sbin/cryptsetup", "--readonly", "status", "root"},
               Out("/dev/mapper/root is active.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n"));
  v.addFile("/proc/self/mountinfo",
            "27 1 252:0 / / rw - ext4 /dev/mapper/root rw\n"
            "40 27 7:0 / /srv/data rw - ext4 /dev/loop0 rw\n");
  v.addSymlink("/sys/dev/block/7:0", "../../devices/virtual/block/loop0");
  v.addFile("/sys/devices/virtual/block/loop0/loop/backing_file", "/var/images/data.img\n");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Chain(r, "/srv/data"),
            "/srv/data ← loop0 (backing /var/images/data.img) ← / (ext4) ← dm-0 (LUKS2) ← vda2");
}

TEST(DiskEncryptionFakeTest, DmWithoutUuidIsDecidedByItsTable) {
  FakeSystemView v;
  v.addFile("/proc/self/mountinfo", "27 1 253:5 / / rw - ext4 /dev/mapper/custom rw\n");
  v.addSymlink("/sys/dev/block/253:5", "../../devices/virtual/block/dm-5");
  v.addFile("/sys/devices/virtual/block/dm-5/dm/name", "custom\n");
  v.addFile("/sys/devices/virtual/block/dm-5/dm/uuid", "");
  v.addSymlink("/sys/devices/virtual/block/dm-5/slaves/sda1", "../../../../ata1/block/sda/sda1");
  v.addFile("/sys/devices/ata1/block/sda/sda1/partition", "1\n");
  CheckResult unknown = RunDisk(v);
  EXPECT_EQ(unknown.verdict, Verdict::kUnknown) << unknown.summary;
  v.addCommand({"/usr/sbin/dmsetup", "table", "custom"}, Out("0 2048 linear 8:1 0\n"));
  CheckResult plain = RunDisk(v);
  EXPECT_EQ(plain.verdict, Verdict::kFail) << plain.summary;
  EXPECT_EQ(plain.summary, "Root filesystem / on sda1 is not encrypted");
}

TEST(DiskEncryptionFakeTest, SwapFileOnPlainVarFails) {
  FakeSystemView v;
  LuksVm(v);
  v.addCommand({"/usr/sbin/cryptsetup", "--readonly", "status", "root"},
               Out("/dev/mapper/root is active.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n"));
  v.addFile("/proc/self/mountinfo",
            "27 1 252:0 / / rw - ext4 /dev/mapper/root rw\n"
            "30 27 8:1 / /var rw - xfs /dev/sda1 rw\n");
  v.addFile("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/var/swapfile file 1024 0 -2\n");
  v.addSymlink("/sys/dev/block/8:1", "../../devices/ata1/block/sda/sda1");
  v.addFile("/sys/devices/ata1/block/sda/sda1/partition", "1\n");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary,
            "Filesystem /var on sda1 is not encrypted; also not encrypted: /var/swapfile");
  EXPECT_EQ(Chain(r, "/var/swapfile"), "/var/swapfile ← /var (xfs) ← sda1");
  EXPECT_NE(r.remediation.find("swap file /var/swapfile"), std::string::npos) << r.remediation;
}

TEST(DiskEncryptionFakeTest, OpalHardwareOnlyCountsAsEncrypted) {
  FakeSystemView v;
  LuksVm(v);
  v.addFile("/sys/devices/virtual/block/dm-0/dm/uuid", "CRYPT-LUKS2-OPAL-0123456789abcdef-root\n");
  v.addCommand({"/usr/sbin/dmsetup", "table", "root"}, Out("0 41940992 linear 254:2 32768\n"));
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Chain(r, "/"), "/ ← dm-0 (LUKS2 OPAL) ← vda2");
}

TEST(DiskEncryptionFakeTest, BcachefsOnPlainDevicesIsUnknownNotFail) {
  FakeSystemView v;
  v.addFile("/proc/self/mountinfo", "27 1 0:30 / / rw - bcachefs /dev/sda1:/dev/sdb1 rw\n");
  v.addSymlink("/sys/dev/block/8:1", "../../devices/ata1/block/sda/sda1");
  v.addFile("/sys/devices/ata1/block/sda/sda1/partition", "1\n");
  v.addSymlink("/sys/dev/block/8:17", "../../devices/ata2/block/sdb/sdb1");
  v.addFile("/sys/devices/ata2/block/sdb/sdb1/partition", "1\n");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
  EXPECT_EQ(Chain(r, "/"), "/ ← bcachefs (2 device(s)) ← [sda1 | sdb1]");
}

TEST(DiskEncryptionFakeTest, LoggedOutEcryptfsHomeIsNotedAndNetworkHomeNotJudged) {
  FakeSystemView v;
  LuksVm(v);
  v.addCommand({"/usr/sbin/cryptsetup", "--readonly", "status", "root"},
               Out("/dev/mapper/root is active.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n"));
  v.addFile("/proc/self/mountinfo",
            "27 1 252:0 / / rw - ext4 /dev/mapper/root rw\n"
            "31 27 0:50 / /home/carol rw - nfs4 fs.example:/home/carol rw,vers=4.2\n"
            "32 27 8:1 / /recovery rw - vfat /dev/sda1 rw\n");
  v.addFile("/home/.ecryptfs/bob/.Private/ECRYPTFS_FNEK_ENCRYPTED.x", "c");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_TRUE(Listed(r, "encrypted_homes", "/home/bob"));
  EXPECT_TRUE(Listed(r, "not_judged", "/home/carol"));
  EXPECT_TRUE(Listed(r, "not_judged", "/recovery"));
}

// A kernel-mounted btrfs root (source /dev/root) on a machine with two btrfs filesystems: the
// only-fsid fallback does not apply, root= of /proc/cmdline names the device.
TEST(DiskEncryptionFakeTest, BtrfsDevRootFollowsCmdlineRootWhenSeveralFilesystems) {
  FakeSystemView v;
  v.addFile("/proc/self/mountinfo",
            "21 1 0:21 / / rw - btrfs /dev/root rw,subvol=/\n"
            "30 21 0:40 / /data rw - btrfs /dev/sdb1 rw,subvol=/\n");
  v.addSymlink("/sys/dev/block/8:1", "../../devices/ata1/block/sda/sda1");
  v.addFile("/sys/devices/ata1/block/sda/sda1/partition", "1\n");
  v.addSymlink("/sys/dev/block/8:17", "../../devices/ata2/block/sdb/sdb1");
  v.addFile("/sys/devices/ata2/block/sdb/sdb1/partition", "1\n");
  v.addSymlink("/sys/fs/btrfs/aaaa/devices/sda1", "../../../../devices/ata1/block/sda/sda1");
  v.addSymlink("/sys/fs/btrfs/bbbb/devices/sdb1", "../../../../devices/ata2/block/sdb/sdb1");
  CheckResult unknown = RunDisk(v);
  EXPECT_EQ(unknown.verdict, Verdict::kFail) << unknown.summary;  // /data on sdb1 fails
  EXPECT_EQ(FindTarget(unknown, "/")->find("status")->asString(), "unknown");
  v.addFile("/proc/cmdline", "root=/dev/sda1 rootfstype=btrfs rootwait\n");
  CheckResult r = RunDisk(v);
  EXPECT_EQ(Chain(r, "/"), "/ ← sda1");
  EXPECT_TRUE(r.summary.starts_with("Root filesystem / on sda1 is not encrypted")) << r.summary;
}

TEST(DiskEncryptionFakeTest, SlavesCycleEndsUnknownInsteadOfHanging) {
  // Not a real kernel layout: four LVM devices that each list all four as slaves. Without a
  // visited set the walk is 4^16 deep-first visits (minutes); it must end at once, unknown.
  FakeSystemView v;
  v.addFile("/proc/self/mountinfo", "27 1 253:0 / / rw - ext4 /dev/mapper/vg-lv0 rw\n");
  for (int i = 0; i < 4; ++i) {
    std::string dir = "/sys/devices/virtual/block/dm-" + std::to_string(i);
    v.addSymlink("/sys/dev/block/253:" + std::to_string(i),
                 "../../devices/virtual/block/dm-" + std::to_string(i));
    v.addFile(dir + "/dm/name", "vg-lv" + std::to_string(i) + "\n");
    v.addFile(dir + "/dm/uuid", "LVM-" + std::string(64, 'c') + std::to_string(i) + "\n");
    for (int j = 0; j < 4; ++j) {
      v.addSymlink(dir + "/slaves/dm-" + std::to_string(j), "../../dm-" + std::to_string(j));
    }
  }
  CheckResult r = RunDisk(v);
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
  EXPECT_NE(r.summary.find("slaves/ cycle"), std::string::npos) << r.summary;
}

// --- this machine -----------------------------------------------------------------------------

TEST(DiskEncryptionLiveTest, ThisMachineIsJudgedFromItsRealMountsAndSysfs) {
  auto view = NewLiveSystemView();
  CheckResult r = RunDisk(*view);
  const json::Value* root = FindTarget(r, "/");
  ASSERT_NE(root, nullptr) << json::write(r.evidence, {true});
  std::string fstype = root->find("fstype")->asString();
  if (fstype == "overlay" || fstype == "tmpfs" || root->find("encrypted")->isNull()) {
    EXPECT_NE(r.verdict, Verdict::kPass);
    GTEST_SKIP() << "root is " << fstype << " (container or unknown layout): " << r.summary;
  }
  std::string chain = root->find("chain")->asString();
  if (root->find("encrypted")->asBool()) {
    EXPECT_NE(chain.find("LUKS"), std::string::npos) << chain;
    EXPECT_NE(r.verdict, Verdict::kFail) << r.summary;  // something else may still be unknown
    return;
  }
  // This Debian 12 VM: unencrypted ext4 on vda.
  EXPECT_EQ(r.verdict, Verdict::kFail);
  std::string dev = root->find("unencrypted_device")->asString();
  EXPECT_FALSE(dev.empty());
  EXPECT_NE(r.summary.find("Root filesystem / on " + dev + " is not encrypted"), std::string::npos)
      << r.summary;
  EXPECT_TRUE(chain.starts_with("/ ← ")) << chain;
}

}  // namespace
}  // namespace hearth::checks
