// disk_encryption against real kernel state: loop-mounted btrfs images, checked live. Exercises the
// anonymous 0:NN device number of btrfs mounts, /sys/fs/btrfs/<fsid>/devices (single and
// multi-device) and loop devices followed to the filesystem holding their backing file.
//
// Root only (loop devices, mount). Everything happens in a forked child inside a private mount
// namespace (unshare(CLONE_NEWNS) + MS_REC|MS_PRIVATE on /), so no mount leaks to the host; the
// child detaches its loop devices before it exits, and the parent detaches any the child left.
#include <sched.h>
#include <string.h>
#include <string>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "disk_encryption/disk_encryption.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/text.h"
#include "support/temp_dir.h"

namespace hearth::checks {
namespace {

using hearth::testing::RunProcess;

struct ChildOutput {
  int exit_code = -1;
  std::vector<std::string> loops;  // "LOOP /dev/loopN" lines
  std::string error;               // "ERROR ..." line
  std::string result_json;         // "RESULT {...}" line
};

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// In the child: private mount namespace, attach `images` to loop devices, mount the first at
// `mnt` (btrfs, naming every member), run the check, report, clean up.
int ChildMain(int fd, const std::vector<std::string>& images, const std::string& mnt) {
  if (::unshare(CLONE_NEWNS) != 0) {
    WriteAll(fd, "ERROR unshare(CLONE_NEWNS) failed\n");
    return 1;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    WriteAll(fd, "ERROR mount --make-rprivate / failed\n");
    return 1;
  }
  std::vector<std::string> loops;
  for (const auto& img : images) {
    auto r = RunProcess({"/usr/sbin/losetup", "--find", "--show", img});
    std::string dev = text::trim(r.out);
    if (r.exit_code != 0 || dev.empty()) {
      WriteAll(fd, "ERROR losetup: " + text::trim(r.err) + "\n");
      for (const auto& l : loops) (void)RunProcess({"/usr/sbin/losetup", "-d", l});
      return 1;
    }
    loops.push_back(dev);
    WriteAll(fd, "LOOP " + dev + "\n");
  }
  std::string opts;
  for (const auto& l : loops) opts += (opts.empty() ? "device=" : ",device=") + l;
  int rc = 0;
  if (::mount(loops[0].c_str(), mnt.c_str(), "btrfs", 0, opts.c_str()) != 0) {
    WriteAll(fd, "ERROR mount btrfs: " + std::string(strerror(errno)) + "\n");
    rc = 1;
  } else {
    auto view = NewLiveSystemView();
    Policy policy;
    policy.enable(kDiskEncryptionCheckId);
    CheckParams params{policy, ""};
    auto result = NewDiskEncryptionCheck()->run(*view, params);
    if (result.ok()) {
      WriteAll(fd, "RESULT " + json::write(result->toJson()) + "\n");
    } else {
      WriteAll(fd, "ERROR check: " + result.status().toString() + "\n");
      rc = 1;
    }
    ::umount2(mnt.c_str(), MNT_DETACH);
  }
  for (const auto& l : loops) (void)RunProcess({"/usr/sbin/losetup", "-d", l});
  return rc;
}

ChildOutput RunInPrivateNamespace(const std::vector<std::string>& images, const std::string& mnt) {
  ChildOutput out;
  int pipefd[2];
  if (::pipe(pipefd) != 0) {
    out.error = "pipe failed";
    return out;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    int rc = ChildMain(pipefd[1], images, mnt);
    ::close(pipefd[1]);
    ::_exit(rc);
  }
  ::close(pipefd[1]);
  std::string data;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (const auto& line : text::splitLines(data)) {
    if (line.starts_with("LOOP ")) out.loops.push_back(line.substr(5));
    if (line.starts_with("ERROR ")) out.error = line.substr(6);
    if (line.starts_with("RESULT ")) out.result_json = line.substr(7);
  }
  // Whatever the child left attached (it normally detaches them itself).
  for (const auto& l : out.loops) {
    auto info = RunProcess({"/usr/sbin/losetup", "--noheadings", "-O", "BACK-FILE", l});
    for (const auto& img : images) {
      if (info.out.find(img) != std::string::npos) (void)RunProcess({"/usr/sbin/losetup", "-d", l});
    }
  }
  return out;
}

class DiskEncryptionBtrfsLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hearth::testing::RunningAsRoot()) GTEST_SKIP() << "needs root: loop devices";
    if (::access("/usr/sbin/mkfs.btrfs", X_OK) != 0) GTEST_SKIP() << "mkfs.btrfs not installed";
    if (::access("/dev/loop-control", F_OK) != 0) GTEST_SKIP() << "no loop device support";
  }

  std::string Image(const std::string& name) {
    std::string path = tmp_.write(name, "");
    if (::truncate(path.c_str(), 160LL << 20) != 0) ADD_FAILURE() << "truncate " << path;
    return path;
  }

  const json::Value* Target(const json::Value& result, const std::string& name) {
    const json::Value* checks = result.find("checks");
    const json::Value* ev = nullptr;
    if (checks != nullptr) {
      ev = checks->find("evidence");
    } else {
      ev = result.find("evidence");
    }
    if (ev == nullptr) return nullptr;
    for (const auto& t : ev->find("targets")->asArray()) {
      if (t.find("target")->asString() == name) return &t;
    }
    return nullptr;
  }

  hearth::testing::TempDir tmp_;
};

