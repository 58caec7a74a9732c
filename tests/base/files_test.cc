// The one bounded reader and the one durable writer (files.h). The file layer under them and the
// fault layer's model of durability are tested in file_layer_test.cc.
#include "hearth/files.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fakes/fault_file_layer.h"
#include "hearth/fd.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::FaultFileLayer;
using testing::TempDir;
using Op = FaultFileLayer::Op;

std::vector<std::string> namesIn(FileLayer& files, const std::string& dir) {
  auto names = files.listDir(dir);
  std::vector<std::string> out = names.ok() ? *names : std::vector<std::string>{};
  std::sort(out.begin(), out.end());
  return out;
}

// --- the bounded reader ---------------------------------------------------------------------

TEST(ReadFileBoundedTest, ReadsWithinTheLimitAndRefusesOrCutsALongerFile) {
  TempDir tmp;
  std::string path = tmp.write("f", "0123456789");
  EXPECT_EQ(*ReadFileBounded(path, 10), "0123456789");
  auto big = ReadFileBounded(path, 9);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(big.status().message(), path + " is larger than 9 bytes");
  EXPECT_EQ(*ReadFileBounded(path, 4, {.truncate = true}), "0123");
}

TEST(ReadFileBoundedTest, NamesTheMissingFileAndRefusesWhatIsNotARegularFile) {
  TempDir tmp;
  auto missing = ReadFileBounded(tmp.path() + "/absent", 100);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(tmp.path() + "/absent"), std::string::npos);
  auto dir = ReadFileBounded(tmp.path(), 100);
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dir.status().message(), tmp.path() + " is not a regular file");
  // A FIFO is refused at once, not waited on.
  std::string fifo = tmp.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadFileBounded(fifo, 100).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReadFileBoundedTest, FollowsSymlinksUnlessTold) {
  TempDir tmp;
  tmp.write("target", "data");
  std::string link = tmp.symlink("link", tmp.path() + "/target");
  EXPECT_EQ(*ReadFileBounded(link, 100), "data");
  auto refused = ReadFileBounded(link, 100, {.follow_symlinks = false});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(link), std::string::npos);
}

TEST(ReadFdBoundedTest, ReadsAPipeToItsEndWhenNotLimitedToRegularFiles) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Fd read_end(p[0]);
  {
    Fd write_end(p[1]);
    ASSERT_EQ(::write(write_end.get(), "abc", 3), 3);
  }
  EXPECT_EQ(ReadFdBounded(read_end.get(), 10, "pipe").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(*ReadFdBounded(read_end.get(), 10, "pipe", {.regular_only = false}), "abc");
}

// --- the durable writer ---------------------------------------------------------------------

TEST(WriteFileDurablyTest, ReplacesTheFileWithItsModeThroughARandomTemporaryName) {
  TempDir tmp;
  std::string path = tmp.path() + "/state.json";
  ASSERT_TRUE(WriteFileDurably(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileDurably(path, "two", 0644).ok());
  EXPECT_EQ(*ReadFileBounded(path, 100), "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(namesIn(PosixFileLayer(), tmp.path()), std::vector<std::string>{"state.json"});
}

TEST(WriteFileDurablyTest, AFailedRenameLeavesTheOldContentAndNoTemporaryFile) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  std::string path = tmp.path() + "/f";
  ASSERT_TRUE(WriteFileDurably(files, path, "old", 0600).ok());
  files.failNth(Op::kRename, 1, EIO);
  EXPECT_FALSE(WriteFileDurably(files, path, "new", 0600).ok());
  EXPECT_EQ(*files.readFile(path, 100), "old");
  EXPECT_EQ(namesIn(files, tmp.path()), std::vector<std::string>{"f"});
}

TEST(WriteFileDurablyTest, APowerCutAtAnyStepLeavesTheOldOrTheNewContentNeverAMix) {
  for (int cut = 0; cut <= 7; ++cut) {
    TempDir tmp;
    FaultFileLayer layer(tmp.path());
    const std::string target = tmp.path() + "/state.json";
    ASSERT_TRUE(WriteFileDurably(layer, target, "old content", 0600).ok());
    ASSERT_TRUE(layer.crash().ok());
    layer.cutPowerAfter(cut);
    const bool returned_ok = WriteFileDurably(layer, target, "new content", 0600).ok();
    ASSERT_TRUE(layer.crash(FaultFileLayer::CrashMode::kRandom, static_cast<uint32_t>(cut)).ok());
    const std::string after = layer.readFile(target, 100).valueOr("(nothing)");
    if (returned_ok) {
      EXPECT_EQ(after, "new content") << "power cut after " << cut << " operations";
    } else {
      EXPECT_TRUE(after == "old content" || after == "new content")
          << "power cut after " << cut << " operations: " << after;
    }
  }
}

TEST(DurableFileWriterTest, StreamsPiecesAndPutsThemInPlaceOnlyOnCommit) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  std::string path = tmp.path() + "/backup";
  auto w = DurableFileWriter::Create(files, path, 0600);
  ASSERT_TRUE(w.ok()) << w.status().toString();
  ASSERT_TRUE((*w)->append("part one, ").ok());
  ASSERT_TRUE((*w)->append("part two").ok());
  EXPECT_EQ(files.readFile(path, 100).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*w)->commit().ok());
  EXPECT_EQ(*files.readFile(path, 100), "part one, part two");
  EXPECT_EQ((*w)->commit().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(files.crash().ok());
  EXPECT_EQ(*files.readFile(path, 100), "part one, part two");
}

TEST(DurableFileWriterTest, DroppedWithoutCommitItLeavesNothingBehind) {
  TempDir tmp;
  std::string path = tmp.path() + "/backup";
  {
    auto w = DurableFileWriter::Create(PosixFileLayer(), path, 0600);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append("half").ok());
    EXPECT_EQ(namesIn(PosixFileLayer(), tmp.path()).size(), 1u);  // the temporary file
  }
  EXPECT_TRUE(namesIn(PosixFileLayer(), tmp.path()).empty());
}

// --- Fd ------------------------------------------------------------------------------------

TEST(FdTest, ClosesOnceAndMovesOwnership) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int raw = p[0];
  ::close(p[1]);
  Fd a(raw);
  Fd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(b.get(), raw);
  b.reset();
  EXPECT_FALSE(b.valid());
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace hearth
