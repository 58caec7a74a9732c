// Pure parts of disk_encryption: parsers on captured real-shaped outputs, dm uuid classification,
// chain strings and the decision's wording.
#include <gtest/gtest.h>

#include "disk_encryption/disk_encryption.h"

namespace hearth::checks::disk {
namespace {

TEST(DiskEncryptionParseTest, MountInfoDecodesEscapesAndOptionalFields) {
  const char* text =
      "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
      "48 27 0:41 / /mnt/My\\040Disk rw,relatime shared:40 master:2 - btrfs /dev/loop0 "
      "rw,space_cache=v2,subvolid=5,subvol=/\n"
      "60 27 0:55 /home /srv/tab\\011dir\\134x rw - ext4 /dev/sdb\\0401 rw\n";
  auto mounts = parseMountInfo(text);
  ASSERT_TRUE(mounts.ok()) << mounts.status().toString();
  ASSERT_EQ(mounts->size(), 3u);
  EXPECT_EQ((*mounts)[0].major, 254u);
  EXPECT_EQ((*mounts)[0].minor, 0u);
  EXPECT_EQ((*mounts)[0].fstype, "ext4");
  EXPECT_EQ((*mounts)[0].source, "/dev/vda");
  EXPECT_EQ((*mounts)[1].mount_point, "/mnt/My Disk");
  EXPECT_EQ((*mounts)[1].major, 0u);
  EXPECT_EQ((*mounts)[1].minor, 41u);
  EXPECT_EQ((*mounts)[1].fstype, "btrfs");
  EXPECT_EQ((*mounts)[1].super_options, "rw,space_cache=v2,subvolid=5,subvol=/");
  EXPECT_EQ((*mounts)[2].mount_point, "/srv/tab\tdir\\x");
  EXPECT_EQ((*mounts)[2].root, "/home");
  EXPECT_EQ((*mounts)[2].source, "/dev/sdb 1");
}

TEST(DiskEncryptionParseTest, MountInfoRejectsMalformedLineNamingIt) {
  auto r = parseMountInfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n28 27 bad / /x rw - ext4 a b\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
}

TEST(DiskEncryptionParseTest, OvermountedRootTakesTheLastEntry) {
  auto mounts = parseMountInfo(
      "20 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "21 20 0:5 / /proc rw - proc proc rw\n"
      "30 20 253:0 / / rw - ext4 /dev/mapper/root rw\n");
  ASSERT_TRUE(mounts.ok());
  auto visible = visibleMounts(*mounts);
  ASSERT_EQ(visible.size(), 2u);
  EXPECT_EQ(visible[0].mount_point, "/proc");
  EXPECT_EQ(visible[1].mount_point, "/");
  EXPECT_EQ(visible[1].source, "/dev/mapper/root");
}

TEST(DiskEncryptionParseTest, ProcSwapsPartitionsFilesAndEscapes) {
  auto swaps = parseProcSwaps(
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/dm-2                               partition\t999420\t\t0\t\t-2\n"
      "/swap\\040file                           file\t\t2097148\t\t0\t\t-3\n"
      "/dev/zram0                              partition\t8388604\t\t0\t\t100\n");
  ASSERT_EQ(swaps.size(), 3u);
  EXPECT_EQ(swaps[0].filename, "/dev/dm-2");
  EXPECT_EQ(swaps[0].type, "partition");
  EXPECT_EQ(swaps[1].filename, "/swap file");
  EXPECT_EQ(swaps[1].type, "file");
  EXPECT_EQ(swaps[2].filename, "/dev/zram0");
  EXPECT_TRUE(parseProcSwaps("Filename Type Size Used Priority\n").empty());
}

TEST(DiskEncryptionParseTest, CryptsetupStatusLuks2) {
  auto st = parseCryptsetupStatus(
      "/dev/mapper/nvme0n1p3_crypt is active and is in use.\n"
      "  type:    LUKS2\n  cipher:  aes-xts-plain64\n  keysize: 512 bits\n"
      "  key location: keyring\n  device:  /dev/nvme0n1p3\n  sector size:  512\n"
      "  offset:  32768 sectors\n  size:    997163008 sectors\n  mode:    read/write\n"
      "  flags:   discards \n");
  EXPECT_TRUE(st.active);
  EXPECT_EQ(st.type, "LUKS2");
  EXPECT_EQ(st.cipher, "aes-xts-plain64");
  EXPECT_FALSE(isNullCipher(st.cipher));
}

TEST(DiskEncryptionParseTest, CryptsetupStatusCipherNullAndInactive) {
  auto st = parseCryptsetupStatus(
      "/dev/mapper/x is active.\n  type:    LUKS1\n  cipher:  cipher_null-ecb\n"
      "  keysize: 0 bits\n  key location: dm-crypt\n  device:  /dev/sda2\n");
  EXPECT_TRUE(st.active);
  EXPECT_EQ(st.cipher, "cipher_null-ecb");
  EXPECT_TRUE(isNullCipher(st.cipher));
  EXPECT_FALSE(parseCryptsetupStatus("/dev/mapper/x is inactive.\n").active);
  EXPECT_FALSE(parseCryptsetupStatus("Device sdc3 not found\n").active);
}

TEST(DiskEncryptionParseTest, DmsetupTableReadsTargetsAndCipherNeverKeys) {
  auto segs = parseDmsetupTable(
      "0 41940992 crypt aes-xts-plain64 :64:logon:cryptsetup:3f9c-d0 0 8:2 4096 1 "
      "allow_discards\n");
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].target, "crypt");
  EXPECT_EQ(segs[0].cipher, "aes-xts-plain64");
  auto null_seg = parseDmsetupTable("0 2048 crypt capi:ecb(cipher_null)-plain 0 0 8:2 0\n");
  ASSERT_EQ(null_seg.size(), 1u);
  EXPECT_TRUE(isNullCipher(null_seg[0].cipher));
  auto lin = parseDmsetupTable("0 1000 linear 8:2 2048\n1000 500 linear 8:3 0\n");
  ASSERT_EQ(lin.size(), 2u);
  EXPECT_EQ(lin[1].target, "linear");
  EXPECT_TRUE(lin[1].cipher.empty());
}

