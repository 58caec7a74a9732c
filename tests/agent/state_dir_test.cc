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

#include "fakes/fake_system_view.h"
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

// Windows has no /etc/machine-id: the id Setup gave the installation (MachineGuid), hashed as on
// Linux, so that a cloned Windows disk shows up as a clone too; without it, the state dir's own.
TEST(MachineIdTest, WindowsUsesTheRegistrysMachineGuid) {
  const std::string guid = "4c4c4544-0042-3510-8052-b4c04f4b4d32";
  testing::TempDir dir;
  testing::FakeSystemView windows;
  windows.addRegistryValue(RegistryRoot::kLocalMachine, "SOFTWARE\\Microsoft\\Cryptography",
                           "MachineGuid",
                           {.type = RegistryValue::Type::kText, .number = 0, .text = guid});
  EXPECT_EQ(MachineIdHash(windows, dir.path()), protocol::Sha256Hex("hearth-machine-id:" + guid));
  struct stat st {};
  EXPECT_NE(::stat((dir.path() + "/machine-id").c_str(), &st), 0) << "no own id needed";

  testing::FakeSystemView no_guid;  // the key unreadable or the value missing
  const std::string own = MachineIdHash(no_guid, dir.path());
  EXPECT_NE(own, protocol::Sha256Hex("hearth-machine-id:"));
  EXPECT_NE(own, protocol::Sha256Hex("hearth-machine-id:" + guid));
  EXPECT_EQ(MachineIdHash(no_guid, dir.path()), own) << "stable: kept in the state directory";
}

// On Windows "/etc/machine-id" is C:\etc\machine-id, which any user may create: it must not
// stand in for a missing MachineGuid (under Wine it is even the Linux host's file).
TEST(MachineIdTest, WindowsNeverReadsEtcMachineId) {
  testing::TempDir dir;
  testing::FakeSystemView windows;  // a registry without the value: NotFound, not Unavailable
  windows.addFile("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  EXPECT_NE(MachineIdHash(windows, dir.path()),
            protocol::Sha256Hex("hearth-machine-id:0123456789abcdef0123456789abcdef"));

  testing::FakeSystemView linux_view;  // no registry at all
  linux_view.addFile("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  linux_view.failRegistryKey(RegistryRoot::kLocalMachine, "SOFTWARE\\Microsoft\\Cryptography",
                             UnavailableError("no Windows registry on this system"));
  EXPECT_EQ(MachineIdHash(linux_view, dir.path()),
            protocol::Sha256Hex("hearth-machine-id:0123456789abcdef0123456789abcdef"));
}

}  // namespace
}  // namespace hearth::agent
