// The spool: order, bounds (newest result per check kept), the durable drop counter and its
// hand-over to envelopes, disk full, and crash safety proven with the fault file layer at every
// operation of a workload (the fsync ordering) and with a real full tmpfs (root only).
#include "hearth/agent/spool.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <sched.h>
#include <set>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fakes/fault_file_layer.h"
#include "hearth/agent/sequence.h"
#include "hearth/json.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using testing::FaultFileLayer;
using testing::TempDir;
using Op = FaultFileLayer::Op;
using CrashMode = FaultFileLayer::CrashMode;

const std::vector<std::string> kAllChecks = {"disk_encryption", "os_patches", "screen_lock", "vpn"};

// A report envelope of the real shape: what matters to the spool is result.checks[].id.
std::string envelope(int64_t seq, const std::vector<std::string>& checks = kAllChecks,
                     int64_t dropped = 0, size_t pad = 0) {
  json::Value result = json::Value::object();
  result.set("compliant", true);
  json::Value list = json::Value::array();
  for (const auto& id : checks) {
    json::Value c = json::Value::object();
    c.set("id", id);
    c.set("verdict", "pass");
    list.push(std::move(c));
  }
  result.set("checks", std::move(list));
  json::Value env = json::Value::object();
  env.set("report_id", "report-" + std::to_string(seq));
  env.set("sequence", seq);
  env.set("result", std::move(result));
  if (dropped > 0) env.set("dropped", dropped);
  if (pad > 0) env.set("pad", std::string(pad, 'x'));
  return json::write(env);
}

std::vector<int64_t> listed(const Spool& spool) {
  auto l = spool.list();
  EXPECT_TRUE(l.ok()) << l.status().toString();
  return l.ok() ? *l : std::vector<int64_t>{};
}

std::vector<std::string> namesIn(const std::string& dir) {
  auto names = PosixFileLayer().listDir(dir);
  std::vector<std::string> out = names.ok() ? *names : std::vector<std::string>{};
  std::sort(out.begin(), out.end());
  return out;
}

// A layer that passes everything to the real files but skips fsync: the fault layer keeps its
// own model of durability, so the crash loops need not wait for the disk.
class NoSyncLayer : public FileLayer {
 public:
  class File : public WritableFile {
   public:
    explicit File(std::unique_ptr<WritableFile> f) : f_(std::move(f)) {}
    Status append(std::string_view data) override { return f_->append(data); }
    Status sync() override { return OkStatus(); }
    Status close() override { return f_->close(); }

   private:
    std::unique_ptr<WritableFile> f_;
  };
  StatusOr<std::unique_ptr<WritableFile>> createFile(const std::string& path,
                                                     mode_t mode) override {
    HEARTH_ASSIGN_OR_RETURN(auto f, PosixFileLayer().createFile(path, mode));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(std::move(f)));
  }
  Status rename(const std::string& from, const std::string& to) override {
    return PosixFileLayer().rename(from, to);
  }
  Status syncDir(const std::string&) override { return OkStatus(); }
  Status createDir(const std::string& dir, mode_t mode) override {
    return PosixFileLayer().createDir(dir, mode);
  }
  StatusOr<std::vector<std::string>> listDir(const std::string& dir) override {
    return PosixFileLayer().listDir(dir);
  }
  StatusOr<std::string> readFile(const std::string& path, size_t limit) override {
    return PosixFileLayer().readFile(path, limit);
  }
  StatusOr<uint64_t> fileSize(const std::string& path) override {
    return PosixFileLayer().fileSize(path);
  }
  Status unlink(const std::string& path) override { return PosixFileLayer().unlink(path); }
};

SpoolOptions with(FileLayer* files, size_t max_reports = 10000, size_t max_bytes = 20u << 20) {
  SpoolOptions o;
  o.max_reports = max_reports;
  o.max_bytes = max_bytes;
  o.files = files;
  return o;
}

// --- order, names, round trip ---------------------------------------------------------------

