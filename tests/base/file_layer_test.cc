// The POSIX file layer, the durable-write helpers, and the fault layer's model of durability
// (which the spool's crash tests rely on, so it is tested on its own first).
#include "hearth/file_layer.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fakes/fault_file_layer.h"
#include "hearth/files.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::FaultFileLayer;
using testing::TempDir;
using Op = FaultFileLayer::Op;
using Mode = FaultFileLayer::CrashMode;

std::vector<std::string> sortedNames(FileLayer& files, const std::string& dir) {
  auto names = files.listDir(dir);
  EXPECT_TRUE(names.ok()) << names.status().toString();
  std::vector<std::string> out = names.ok() ? *names : std::vector<std::string>{};
  std::sort(out.begin(), out.end());
  return out;
}

mode_t modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// --- POSIX layer ----------------------------------------------------------------------------

TEST(PosixFileLayerTest, WriteFileDurablyReplacesContentWithModeAndLeavesNoTemp) {
  TempDir tmp;
  FileLayer& files = PosixFileLayer();
  std::string path = tmp.path() + "/a.json";
  ASSERT_TRUE(WriteFileDurably(files, path, tmp.path() + "/.tmp-a", "first", 0600).ok());
  ASSERT_TRUE(WriteFileDurably(files, path, tmp.path() + "/.tmp-a", "second", 0600).ok());
  EXPECT_EQ(*files.readFile(path, 100), "second");
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(sortedNames(files, tmp.path()), std::vector<std::string>{"a.json"});
}

TEST(PosixFileLayerTest, ReadFileIsBoundedAndNamesMissingFiles) {
  TempDir tmp;
  FileLayer& files = PosixFileLayer();
  std::string path = tmp.write("big", std::string(100, 'x'));
  EXPECT_EQ(files.readFile(path, 100)->size(), 100u);
  auto too_big = files.readFile(path, 99);
  EXPECT_EQ(too_big.status().code(), StatusCode::kResourceExhausted);
  auto missing = files.readFile(tmp.path() + "/nope", 10);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(tmp.path() + "/nope"), std::string::npos);
  EXPECT_EQ(files.fileSize(path).valueOr(0), 100u);
  EXPECT_EQ(files.unlink(tmp.path() + "/nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(files.listDir(tmp.path() + "/nope").status().code(), StatusCode::kNotFound);
}

TEST(PosixFileLayerTest, CreateFileNeverFollowsASymlink) {
  TempDir tmp;
  std::string victim = tmp.write("victim", "keep me");
  tmp.symlink("link", victim);
  auto f = PosixFileLayer().createFile(tmp.path() + "/link", 0600);
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(*PosixFileLayer().readFile(victim, 100), "keep me");
}

TEST(PosixFileLayerTest, CreateDirsDurablyMakesParentsWithModeAndAcceptsExisting) {
  TempDir tmp;
  std::string dir = tmp.path() + "/a/b/spool";
  ASSERT_TRUE(CreateDirsDurably(PosixFileLayer(), dir, 0700).ok());
  EXPECT_EQ(modeOf(dir), 0700u);
  EXPECT_EQ(modeOf(tmp.path() + "/a"), 0700u);
  EXPECT_TRUE(CreateDirsDurably(PosixFileLayer(), dir, 0700).ok());
  tmp.write("file", "x");
  EXPECT_FALSE(PosixFileLayer().createDir(tmp.path() + "/file", 0700).ok());
}

TEST(PosixFileLayerTest, DiskFullErrorsAreResourceExhaustedAndSayDiskFull) {
  Status s = FileErrorStatus(ENOSPC, "write /x/y");
  EXPECT_TRUE(IsDiskFull(s));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(s.message().starts_with("disk full: write /x/y: ")) << s.message();
  EXPECT_TRUE(IsDiskFull(FileErrorStatus(EDQUOT, "write /x/y")));
  EXPECT_FALSE(IsDiskFull(FileErrorStatus(EIO, "write /x/y")));
  EXPECT_FALSE(IsDiskFull(ResourceExhaustedError("too big")));
}

// --- the fault layer: injected errors --------------------------------------------------------

TEST(FaultFileLayerTest, FailNthFailsExactlyThatOperationWithTheErrno) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  files.failNth(Op::kSyncFile, 2, EIO);
  std::string path = tmp.path() + "/f";
  EXPECT_TRUE(WriteFileDurably(files, path, path + ".tmp", "one", 0600).ok());
  Status s = WriteFileDurably(files, path, path + ".tmp", "two", 0600);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("Input/output error"), std::string::npos) << s.message();
  // The failed write left the old content and no temporary file.
  EXPECT_EQ(*files.readFile(path, 100), "one");
  EXPECT_EQ(sortedNames(files, tmp.path()), std::vector<std::string>{"f"});
  EXPECT_TRUE(WriteFileDurably(files, path, path + ".tmp", "three", 0600).ok());
  EXPECT_EQ(files.count(Op::kSyncFile), 3);
}