TEST(DiskEncryptionParseTest, ZfsGetNativeAndOff) {
  auto z = parseZfsGet(
      "rpool/ROOT/ubuntu_k3x9q1\tencryption\taes-256-gcm\n"
      "rpool/ROOT/ubuntu_k3x9q1\tkeystatus\tavailable\n"
      "rpool/ROOT/ubuntu_k3x9q1\tencryptionroot\trpool\n");
  EXPECT_EQ(z.dataset, "rpool/ROOT/ubuntu_k3x9q1");
  EXPECT_EQ(z.encryption, "aes-256-gcm");
  EXPECT_EQ(z.keystatus, "available");
  EXPECT_EQ(z.encryption_root, "rpool");
  auto off = parseZfsGet("zroot/ROOT/default\tencryption\toff\nzroot/ROOT/default\tkeystatus\t-\n");
  EXPECT_EQ(off.encryption, "off");
}

TEST(DiskEncryptionParseTest, ZpoolStatusAndListDevices) {
  auto devs = parseZpoolDevices(
      "  pool: rpool\n state: ONLINE\nconfig:\n\n"
      "\tNAME                                                 STATE     READ WRITE CKSUM\n"
      "\trpool                                                ONLINE       0     0     0\n"
      "\t  mirror-0                                           ONLINE       0     0     0\n"
      "\t    /dev/mapper/luks-a                               ONLINE       0     0     0\n"
      "\t    /dev/disk/by-id/nvme-Samsung_SSD_980-part4       ONLINE       0     0     0\n"
      "\tcache\n"
      "\t  /dev/sdc1                                          ONLINE       0     0     0\n\n"
      "errors: No known data errors\n");
  ASSERT_EQ(devs.size(), 3u);
  EXPECT_EQ(devs[0], "/dev/mapper/luks-a");
  EXPECT_EQ(devs[1], "/dev/disk/by-id/nvme-Samsung_SSD_980-part4");
  EXPECT_EQ(devs[2], "/dev/sdc1");
  auto list = parseZpoolDevices(
      "rpool\t476G\t120G\t356G\t-\t-\t5%\t25%\t1.00x\tONLINE\t-\n"
      "\t/dev/mapper/cryptroot\t476G\t120G\t356G\t-\t-\t5%\t25.2%\t-\tONLINE\n");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], "/dev/mapper/cryptroot");
}