TEST(SpoolTest, ReportsComeBackByteForByteInSequenceOrderNotArrivalOrder) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool");
  EXPECT_TRUE(listed(spool).empty()) << "no directory yet is an empty spool";
  for (int64_t seq : {10, 2, 5}) ASSERT_TRUE(spool.append(seq, envelope(seq)).ok());
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{2, 5, 10}));
  EXPECT_EQ(*spool.read(5), envelope(5));
  EXPECT_EQ(spool.depth(), 3u);
  EXPECT_EQ(spool.read(7).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(spool.remove(5).ok());
  ASSERT_TRUE(spool.remove(5).ok()) << "removing twice is fine";
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{2, 10}));
  EXPECT_EQ(namesIn(tmp.path() + "/spool"),
            (std::vector<std::string>{"00000000000000000002.json", "00000000000000000010.json"}));
}

TEST(SpoolTest, ListIgnoresTempAndGarbageNamesAndRecoverRemovesOnlyTempFiles) {
  TempDir tmp;
  std::string dir = tmp.path() + "/spool";
  tmp.write("spool/00000000000000000003.json", envelope(3));
  tmp.write("spool/.tmp-00000000000000000004.json", "{\"half");  // crash mid-write
  tmp.write("spool/00000000000000000005.json.tmp-AbC123", "{");  // the old temp form
  tmp.write("spool/3.json", "garbage");
  tmp.write("spool/0000000000000000000x.json", "garbage");
  tmp.write("spool/-0000000000000000001.json", "garbage");
  tmp.write("spool/00000000000000000006.json~", "garbage");
  tmp.write("spool/notes.txt", "an admin's note");
  Spool spool(dir);
  EXPECT_EQ(listed(spool), std::vector<int64_t>{3});
  ASSERT_TRUE(spool.recover().ok());
  EXPECT_EQ(namesIn(dir),
            (std::vector<std::string>{"-0000000000000000001.json", "00000000000000000003.json",
                                      "00000000000000000006.json~", "0000000000000000000x.json",
                                      "3.json", "notes.txt"}));
}

TEST(SpoolTest, ReadOnlyUseNeverTouchesTheDirectory) {
  TempDir tmp;
  tmp.write("spool/.tmp-00000000000000000004.json", "{\"half");
  Spool spool(tmp.path() + "/spool");
  (void)spool.list();
  (void)spool.depth();
  (void)spool.dropped();
  EXPECT_EQ(namesIn(tmp.path() + "/spool").size(), 1u)
      << "status may run while the daemon writes: it must not remove the daemon's temp file";
}

TEST(SpoolTest, AppendingTheSameSequenceReplacesIt) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool");
  ASSERT_TRUE(spool.append(1, envelope(1, {"vpn"})).ok());
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  EXPECT_EQ(*spool.read(1), envelope(1));
  EXPECT_EQ(listed(spool), std::vector<int64_t>{1});
}