TEST(FaultFileLayerTest, AFailingWriteIsShortAndWriteFileDurablyCleansUp) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  files.failNth(Op::kWrite, 1, ENOSPC);
  std::string path = tmp.path() + "/f";
  Status s = WriteFileDurably(files, path, path + ".tmp", "0123456789", 0600);
  EXPECT_TRUE(IsDiskFull(s)) << s.toString();
  EXPECT_TRUE(sortedNames(files, tmp.path()).empty());
}

TEST(FaultFileLayerTest, FailAllLastsUntilCleared) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  files.failAll(Op::kListDir, EACCES);
  EXPECT_EQ(files.listDir(tmp.path()).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(files.listDir(tmp.path()).status().code(), StatusCode::kPermissionDenied);
  files.clearFaults();
  EXPECT_TRUE(files.listDir(tmp.path()).ok());
}

TEST(FaultFileLayerTest, RefusesPathsOutsideItsRoot) {
  TempDir tmp;
  FaultFileLayer files(tmp.path() + "/root");
  EXPECT_EQ(files.readFile(tmp.path() + "/other", 10).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(files.readFile(tmp.path() + "/root/../x", 10).status().code(),
            StatusCode::kInvalidArgument);
}

// --- the fault layer: power cuts --------------------------------------------------------------

TEST(FaultFileLayerTest, AfterThePowerIsCutEveryOperationFails) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  files.cutPowerAfter(2);
  auto f = files.createFile(tmp.path() + "/f", 0600);  // 1
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->append("x").ok());  // 2
  EXPECT_FALSE((*f)->sync().ok());      // the cut
  EXPECT_TRUE(files.powerIsCut());
  EXPECT_FALSE(files.listDir(tmp.path()).ok());
  ASSERT_TRUE(files.crash().ok());
  EXPECT_FALSE(files.powerIsCut());
  EXPECT_FALSE((*f)->append("y").ok()) << "a handle from before the cut must not work";
  EXPECT_TRUE(sortedNames(files, tmp.path()).empty()) << "never made durable";
}

TEST(FaultFileLayerTest, TheFullProtocolSurvivesACrash) {
  TempDir tmp;
  tmp.write("old", "from before");  // present when the layer starts: durable
  FaultFileLayer files(tmp.path());
  ASSERT_TRUE(
      WriteFileDurably(files, tmp.path() + "/new", tmp.path() + "/.tmp-new", "data", 0640).ok());
  ASSERT_TRUE(files.crash().ok());
  EXPECT_EQ(sortedNames(files, tmp.path()), (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(*files.readFile(tmp.path() + "/new", 100), "data");
  EXPECT_EQ(*files.readFile(tmp.path() + "/old", 100), "from before");
  EXPECT_EQ(modeOf(tmp.path() + "/new"), 0640u);
}

TEST(FaultFileLayerTest, ARenameWithoutFileSyncLeavesAnEmptyFile) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  auto f = files.createFile(tmp.path() + "/t", 0600);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->append("data").ok());
  ASSERT_TRUE((*f)->close().ok());
  ASSERT_TRUE(files.rename(tmp.path() + "/t", tmp.path() + "/final").ok());
  ASSERT_TRUE(files.syncDir(tmp.path()).ok());
  ASSERT_TRUE(files.crash(Mode::kDropUnsynced).ok());
  EXPECT_EQ(*files.readFile(tmp.path() + "/final", 100), "");
}