TEST(DiskEncryptionClassifyTest, CryptPrefixesAreEncryption) {
  for (const char* u :
       {"CRYPT-LUKS1-00000000000000000000000000000000-sda5_crypt",
        "CRYPT-LUKS2-3f9c2b7e41d84a6f3f9c2b7e41d84a6f-nvme0n1p3_crypt", "CRYPT-PLAIN-cryptswap",
        "CRYPT-BITLK-abc-win", "CRYPT-TCRYPT-vc", "CRYPT-LOOPAES-x", "CRYPT-FVAULT2-mac"}) {
    EXPECT_EQ(classifyDmUuid(u).role, DmRole::kEncryption) << u;
  }
  auto opal = classifyDmUuid("CRYPT-LUKS2-OPAL-0123-root");
  EXPECT_EQ(opal.role, DmRole::kEncryption);
  EXPECT_TRUE(opal.opal);
  EXPECT_EQ(classifyDmUuid("CRYPT-LUKS2-0123-root").label, "LUKS2");
}

TEST(DiskEncryptionClassifyTest, VerityIntegrityLvmAndFriendsPassThrough) {
  EXPECT_EQ(classifyDmUuid("CRYPT-VERITY-abc-root").role, DmRole::kPassThrough);
  EXPECT_EQ(classifyDmUuid("CRYPT-VERITY-abc-root").label, "verity");
  EXPECT_EQ(classifyDmUuid("CRYPT-INTEGRITY-abc-integ").role, DmRole::kPassThrough);
  EXPECT_EQ(classifyDmUuid("CRYPT-SUBDEV-abc-x_dif").role, DmRole::kPassThrough);
  EXPECT_EQ(classifyDmUuid("LVM-abcdefabcdef").label, "LVM");
  EXPECT_EQ(classifyDmUuid("mpath-3600508b400105e210000900000490000").role, DmRole::kPassThrough);
  EXPECT_EQ(classifyDmUuid("part1-mpath-3600508b4").role, DmRole::kPassThrough);
}

TEST(DiskEncryptionClassifyTest, NoUuidOrUnknownPrefixIsUnknown) {
  EXPECT_EQ(classifyDmUuid("").role, DmRole::kUnknown);
  EXPECT_EQ(classifyDmUuid("\n").role, DmRole::kUnknown);
  EXPECT_EQ(classifyDmUuid("CRYPT-TEMP-x").role, DmRole::kUnknown);
  EXPECT_EQ(classifyDmUuid("STRATIS-abc").role, DmRole::kUnknown);
  EXPECT_EQ(classifyDmUuid("partX-abc").role, DmRole::kUnknown);
}

Layer leaf(std::string dev, Tri e) {
  Layer l;
  l.device = std::move(dev);
  l.type = "partition";
  l.encrypted = e;
  return l;
}