TEST(SpoolTest, FilesArePrivate) {
  TempDir tmp;
  Spool spool(tmp.path() + "/var/lib/hearth/spool");
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  struct stat st {};
  ASSERT_EQ(::stat((tmp.path() + "/var/lib/hearth/spool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((tmp.path() + "/var/lib/hearth/spool/00000000000000000001.json").c_str(), &st),
            0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// --- bounds ---------------------------------------------------------------------------------

TEST(SpoolTest, CountBoundDropsTheOldestAndCountsThemDurably) {
  TempDir tmp;
  std::string dir = tmp.path() + "/spool";
  {
    Spool spool(dir, 3);
    for (int64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(spool.append(seq, envelope(seq)).ok());
    EXPECT_EQ(listed(spool), (std::vector<int64_t>{3, 4, 5}));
    EXPECT_EQ(spool.dropped(), 2);
  }
  Spool restarted(dir, 3);
  EXPECT_EQ(restarted.dropped(), 2) << "the count survives a restart";
  ASSERT_TRUE(restarted.append(6, envelope(6)).ok());
  EXPECT_EQ(restarted.dropped(), 3);
  EXPECT_EQ(restarted.drops()->unreported, 3);
}

TEST(SpoolTest, ByteBoundDropsTheOldest) {
  TempDir tmp;
  size_t one = envelope(1, kAllChecks, 0, 1000).size();
  Spool spool(tmp.path() + "/spool", 100, 3 * one + one / 2);
  for (int64_t seq = 1; seq <= 6; ++seq) {
    ASSERT_TRUE(spool.append(seq, envelope(seq, kAllChecks, 0, 1000)).ok());
  }
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(spool.dropped(), 3);
}

TEST(SpoolTest, TheNewestResultOfEveryCheckIsNeverDropped) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 3);
  // A full cycle, then network changes that re-run only the vpn check.
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  for (int64_t seq = 2; seq <= 8; ++seq)
    ASSERT_TRUE(spool.append(seq, envelope(seq, {"vpn"})).ok());
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{1, 7, 8}))
      << "report 1 holds the only disk_encryption, os_patches and screen_lock results";
  EXPECT_EQ(spool.dropped(), 5);
  // A newer full report takes over: report 1 may go now.
  ASSERT_TRUE(spool.append(9, envelope(9)).ok());
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{7, 8, 9}));
}

TEST(SpoolTest, ProtectsTheNewestHolderOfEachCheckSeparately) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 2);
  ASSERT_TRUE(spool.append(1, envelope(1, {"disk_encryption"})).ok());
  ASSERT_TRUE(spool.append(2, envelope(2, {"screen_lock"})).ok());
  ASSERT_TRUE(spool.append(3, envelope(3, {"vpn"})).ok());
  ASSERT_TRUE(spool.append(4, envelope(4, {"vpn"})).ok());
  // Over the bound, but 1, 2 and 4 each hold the newest result of a check: only 3 can go.
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{1, 2, 4}));
  ASSERT_TRUE(spool.append(5, envelope(5, {"disk_encryption", "screen_lock", "vpn"})).ok());
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{4, 5}));
}

TEST(SpoolTest, UnparsableReportsProtectNothing) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 2);
  ASSERT_TRUE(spool.append(1, "not json").ok());
  ASSERT_TRUE(spool.append(2, envelope(2)).ok());
  ASSERT_TRUE(spool.append(3, envelope(3)).ok());
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{2, 3}));
}

TEST(SpoolTest, AReportLargerThanTheWholeBoundIsRefusedAndNotWritten) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 100, 1000);
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  Status s = spool.append(2, envelope(2, kAllChecks, 0, 2000));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("report 2 not spooled in " + tmp.path() + "/spool"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("1000 bytes"), std::string::npos) << s.message();
  EXPECT_EQ(listed(spool), std::vector<int64_t>{1});
  EXPECT_EQ(spool.dropped(), 0) << "nothing was dropped to make room for it";
}

TEST(SpoolTest, LoweringTheBoundKeepsOlderLargerReportsReadable) {
  TempDir tmp;
  std::string dir = tmp.path() + "/spool";
  ASSERT_TRUE(Spool(dir).append(1, envelope(1, kAllChecks, 0, 5000)).ok());
  Spool smaller(dir, 100, 1000);
  EXPECT_EQ(smaller.read(1)->size(), envelope(1, kAllChecks, 0, 5000).size());
}

// --- the drop count, handed to envelopes ------------------------------------------------------