TEST(FaultFileLayerTest, ARenameWithoutDirectorySyncIsLost) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  auto f = files.createFile(tmp.path() + "/t", 0600);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->append("data").ok());
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE((*f)->close().ok());
  ASSERT_TRUE(files.rename(tmp.path() + "/t", tmp.path() + "/final").ok());
  ASSERT_TRUE(files.crash(Mode::kDropUnsynced).ok());
  EXPECT_TRUE(sortedNames(files, tmp.path()).empty());
}

TEST(FaultFileLayerTest, AnUnlinkWithoutDirectorySyncComesBack) {
  TempDir tmp;
  tmp.write("f", "data");
  FaultFileLayer files(tmp.path());
  ASSERT_TRUE(files.unlink(tmp.path() + "/f").ok());
  ASSERT_TRUE(files.crash().ok());
  EXPECT_EQ(*files.readFile(tmp.path() + "/f", 100), "data");
  ASSERT_TRUE(files.unlink(tmp.path() + "/f").ok());
  ASSERT_TRUE(files.syncDir(tmp.path()).ok());
  ASSERT_TRUE(files.crash().ok());
  EXPECT_TRUE(sortedNames(files, tmp.path()).empty());
}

TEST(FaultFileLayerTest, ADirectoryNotSyncedInItsParentLosesItsContents) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  std::string dir = tmp.path() + "/spool";
  ASSERT_TRUE(files.createDir(dir, 0700).ok());
  ASSERT_TRUE(WriteFileDurably(files, dir + "/r", dir + "/.tmp-r", "data", 0600).ok());
  ASSERT_TRUE(files.crash().ok());
  EXPECT_FALSE(std::filesystem::exists(dir));
  ASSERT_TRUE(CreateDirsDurably(files, dir, 0700).ok());
  ASSERT_TRUE(WriteFileDurably(files, dir + "/r", dir + "/.tmp-r", "data", 0600).ok());
  ASSERT_TRUE(files.crash().ok());
  EXPECT_EQ(*files.readFile(dir + "/r", 100), "data");
  EXPECT_EQ(modeOf(dir), 0700u);
}

TEST(FaultFileLayerTest, RandomCrashesTearUnsyncedDataAndKeepSomeUnsyncedNames) {
  bool saw_torn = false, saw_kept_rename = false, saw_lost_rename = false;
  for (uint32_t seed = 0; seed < 64; ++seed) {
    TempDir tmp;
    FaultFileLayer files(tmp.path());
    auto f = files.createFile(tmp.path() + "/t", 0600);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->append("0123456789").ok());
    ASSERT_TRUE((*f)->close().ok());
    ASSERT_TRUE(files.rename(tmp.path() + "/t", tmp.path() + "/final").ok());
    ASSERT_TRUE(files.crash(Mode::kRandom, seed).ok());
    auto names = sortedNames(files, tmp.path());
    if (names == std::vector<std::string>{"final"}) {
      saw_kept_rename = true;
      std::string got = *files.readFile(tmp.path() + "/final", 100);
      EXPECT_EQ(got, std::string("0123456789").substr(0, got.size()));
      if (!got.empty() && got.size() < 10) saw_torn = true;
    } else if (names.empty()) {
      saw_lost_rename = true;
    }
  }
  EXPECT_TRUE(saw_torn);
  EXPECT_TRUE(saw_kept_rename);
  EXPECT_TRUE(saw_lost_rename);
}

}  // namespace
}  // namespace hearth
