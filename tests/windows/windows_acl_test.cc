// The ACLs standing for the agent's file modes on Windows (hearth/windows_acl.h). Wine does not
// enforce ACLs (docs/windows-build.md), so what is tested here is the ACL the agent asks for, and
// that Windows accepts it on a real file.
#include "hearth/windows_acl.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace hearth::windows {
namespace {

TEST(WindowsAclTest, ASecretIsForSystemAdministratorsAndItsOwnerOnly) {
  EXPECT_EQ(SddlForMode(0600, false), "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)");
}

TEST(WindowsAclTest, AWorldReadableFileMayBeReadByUsers) {
  EXPECT_EQ(SddlForMode(0644, false), "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)(A;;FR;;;BU)");
}

TEST(WindowsAclTest, ThePrivateStateDirectoryPassesOnlyTheAdminEntriesToNewFiles) {
  EXPECT_EQ(SddlForMode(0700, true), "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)");
  // Users may list a 0755 directory, but that entry is not inherited by what is created in it.
  EXPECT_EQ(SddlForMode(0755, true),
            "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;;0x1200a9;;;BU)");
}

TEST(WindowsAclTest, WindowsTakesTheAclOnAFile) {
  const std::string path = "hearth-acl-test.txt";
  std::ofstream(path) << "x";
  EXPECT_TRUE(ApplyModeAcl(path, 0600, false).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace hearth::windows