TEST(DiskEncryptionChainTest, LinearAndBranchedChains) {
  Layer crypt;
  crypt.device = "dm-0";
  crypt.detail = "LUKS2";
  crypt.lower.push_back(leaf("nvme0n1p3", Tri::kNo));
  Layer lvm;
  lvm.device = "dm-1";
  lvm.detail = "LVM vg/root";
  lvm.lower.push_back(crypt);
  EXPECT_EQ("/ \u2190 " + chainString(lvm), "/ ← dm-1 (LVM vg/root) ← dm-0 (LUKS2) ← nvme0n1p3");
  Layer md;
  md.device = "md0";
  md.detail = "raid1";
  md.lower = {leaf("sda1", Tri::kNo), leaf("sdb1", Tri::kNo)};
  EXPECT_EQ(chainString(md), "md0 (raid1) ← [sda1 | sdb1]");
}

Target target(TargetKind kind, std::string name, Tri e, std::string plain = "") {
  Target t;
  t.kind = kind;
  t.name = std::move(name);
  t.fstype = kind == TargetKind::kSwap ? "partition" : "ext4";
  t.encrypted = e;
  t.plain_device = std::move(plain);
  t.reason = e == Tri::kYes ? "" : "because";
  return t;
}

TEST(DiskEncryptionDecideTest, AllEncryptedPasses) {
  Facts f;
  f.targets = {target(TargetKind::kRoot, "/", Tri::kYes),
               target(TargetKind::kSwap, "/dev/dm-2", Tri::kYes)};
  CheckResult r = decide(f);
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_TRUE(r.remediation.empty());
  const json::Value* targets = r.evidence.find("targets");
  ASSERT_NE(targets, nullptr);
  EXPECT_EQ(targets->size(), 2u);
}

TEST(DiskEncryptionDecideTest, AnyPlainTargetFailsEvenWithUnknownOthers) {
  Facts f;
  f.targets = {target(TargetKind::kRoot, "/", Tri::kUnknown),
               target(TargetKind::kMount, "/home", Tri::kNo, "sda1")};
  CheckResult r = decide(f);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "Filesystem /home on sda1 is not encrypted");
  EXPECT_NE(r.remediation.find("/home"), std::string::npos);
}

TEST(DiskEncryptionDecideTest, UnknownIsNeverPass) {
  Facts f;
  f.targets = {target(TargetKind::kRoot, "/", Tri::kYes),
               target(TargetKind::kSwap, "/dev/sda3", Tri::kUnknown)};
  CheckResult r = decide(f);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("/dev/sda3"), std::string::npos);
  EXPECT_FALSE(r.remediation.empty());
  EXPECT_TRUE(r.evidence.find("targets")->asArray()[1].find("encrypted")->isNull());
}

TEST(DiskEncryptionDecideTest, NoTargetsIsUnknown) {
  EXPECT_EQ(decide(Facts{}).verdict, Verdict::kUnknown);
}

TEST(DiskEncryptionDecideTest, SwapRemediationExplainsHowToEncryptSwap) {
  Facts f;
  f.targets = {target(TargetKind::kRoot, "/", Tri::kYes),
               target(TargetKind::kSwap, "/dev/sda3", Tri::kNo, "sda3")};
  CheckResult r = decide(f);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "Swap /dev/sda3 on sda3 is not encrypted");
  EXPECT_NE(r.remediation.find("/etc/crypttab"), std::string::npos);
  EXPECT_NE(r.remediation.find("swapoff"), std::string::npos);
}

TEST(DiskEncryptionDecideTest, RootRemediationSaysReinstallAndBackUp) {
  Facts f;
  f.targets = {target(TargetKind::kRoot, "/", Tri::kNo, "vda")};
  f.encrypted_homes.push_back({"/home/alice", "fscrypt"});
  CheckResult r = decide(f);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_TRUE(r.summary.starts_with("Root filesystem / on vda is not encrypted")) << r.summary;
  EXPECT_NE(r.summary.find("/home/alice (fscrypt)"), std::string::npos);
  EXPECT_NE(r.remediation.find("Back up your files"), std::string::npos) << r.remediation;
  EXPECT_NE(r.remediation.find("IT support"), std::string::npos);
  EXPECT_NE(r.remediation.find("home directory is not enough"), std::string::npos);
}

}  // namespace
}  // namespace hearth::checks::disk