TEST_F(DiskEncryptionBtrfsLoopTest, SingleDeviceBtrfsOnLoopIsFollowedThroughSysFsBtrfs) {
  std::string img = Image("single.img");
  auto mk = RunProcess({"/usr/sbin/mkfs.btrfs", "-q", "-f", img});
  ASSERT_EQ(mk.exit_code, 0) << mk.err;
  std::string mnt = tmp_.mkdir("mnt");

  ChildOutput out = RunInPrivateNamespace({img}, mnt);
  ASSERT_EQ(out.exit_code, 0) << out.error;
  auto result = json::parse(out.result_json);
  ASSERT_TRUE(result.ok()) << result.status().toString();
  const json::Value* t = Target(*result, mnt);
  ASSERT_NE(t, nullptr) << out.result_json;
  EXPECT_EQ(t->find("fstype")->asString(), "btrfs");
  // The btrfs mount carries an anonymous device number, not the loop device's 7:N.
  EXPECT_TRUE(t->find("device_number")->asString().starts_with("0:"))
      << t->find("device_number")->asString();
  std::string chain = t->find("chain")->asString();
  std::string loop = out.loops.at(0).substr(5);  // "loopN"
  EXPECT_NE(chain.find(loop + " (backing " + img + ")"), std::string::npos) << chain;
  // The backing file lies on this machine's own filesystem, so the mount takes its verdict: on
  // this plain Debian VM that is "not encrypted" (fail), wherever / is judged at all.
  const json::Value* root = Target(*result, "/");
  ASSERT_NE(root, nullptr);
  if (root->find("encrypted")->isBool() && !root->find("encrypted")->asBool()) {
    ASSERT_TRUE(t->find("encrypted")->isBool()) << chain;
    EXPECT_FALSE(t->find("encrypted")->asBool()) << chain;
    EXPECT_EQ(result->find("verdict")->asString(), "fail");
    EXPECT_NE(chain.find(" \u2190 / ("), std::string::npos) << chain;
  } else {
    EXPECT_EQ(t->find("encrypted")->isNull(), root->find("encrypted")->isNull()) << chain;
  }
  // The private namespace kept the mount away from the host.
  auto host = RunProcess({"/usr/bin/cat", "/proc/self/mountinfo"});
  EXPECT_EQ(host.out.find(mnt), std::string::npos);
}

TEST_F(DiskEncryptionBtrfsLoopTest, MultiDeviceBtrfsListsEveryMember) {
  std::string a = Image("a.img");
  std::string b = Image("b.img");
  auto mk = RunProcess({"/usr/sbin/mkfs.btrfs", "-q", "-f", "-d", "raid1", "-m", "raid1", a, b});
  ASSERT_EQ(mk.exit_code, 0) << mk.err;
  std::string mnt = tmp_.mkdir("mnt2");

  ChildOutput out = RunInPrivateNamespace({a, b}, mnt);
  ASSERT_EQ(out.exit_code, 0) << out.error;
  auto result = json::parse(out.result_json);
  ASSERT_TRUE(result.ok()) << result.status().toString();
  const json::Value* t = Target(*result, mnt);
  ASSERT_NE(t, nullptr) << out.result_json;
  std::string chain = t->find("chain")->asString();
  EXPECT_NE(chain.find("btrfs (2 devices)"), std::string::npos) << chain;
  EXPECT_NE(chain.find(a), std::string::npos) << chain;
  EXPECT_NE(chain.find(b), std::string::npos) << chain;
}

}  // namespace
}  // namespace hearth::checks
