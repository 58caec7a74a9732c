// Generated layouts: device stacks composed from crypt, LVM, verity, integrity, md and loop layers,
// written as sysfs trees by SysfsBuilder, run through RootedSystemView, for every device-mapper
// major in use (252, 253, 254). / is encrypted exactly when every path from it down to a disk
// crosses a crypt layer with a real cipher.
#include <filesystem>
#include <functional>
#include <memory>
#include <stdlib.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "disk_encryption/disk_encryption.h"
#include "hearth/check.h"
#include "hearth/policy.h"
#include "support/sysfs_builder.h"
#include "support/temp_dir.h"

namespace hearth::checks {
namespace {

using hearth::testing::SysfsBuilder;

// Names and numbers devices as the kernel would: sda, sdb, ... (8:16k), dm-N (MAJOR:N).
class Stack {
 public:
  Stack(SysfsBuilder& b, int dm_major) : b_(b), dm_major_(dm_major) {}

  std::string part() {
    std::string disk = std::string("sd") + static_cast<char>('a' + disks_);
    std::string major_minor = "8:" + std::to_string(16 * disks_);
    b_.disk(disk, major_minor);
    std::string p = disk + "1";
    b_.part(disk, p, "8:" + std::to_string(16 * disks_ + 1), 1);
    ++disks_;
    numbers_.emplace_back(p, "8:" + std::to_string(16 * (disks_ - 1) + 1));
    return p;
  }
  std::string crypt(const std::string& lower, const std::string& cipher = "aes-xts-plain64") {
    std::string name = "c" + std::to_string(dms_);
    std::string dev = dm(name, "CRYPT-LUKS2-0123456789abcdef0123456789abcdef-" + name, {lower});
    b_.luksStatus(name, cipher);
    return dev;
  }
  std::string lvm(const std::vector<std::string>& lower) {
    return dm("vg-lv" + std::to_string(dms_), "LVM-" + std::string(64, 'x') + std::to_string(dms_),
              lower);
  }
  std::string verity(const std::string& lower) {
    return dm("v" + std::to_string(dms_), "CRYPT-VERITY-abc-v", {lower});
  }
  std::string integrity(const std::string& lower) {
    return dm("i" + std::to_string(dms_), "CRYPT-INTEGRITY-abc-i", {lower});
  }
  std::string subdev(const std::string& lower) {
    return dm("s" + std::to_string(dms_) + "_dif", "CRYPT-SUBDEV-abc-s_dif", {lower});
  }
  std::string md(const std::vector<std::string>& lower) {
    std::string name = "md" + std::to_string(mds_++);
    std::string num = "9:" + std::to_string(mds_ - 1);
    b_.md(name, num, "raid1", lower);
    numbers_.emplace_back(name, num);
    return name;
  }
  // A loop device whose backing file lives on a separate /images mount on `images_dev`.
  std::string loopOn(const std::string& images_dev) {
    b_.mount(number(images_dev), "/images", "ext4", "/dev/" + images_dev);
    std::string name = "loop" + std::to_string(loops_);
    std::string num = "7:" + std::to_string(loops_++);
    b_.loop(name, num, "/images/disk.img");
    numbers_.emplace_back(name, num);
    return name;
  }
  std::string number(const std::string& dev) const {
    for (const auto& n : numbers_) {
      if (n.first == dev) return n.second;
    }
    return "?";
  }

 private:
  std::string dm(const std::string& dm_name, const std::string& uuid,
                 const std::vector<std::string>& lower) {
    std::string dev = "dm-" + std::to_string(dms_);
    std::string num = std::to_string(dm_major_) + ":" + std::to_string(dms_);
    ++dms_;
    b_.dm(dev, num, dm_name, uuid, lower);
    numbers_.emplace_back(dev, num);
    return dev;
  }