TEST(SpoolTest, DropCountIsHandedToOneReportAndEndsWhenItIsAcknowledged) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 2);
  EXPECT_EQ(*spool.takeDroppedForReport(1), 0) << "nothing dropped: no field";
  for (int64_t seq = 1; seq <= 4; ++seq) ASSERT_TRUE(spool.append(seq, envelope(seq)).ok());
  ASSERT_EQ(spool.dropped(), 2);

  EXPECT_EQ(*spool.takeDroppedForReport(5), 2);
  EXPECT_EQ(*spool.takeDroppedForReport(5), 2) << "idempotent for the same report";
  ASSERT_TRUE(spool.append(5, envelope(5, kAllChecks, 2)).ok());  // drops 3
  EXPECT_EQ(spool.drops()->unreported, 3);
  EXPECT_EQ(*spool.takeDroppedForReport(6), 1) << "only what report 5 does not carry";
  ASSERT_TRUE(spool.append(6, envelope(6, kAllChecks, 1)).ok());  // drops 4
  ASSERT_TRUE(spool.remove(5).ok());                              // acknowledged
  EXPECT_EQ(spool.drops()->unreported, 2) << "report 6's 1 and the drop of 4";
  ASSERT_TRUE(spool.remove(6).ok());
  EXPECT_EQ(spool.drops()->unreported, 1);
  EXPECT_EQ(spool.dropped(), 4) << "the lifetime total stays";
  // A restart keeps all of it.
  Spool restarted(tmp.path() + "/spool", 2);
  EXPECT_EQ(restarted.drops()->unreported, 1);
  EXPECT_EQ(*restarted.takeDroppedForReport(7), 1);
}

TEST(SpoolTest, TheCountOfADroppedReportGoesBackToThePool) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 2);
  for (int64_t seq = 1; seq <= 3; ++seq) ASSERT_TRUE(spool.append(seq, envelope(seq)).ok());
  ASSERT_EQ(*spool.takeDroppedForReport(4), 1);
  ASSERT_TRUE(spool.append(4, envelope(4, kAllChecks, 1)).ok());  // drops 2
  ASSERT_TRUE(spool.append(5, envelope(5)).ok());                 // drops 3
  ASSERT_TRUE(spool.append(6, envelope(6)).ok());                 // drops 4, which carried 1
  EXPECT_EQ(spool.dropped(), 4);
  EXPECT_EQ(spool.drops()->unreported, 4);
  EXPECT_EQ(*spool.takeDroppedForReport(7), 4);
}

TEST(SpoolTest, TheCountOfAReportNeverSpooledGoesBackToThePool) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 1);
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  ASSERT_TRUE(spool.append(2, envelope(2)).ok());  // drops 1
  ASSERT_EQ(*spool.takeDroppedForReport(3), 1);
  // Report 3 is never appended (disk full, or a crash): the next report carries the count.
  EXPECT_EQ(*spool.takeDroppedForReport(4), 1);
  ASSERT_TRUE(spool.append(4, envelope(4, kAllChecks, 1)).ok());
  ASSERT_TRUE(spool.remove(4).ok());
  EXPECT_EQ(spool.drops()->unreported, 1) << "the drop of 2 when 4 came in";
}

TEST(SpoolTest, DiscardingARefusedReportReturnsItsCount) {
  TempDir tmp;
  Spool spool(tmp.path() + "/spool", 1);
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  ASSERT_TRUE(spool.append(2, envelope(2)).ok());  // drops 1
  ASSERT_EQ(*spool.takeDroppedForReport(3), 1);
  ASSERT_TRUE(spool.append(3, envelope(3, kAllChecks, 1)).ok());  // drops 2
  ASSERT_TRUE(spool.discard(3).ok());                             // the server refused it for good
  EXPECT_TRUE(listed(spool).empty());
  EXPECT_EQ(spool.dropped(), 2);
  EXPECT_EQ(*spool.takeDroppedForReport(4), 2);
}

