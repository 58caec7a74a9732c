// The state directory's machine id hash.
#include "hearth/agent/state_dir.h"

#include <fstream>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/protocol/crypto.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

// The machine id hash: the server flags devices that report the same one (cloned disks), so PCs
// without /etc/machine-id must not all send the same value (they used to: the hash of nothing).
TEST(MachineIdTest, APcWithoutAMachineIdGetsItsOwnStableValue) {
  std::string machine_id;
  {
    std::ifstream f("/etc/machine-id");
    std::getline(f, machine_id);
  }
  testing::TempDir dir;
  if (!machine_id.empty()) {
    EXPECT_EQ(MachineIdHash(dir.path()), protocol::Sha256Hex("hearth-machine-id:" + machine_id));
  }
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (hides /etc/machine-id in a mount namespace)";
  std::string empty = dir.write("empty", "");
  std::string a = dir.path() + "/a", b = dir.path() + "/b";
  ASSERT_EQ(::mkdir(a.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(b.c_str(), 0700), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      ::_exit(3);
    }
    for (const char* p : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
      if (::access(p, F_OK) == 0 && ::mount(empty.c_str(), p, nullptr, MS_BIND, nullptr) != 0) {
        ::_exit(4);
      }
    }
    std::string out = MachineIdHash(a) + " " + MachineIdHash(a) + " " + MachineIdHash(b) + " " +
                      protocol::Sha256Hex("hearth-machine-id:");
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  std::istringstream words(out);
  std::string a1, a2, b1, nothing;
  words >> a1 >> a2 >> b1 >> nothing;
  EXPECT_EQ(a1.size(), 64u);
  EXPECT_EQ(a1, a2) << "stable across reports";
  EXPECT_NE(a1, b1) << "two PCs without a machine id look like two PCs";
  EXPECT_NE(a1, nothing) << "not the hash every such PC used to send";
}

}  // namespace
}  // namespace hearth::agent
