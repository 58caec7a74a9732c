// The agent under local faults (issue 13): a full state directory, a lost, corrupt or
// unwritable sequence counter, a reused sequence number. The real hearth-agent (`run --once`)
// against the real hearth-server on loopback (through the pass-through fault proxy of
// delivery_harness.h), read back through the admin API. Each test names the defect it keeps
// from coming back; each failed on main before the fix.
#include <algorithm>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "integration/delivery_harness.h"

namespace hearth {
namespace {

using namespace delivery_harness;  // NOLINT(google-build-using-namespace): the shared fixtures

class AgentReliabilityTest : public ProxiedAgentTest {
 protected:
  std::string sequenceFile() const { return agent_ + "/sequence"; }
  void writeAgentFile(const std::string& name, const std::string& content) {
    std::ofstream(agent_ + "/" + name, std::ios::trunc) << content;
  }
  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
};

// Defect 4b: with `sequence` deleted and the spool empty, the agent started again at 1 although
// the sent history held higher numbers (the server stored duplicates).
TEST_F(AgentReliabilityTest, Defect4SequenceFileDeletedContinuesAfterTheSentHistory) {
  expectRun(runOnce(), "report 2 spooled; 1 delivered; 0 waiting");
  expectRun(runOnce(), "report 3 spooled; 1 delivered; 0 waiting");
  ASSERT_EQ(::unlink(sequenceFile().c_str()), 0);
  expectRun(runOnce(), "report 4 spooled; 1 delivered; 0 waiting");
  expectStoredOnce(4);
  EXPECT_EQ(ReadFile(sequenceFile()), "5\n");
}

// Defect 4a: committing `sequence` failed after the report was spooled; the report was
// delivered, and the next one reused its number. (Here the commit fails because its temporary
// file's name is taken by a directory.)
TEST_F(AgentReliabilityTest, Defect4FailedSequenceCommitDoesNotReuseTheNumber) {
  const std::string blocker = agent_ + "/.tmp-sequence";
  ASSERT_EQ(::mkdir(blocker.c_str(), 0700), 0);
  RunResult failed = runOnce();
  expectRun(failed, "report 2 spooled; 1 delivered; 0 waiting");
  EXPECT_NE(failed.out.err.find(sequenceFile()), std::string::npos)
      << "the failed write is logged, naming the file: " << failed.out.err;
  EXPECT_EQ(ReadFile(sequenceFile()), "2\n") << "the commit did fail";
  expectRun(runOnce(), "report 3 spooled; 1 delivered; 0 waiting");
  ASSERT_EQ(::rmdir(blocker.c_str()), 0);
  expectRun(runOnce(), "report 4 spooled; 1 delivered; 0 waiting");
  expectStoredOnce(4);
}

// Defect 4, server side and the agent's recovery: the agent lost both its counter and its sent
// history, so only the server knows that 1..3 are taken. The server refuses the reused number
// (409 sequence_reused, next_sequence 4); the agent renumbers the report (same report_id),
// advances its counter and delivers it in the same run.
TEST_F(AgentReliabilityTest, Defect4ReusedSequenceIsRefusedAndTheAgentRenumbers) {
  expectRun(runOnce(), "report 2 spooled; 1 delivered; 0 waiting");
  expectRun(runOnce(), "report 3 spooled; 1 delivered; 0 waiting");
  ASSERT_EQ(::unlink(sequenceFile().c_str()), 0);
  auto wiped = RunProcess({"/bin/rm", "-rf", agent_ + "/sent"});
  ASSERT_EQ(wiped.exit_code, 0) << wiped.err;

  RunResult r = runOnce();
  expectRun(r, "report 1 spooled; 1 delivered; 0 waiting");
  EXPECT_NE(r.out.err.find("sent again as 4"), std::string::npos) << r.out.err;
  expectStoredOnce(4);
  EXPECT_EQ(ReadFile(sequenceFile()), "5\n") << "the counter moved past the new number";
  json::Value last = *json::parse(ReadFile(agent_ + "/last-report.json"));
  EXPECT_EQ(last.find("sequence")->asInt(), 4);
  expectRun(runOnce(), "report 5 spooled; 1 delivered; 0 waiting");
  expectStoredOnce(5);
}

// Defect 5: a corrupt `sequence` stopped every run (exit 1) for ever. It is repaired from the
// spool and the sent history, with a warning naming the file.
TEST_F(AgentReliabilityTest, Defect5CorruptSequenceFileIsRepairedAndNamed) {
  writeAgentFile("sequence", "banana\n");
  RunResult r = runOnce();
  expectRun(r, "report 2 spooled; 1 delivered; 0 waiting");
  EXPECT_NE(r.out.err.find(sequenceFile() + " is corrupt"), std::string::npos) << r.out.err;
  EXPECT_EQ(ReadFile(sequenceFile()), "3\n");
  writeAgentFile("sequence", std::string(200, '9'));  // too large to be a number
  expectRun(runOnce(), "report 3 spooled; 1 delivered; 0 waiting");
  expectStoredOnce(3);
}

// Defect 3: with the state directory full, every run died at "write policy.signed.json.tmp: No
// space left" before the checks and before delivery, so the spooled reports that delivery would
// free were never sent. Now: the checks run, the spool is delivered, the unchanged policy is not
// rewritten, and what cannot be written is logged once with the reason. The state directory is
// a small tmpfs, filled up, in a private mount namespace (root only).
TEST_F(AgentReliabilityTest, Defect3FullStateDirStillChecksAndDeliversTheSpool) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a tmpfs in a private mount namespace)";
  // Three reports wait in the spool: the server's port is unreachable for a while.
  setMode("hangup");
  for (int i = 0; i < 3; ++i) expectRun(runOnce(), "0 delivered; " + std::to_string(i + 1));
  setMode("pass");
  expectStoredOnce(1);