TEST(SpoolTest, ACorruptCounterFileIsSetAsideAndSpoolingGoesOn) {
  TempDir tmp;
  tmp.write("spool/dropped.json", "{\"total\": -3");
  Spool spool(tmp.path() + "/spool");
  EXPECT_EQ(spool.drops().status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(spool.append(1, envelope(1)).ok());
  EXPECT_EQ(spool.dropped(), 0);
  EXPECT_EQ(*PosixFileLayer().readFile(tmp.path() + "/spool/dropped.json.corrupt", 100),
            "{\"total\": -3");
}

// --- disk full and failing steps ----------------------------------------------------------------

TEST(SpoolTest, DiskFullAtAnyStepIsAClearErrorAndLeavesNothingPartial) {
  for (Op op : {Op::kCreate, Op::kWrite, Op::kSyncFile, Op::kClose, Op::kRename}) {
    SCOPED_TRACE(static_cast<int>(op));
    TempDir tmp;
    FaultFileLayer files(tmp.path());
    std::string dir = tmp.path() + "/spool";
    Spool spool(dir, with(&files));
    ASSERT_TRUE(spool.append(1, envelope(1)).ok());
    files.failNth(op, 1, ENOSPC);
    Status s = spool.append(2, envelope(2));
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
    EXPECT_TRUE(s.message().starts_with("disk full: report 2 not spooled in " + dir))
        << s.message();
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
    EXPECT_EQ(namesIn(dir), std::vector<std::string>{"00000000000000000001.json"});
    // Space again: spooling goes on.
    ASSERT_TRUE(spool.append(3, envelope(3)).ok());
    EXPECT_EQ(listed(spool), (std::vector<int64_t>{1, 3}));
  }
}

TEST(SpoolTest, AnIoErrorOnFsyncFailsTheAppendAndLeavesNoTrace) {
  TempDir tmp;
  FaultFileLayer files(tmp.path());
  Spool spool(tmp.path() + "/spool", with(&files));
  files.failNth(Op::kSyncFile, 1, EIO);
  Status s = spool.append(1, envelope(1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fsync"), std::string::npos) << s.message();
  EXPECT_TRUE(namesIn(tmp.path() + "/spool").empty());
}

TEST(SpoolTest, RealFullTmpfsGivesDiskFullAndTheSpoolStaysUsable) {
  if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root to mount a tmpfs in a namespace";
  TempDir tmp;
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: its own mount namespace, a 64 KiB tmpfs, fill it through the spool.
    ::close(pipefd[0]);
    auto say = [&](const std::string& m) {
      (void)!::write(pipefd[1], m.data(), m.size());
      ::_exit(1);
    };
    if (::unshare(CLONE_NEWNS) != 0) say("unshare: " + std::string(std::strerror(errno)));
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) say("make private");
    if (::mount("hearth-spool-test", tmp.path().c_str(), "tmpfs", 0, "size=64k,mode=0755") != 0) {
      say("mount tmpfs: " + std::string(std::strerror(errno)));
    }
    std::string dir = tmp.path() + "/spool";
    Spool spool(dir);
    Status s;
    int64_t seq = 1;
    for (; seq < 1000 && s.ok(); ++seq) s = spool.append(seq, envelope(seq, kAllChecks, 0, 3000));
    --seq;
    if (s.ok()) say("the 64 KiB tmpfs never filled");
    if (s.code() != StatusCode::kResourceExhausted ||
        !s.message().starts_with("disk full: report " + std::to_string(seq) + " not spooled in " +
                                 dir)) {
      say("unexpected error: " + s.toString());
    }
    for (const auto& n : namesIn(dir)) {
      if (n.starts_with(".tmp")) say("temp file left behind: " + n);
    }
    auto l = spool.list();
    if (!l.ok() || l->empty() || l->back() != seq - 1) say("the spool lost what it had");
    for (int64_t got : *l) {
      auto body = spool.read(got);
      if (!body.ok() || *body != envelope(got, kAllChecks, 0, 3000)) say("a report is damaged");
    }
    // Delivering one frees space: spooling goes on.
    if (!spool.remove(l->front()).ok()) say("remove failed");
    Status again = spool.append(seq, envelope(seq, kAllChecks, 0, 3000));
    if (!again.ok()) say("append after freeing space: " + again.toString());
    std::string done = "ok " + s.message();
    (void)!::write(pipefd[1], done.data(), done.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
}

// --- crash safety: a power cut at every operation ----------------------------------------------

// A scratch directory on tmpfs when there is one: the fault layer models durability itself, so
// the crash loops need no disk, and ext4's metadata journal would make them slow.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    tmpl += "/hearth-spool-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    EXPECT_FALSE(path_.empty()) << "mkdtemp: " << std::strerror(errno);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What the workload did, for checking what survives.
struct Journal {
  std::map<int64_t, std::string> attempted;  // sequence -> bytes given to append()
  std::set<int64_t> appended;                // append() returned OK
  std::set<int64_t> remove_attempted;
  std::set<int64_t> removed;           // remove() returned OK
  std::map<int64_t, int64_t> carried;  // sequence -> "dropped" it carries
  std::vector<int64_t> sequences;      // NextSequence() results that returned OK
};

// A daemon's life in miniature: sequence, claim the drop count, append; offline for the first
// half (the bound of 4 makes it drop; vpn-only reports make protection matter), then online,
// delivering the oldest one or two after each cycle (so reports carrying a count are
// acknowledged). Stops at the first error (after a power cut every operation fails).
void runWorkload(FaultFileLayer& files, const std::string& state, Journal& j, int cycles) {
  Spool spool(state + "/spool", with(&files, 4));
  for (int i = 0; i < cycles; ++i) {
    auto spooled = spool.list();
    if (!spooled.ok()) return;
    auto choice = NextSequence(state, spooled->empty() ? 0 : spooled->back(), files);
    if (!choice.ok()) return;
    const int64_t* seq = &choice->next;
    j.sequences.push_back(*seq);
    auto dropped = spool.takeDroppedForReport(*seq);
    if (!dropped.ok()) return;
    std::vector<std::string> checks =
        (*seq % 3 == 0) ? kAllChecks : std::vector<std::string>{"vpn"};
    std::string bytes = envelope(*seq, checks, *dropped, static_cast<size_t>(*seq % 5) * 40);
    j.attempted[*seq] = bytes;
    j.carried[*seq] = *dropped;
    if (!spool.append(*seq, bytes).ok()) return;
    j.appended.insert(*seq);
    if (!CommitSequence(state, *seq, files).ok()) return;
    int deliveries = i < cycles / 2 ? 0 : (i % 2 == 0 ? 2 : 1);
    for (int k = 0; k < deliveries; ++k) {
      auto l = spool.list();
      if (!l.ok()) return;
      if (l->empty()) break;
      j.remove_attempted.insert(l->front());
      if (!spool.remove(l->front()).ok()) return;
      j.removed.insert(l->front());
    }
  }
}

// Everything the spool promises, after a crash and a restart.
void checkAfterCrash(FaultFileLayer& files, const std::string& state, const Journal& j) {
  Spool spool(state + "/spool", with(&files, 4));
  ASSERT_TRUE(spool.recover().ok());
  auto l = spool.list();
  ASSERT_TRUE(l.ok()) << l.status().toString();
  std::set<int64_t> present(l->begin(), l->end());
  ASSERT_EQ(present.size(), l->size()) << "a report is listed twice";
  for (int64_t seq : *l) {
    auto it = j.attempted.find(seq);
    ASSERT_NE(it, j.attempted.end()) << "report " << seq << " was never appended";
    auto body = spool.read(seq);
    ASSERT_TRUE(body.ok()) << body.status().toString();
    EXPECT_EQ(*body, it->second) << "report " << seq << " is torn";
  }
  for (const auto& n : namesIn(state + "/spool")) {
    EXPECT_FALSE(n.starts_with(".tmp")) << "recover() left " << n;
  }
  for (int64_t seq : j.removed) EXPECT_EQ(present.count(seq), 0u) << seq << " came back";
  // Every acknowledged append is there, or was dropped and counted: exactly.
  int64_t lost = 0;
  for (int64_t seq : j.appended) {
    if (present.count(seq) == 0 && j.remove_attempted.count(seq) == 0) ++lost;
  }
  auto drops = spool.drops();
  ASSERT_TRUE(drops.ok());
  EXPECT_EQ(drops->total, lost) << "drops counted vs reports that vanished";
  // The count reached the server exactly once: the part no longer unreported was carried by an
  // acknowledged report (a remove cut short may or may not have ended its claim).
  // The workload removes only acknowledged reports, so a remove cut short that took the report
  // away must have ended its claim; one that left it may have (it is sent and stored again).
  int64_t acked = 0, maybe = 0;
  bool must = false;
  for (int64_t seq : j.removed) acked += j.carried.at(seq);
  for (int64_t seq : j.remove_attempted) {
    if (j.removed.count(seq) != 0) continue;
    maybe = j.carried.at(seq);
    must = present.count(seq) == 0;
  }
  int64_t reported = drops->total - drops->unreported;
  EXPECT_TRUE(reported == acked + maybe || (!must && reported == acked))
      << "reported " << reported << ", acknowledged " << acked << " (+" << maybe << ")";
  // A number whose report was spooled is never reused, and none is skipped (only a number
  // nothing was spooled under comes back).
  auto now_spooled = spool.list();
  ASSERT_TRUE(now_spooled.ok());
  auto next = NextSequence(state, now_spooled->empty() ? 0 : now_spooled->back(), files);
  ASSERT_TRUE(next.ok());
  // (A report whose append() failed at the cut may still have survived: then it is the last.)
  int64_t last = j.appended.empty() ? 0 : *j.appended.rbegin();
  if (!now_spooled->empty()) last = std::max(last, now_spooled->back());
  EXPECT_EQ(next->next, last + 1);
  // And the spool works on.
  ASSERT_TRUE(spool.append(next->next, envelope(next->next)).ok());
  EXPECT_EQ(*spool.read(next->next), envelope(next->next));
}

void crashAtEveryPoint(CrashMode mode, uint32_t seeds) {
  constexpr int kCycles = 10;
  int points = 0;
  {
    ScratchDir tmp;
    NoSyncLayer real;
    FaultFileLayer files(tmp.path(), real);
    Journal j;
    runWorkload(files, tmp.path(), j, kCycles);
    points = files.mutatingOps();
    std::printf("[ spool ] %d power-cut points, %zu seeds each\n", points, size_t{seeds});
    ASSERT_EQ(j.appended.size(), static_cast<size_t>(kCycles)) << "the workload runs clean";
    ASSERT_GT(Spool(tmp.path() + "/spool", with(&files, 4)).dropped(), 0) << "and drops";
    ASSERT_TRUE(std::any_of(j.removed.begin(), j.removed.end(), [&](int64_t seq) {
      return j.carried.at(seq) > 0;
    })) << "and acknowledges reports that carry a drop count";
  }
  for (int point = 0; point <= points; ++point) {
    for (uint32_t seed = 0; seed < seeds; ++seed) {
      SCOPED_TRACE("power cut after operation " + std::to_string(point) + ", seed " +
                   std::to_string(seed));
      ScratchDir tmp;
      NoSyncLayer real;
      FaultFileLayer files(tmp.path(), real);
      Journal j;
      files.cutPowerAfter(point);
      runWorkload(files, tmp.path(), j, kCycles);
      ASSERT_TRUE(files.crash(mode, seed * 7919 + static_cast<uint32_t>(point)).ok());
      checkAfterCrash(files, tmp.path(), j);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(SpoolCrashTest, APowerCutAtAnyOperationLosesNoAcknowledgedReport) {
  crashAtEveryPoint(CrashMode::kDropUnsynced, 1);
}

TEST(SpoolCrashTest, TornWritesAndPartlyCommittedRenamesAtAnyOperationAreHarmless) {
  crashAtEveryPoint(CrashMode::kRandom, 3);
}

TEST(SpoolCrashTest, TwoPowerCutsInARowDuringRecoveryAreHarmless) {
  // A cut inside recover() itself (finishing an interrupted drop) must be recoverable too.
  ScratchDir tmp;
  NoSyncLayer real;
  FaultFileLayer files(tmp.path(), real);
  std::string dir = tmp.path() + "/spool";
  {
    Spool spool(dir, with(&files, 2));
    for (int64_t seq = 1; seq <= 3; ++seq) ASSERT_TRUE(spool.append(seq, envelope(seq)).ok());
  }
  // A drop in progress: its intent is durable when the first unlink (the victim's) fails.
  {
    Spool spool(dir, with(&files, 2));
    ASSERT_TRUE(spool.recover().ok());
    files.failNth(Op::kUnlink, 1, EIO);
    Status s = spool.append(4, envelope(4));
    EXPECT_NE(s.message().find("report 4 is spooled"), std::string::npos) << s.message();
    ASSERT_TRUE(files.crash().ok());
  }
  for (int cut = 0; cut < 10; ++cut) {
    Spool spool(dir, with(&files, 2));
    files.cutPowerAfter(cut);
    (void)spool.recover();
    ASSERT_TRUE(files.crash().ok());
  }
  Spool spool(dir, with(&files, 2));
  ASSERT_TRUE(spool.recover().ok());
  EXPECT_EQ(listed(spool), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(spool.dropped(), 2) << "1 when 3 came in, 2 when 4 came in: each counted once";
}

// --- the sequence counter under power cuts ------------------------------------------------------

TEST(NextSequenceTest, CountsFromOneAndNamesACorruptFile) {
  TempDir tmp;
  EXPECT_EQ(NextSequence(tmp.path(), 0)->next, 1);
  EXPECT_EQ(NextSequence(tmp.path(), 0)->next, 1) << "a number nothing used is handed out again";
  ASSERT_TRUE(CommitSequence(tmp.path(), 1).ok());
  EXPECT_EQ(NextSequence(tmp.path(), 0)->next, 2);
  EXPECT_EQ(NextSequence(tmp.path(), 7)->next, 8)
      << "a report still in the spool is never overtaken";
  // Issue 13 defect 5: a corrupt file is repaired (and named), not a dead end.
  tmp.write("sequence", "banana\n");
  auto bad = NextSequence(tmp.path(), 0);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->next, 1);
  EXPECT_NE(bad->repaired.find(tmp.path() + "/sequence"), std::string::npos);
}

// The daemon's order (runtime.cc): number, spool, commit; acknowledged reports are removed later.
// Power cuts at any operation: a number whose report was spooled is never handed out again, and
// no number is skipped (the server counts a gap as a missing report).
TEST(NextSequenceTest, NeitherReusesNorSkipsANumberAcrossPowerCuts) {
  for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kRandom}) {
    ScratchDir tmp;
    NoSyncLayer real;
    FaultFileLayer files(tmp.path(), real);
    int64_t spooled_ever = 0;  // highest sequence whose append() returned OK
    std::mt19937 rng(42);
    for (int round = 0; round < 300; ++round) {
      Spool spool(tmp.path() + "/spool", with(&files));
      ASSERT_TRUE(spool.recover().ok()) << "round " << round;
      files.cutPowerAfter(static_cast<int>(rng() % 30));
      for (;;) {
        auto l = spool.list();
        if (!l.ok()) break;
        auto choice = NextSequence(tmp.path(), l->empty() ? 0 : l->back(), files);
        if (!choice.ok()) break;
        const int64_t* n = &choice->next;
        // (A report whose append() failed at a cut may have survived it: it counts as spooled.)
        if (!l->empty()) spooled_ever = std::max(spooled_ever, l->back());
        ASSERT_EQ(*n, spooled_ever + 1) << "reused or skipped a number (round " << round << ")";
        if (!spool.append(*n, envelope(*n)).ok()) break;
        spooled_ever = *n;
        if (!CommitSequence(tmp.path(), *n, files).ok()) break;
        if (rng() % 2 == 0 && !spool.remove(*n).ok()) break;  // acknowledged by the server
      }
      ASSERT_TRUE(files.crash(mode, static_cast<uint32_t>(round)).ok());
    }
    EXPECT_GT(spooled_ever, 100);
  }
}

}  // namespace
}  // namespace hearth::agent