  SysfsBuilder& b_;
  int dm_major_;
  int disks_ = 0, dms_ = 0, mds_ = 0, loops_ = 0;
  std::vector<std::pair<std::string, std::string>> numbers_;
};

// A scratch directory in RAM (/dev/shm) when there is one: these trees are many small files,
// and on a slow disk their creation and removal would dominate the test time.
class ScratchDir {
 public:
  ScratchDir() {
    if (::access("/dev/shm", W_OK) == 0) {
      std::string tmpl = "/dev/shm/hearth-disk-XXXXXX";
      if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    }
    if (path_.empty()) {
      fallback_ = std::make_unique<hearth::testing::TempDir>();
      path_ = fallback_->path();
    }
  }
  ~ScratchDir() {
    if (!fallback_) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<hearth::testing::TempDir> fallback_;
};

struct Variant {
  const char* name;
  std::function<std::string(Stack&)> build;  // returns the device mounted at /
  Verdict expected;
};

const std::vector<Variant>& Variants() {
  static const std::vector<Variant> v = {
      {"plain_partition", [](Stack& s) { return s.part(); }, Verdict::kFail},
      {"crypt", [](Stack& s) { return s.crypt(s.part()); }, Verdict::kPass},
      {"lvm_on_crypt", [](Stack& s) { return s.lvm({s.crypt(s.part())}); }, Verdict::kPass},
      {"crypt_on_lvm", [](Stack& s) { return s.crypt(s.lvm({s.part()})); }, Verdict::kPass},
      {"lvm_only", [](Stack& s) { return s.lvm({s.part()}); }, Verdict::kFail},
      {"verity_only", [](Stack& s) { return s.verity(s.part()); }, Verdict::kFail},
      {"integrity_only", [](Stack& s) { return s.integrity(s.part()); }, Verdict::kFail},
      {"verity_on_crypt", [](Stack& s) { return s.verity(s.crypt(s.part())); }, Verdict::kPass},
      {"crypt_with_integrity_subdev", [](Stack& s) { return s.crypt(s.subdev(s.part())); },
       Verdict::kPass},
      {"lvm_two_pvs_both_crypt",
       [](Stack& s) {
         return s.lvm({s.crypt(s.part()), s.crypt(s.part())});
       },
       Verdict::kPass},
      {"lvm_two_pvs_one_plain",
       [](Stack& s) {
         return s.lvm({s.crypt(s.part()), s.part()});
       },
       Verdict::kFail},
      {"md_of_crypts",
       [](Stack& s) {
         return s.md({s.crypt(s.part()), s.crypt(s.part())});
       },
       Verdict::kPass},
      {"md_one_member_plain",
       [](Stack& s) {
         return s.md({s.crypt(s.part()), s.part()});
       },
       Verdict::kFail},
      {"crypt_on_md",
       [](Stack& s) {
         return s.crypt(s.md({s.part(), s.part()}));
       },
       Verdict::kPass},
      {"lvm_on_crypt_on_md",
       [](Stack& s) {
         return s.lvm({s.crypt(s.md({s.part(), s.part()}))});
       },
       Verdict::kPass},
      {"crypt_cipher_null", [](Stack& s) { return s.crypt(s.part(), "cipher_null-ecb"); },
       Verdict::kFail},
      {"lvm_on_crypt_cipher_null",
       [](Stack& s) { return s.lvm({s.crypt(s.part(), "cipher_null-ecb")}); }, Verdict::kFail},
      {"crypt_on_loop_on_plain", [](Stack& s) { return s.crypt(s.loopOn(s.part())); },
       Verdict::kPass},
      {"loop_on_plain", [](Stack& s) { return s.loopOn(s.part()); }, Verdict::kFail},
      {"loop_on_crypt", [](Stack& s) { return s.loopOn(s.crypt(s.part())); }, Verdict::kPass},
  };
  return v;
}

class DiskEncryptionGeneratedTest : public ::testing::TestWithParam<std::tuple<size_t, int>> {};

TEST_P(DiskEncryptionGeneratedTest, PassesExactlyWhenEveryPathIsEncrypted) {
  const Variant& v = Variants()[std::get<0>(GetParam())];
  int dm_major = std::get<1>(GetParam());
  ScratchDir dir;
  SysfsBuilder b(dir.path());
  Stack s(b, dm_major);
  std::string top = v.build(s);
  b.mount(s.number(top), "/", "ext4", "/dev/" + top);
  b.finish();

  auto view = NewRootedSystemView(dir.path());
  ASSERT_TRUE(view.ok()) << view.status().toString();
  Policy policy;
  policy.enable(kDiskEncryptionCheckId);
  auto r = NewDiskEncryptionCheck()->run(**view, CheckParams{policy, ""});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  // The verdict for / (a loop's backing filesystem /images is a target of its own).
  const json::Value* root = nullptr;
  for (const auto& t : r->evidence.find("targets")->asArray()) {
    if (t.find("target")->asString() == "/") root = &t;
  }
  ASSERT_NE(root, nullptr);
  const json::Value* encrypted = root->find("encrypted");
  ASSERT_TRUE(encrypted->isBool()) << v.name << ": " << r->summary;
  EXPECT_EQ(encrypted->asBool(), v.expected == Verdict::kPass)
      << v.name << " (dm major " << dm_major << "): " << root->find("chain")->asString() << "\n"
      << json::write(r->evidence, {true});
  if (r->evidence.find("targets")->size() == 1) {
    EXPECT_EQ(verdictName(r->verdict), verdictName(v.expected)) << r->summary;
  }
}

INSTANTIATE_TEST_SUITE_P(Stacks, DiskEncryptionGeneratedTest,
                         ::testing::Combine(::testing::Range<size_t>(0, Variants().size()),
                                            ::testing::Values(252, 253, 254)),
                         [](const ::testing::TestParamInfo<std::tuple<size_t, int>>& p) {
                           return std::string(Variants()[std::get<0>(p.param)].name) + "_dm" +
                                  std::to_string(std::get<1>(p.param));
                         });

}  // namespace
}  // namespace hearth::checks