  const std::string out = dir_.path() + "/full";
  ASSERT_EQ(::mkdir(out.c_str(), 0700), 0);
  // Inside the namespace: the state directory is copied onto a 1 MiB tmpfs mounted over it,
  // filled to the last byte, and the agent runs once; the policy's mtime is taken before and
  // after. When the namespace ends the tmpfs is gone and the original directory is back.
  const std::string script =
      "set -e; cp -a '" + agent_ + "' '" + out + "/copy'; mount -t tmpfs -o size=1m,mode=0700 " +
      "tmpfs '" + agent_ + "'; cp -a '" + out + "/copy/.' '" + agent_ + "/'; " +
      "dd if=/dev/zero of='" + agent_ + "/filler' bs=4k 2>/dev/null || true; " + "touch '" +
      agent_ + "/probe' 2>/dev/null && echo probe-written > '" + agent_ + "/probe' && exit 90; " +
      "stat -c %Y.%y '" + agent_ + "/policy.signed.json' > '" + out + "/policy-before'; set +e; '" +
      kAgent + "' run --once --state-dir '" + agent_ + "' --config '" + dir_.path() +
      "/agent.conf' > '" + out + "/stdout' 2> '" + out + "/stderr'; echo $? > '" + out +
      "/rc'; stat -c %Y.%y '" + agent_ + "/policy.signed.json' > '" + out + "/policy-after'; true";
  auto ns = RunProcess(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script});
  ASSERT_EQ(ns.exit_code, 0) << "the tmpfs was not full: " << ns.out << ns.err;
  const std::string err = ReadFile(out + "/stderr");
  EXPECT_EQ(ReadFile(out + "/rc"), "0\n") << ReadFile(out + "/stdout") << err;
  EXPECT_NE(ReadFile(out + "/stdout").find("no report spooled (see above); 3 delivered; 0 waiting"),
            std::string::npos)
      << ReadFile(out + "/stdout") << err;
  expectStoredOnce(4);
  // The reason is said, once per file; the unchanged policy was not written at all.
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_EQ(count(err, "cannot write " + agent_ + "/spool "), 1u) << err;
  EXPECT_EQ(err.find("policy.signed.json"), std::string::npos) << err;
  EXPECT_EQ(ReadFile(out + "/policy-before"), ReadFile(out + "/policy-after"));
  // The checks ran: their report (number 5) was made, and only its spooling failed.
  EXPECT_NE(err.find("report 5 not spooled"), std::string::npos) << err;
}

// Defect 8: `run --once` started by many PCs at the same instant all reached the server in the
// same second (a few starved). It waits a random time up to start_jitter before its first
// request: said in the log, and bounded.
TEST_F(AgentReliabilityTest, Defect8RunOnceWaitsARandomStartJitterFirst) {
  dir_.write("agent.conf",
             "proxy = none\nconnect_timeout = 3s\nrequest_timeout = 5s\nstart_jitter = 2s\n"
             "log_level = debug\n");
  agent_prefix_ = {"/usr/bin/env", "-u", "HEARTH_START_JITTER"};  // (ctest sets it to 0)
  double longest = 0;
  for (int i = 0; i < 4; ++i) {
    RunResult r = runOnce();
    expectRun(r, "1 delivered; 0 waiting");
    EXPECT_NE(r.out.err.find("ms before the first request (start_jitter)"), std::string::npos)
        << r.out.err;
    longest = std::max(longest, r.seconds);
  }
  EXPECT_LT(longest, 2 + kRunBoundSeconds) << "bounded by start_jitter";
  // Turned off, it does not wait.
  dir_.write("agent.conf", "proxy = none\nstart_jitter = 0\nlog_level = debug\n");
  RunResult off = runOnce();
  expectRun(off, "1 delivered; 0 waiting");
  EXPECT_EQ(off.out.err.find("start_jitter"), std::string::npos) << off.out.err;
}

}  // namespace
}  // namespace hearth
