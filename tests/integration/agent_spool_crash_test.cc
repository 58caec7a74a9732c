// The spool under SIGKILL: a helper process appends and removes reports through the real POSIX
// file layer while the test kills it at random points, over and over. After every kill the spool
// must open and list only complete reports; every append the helper announced as done is there
// unless it announced removing it (or, with a small bound, it was dropped and counted); nothing
// is listed twice and no sequence number is handed out twice.
//
// The spool lives on /dev/shm (tmpfs) when there is one: a SIGKILL does not lose the page cache,
// so the disk adds nothing but fsync latency, and a busy disk would leave the helper too few
// operations per run to be killed inside. HEARTH_SPOOL_CRASH_DIR=DIR puts it elsewhere (say on
// ext4), HEARTH_SPOOL_KILLS=N runs N kills instead of 200 (long fault loops, not for CI).
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <poll.h>
#include <random>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/agent/sequence.h"
#include "hearth/agent/spool.h"
#include "hearth/json.h"
#include "hearth/text.h"
#include "integration/spool_crash_envelope.h"
#include "support/programs.h"
#include "support/sanitizers.h"

extern char** environ;

namespace hearth::agent {
namespace {

using hearth::testing::SpoolCrashEnvelope;

// What the helpers announced, over all runs.
struct Events {
  std::set<int64_t> tried, appended, removing, removed;
};

// Runs the helper, kills it after `delay`, returns its announcements (complete lines only) and
// whether it was still running when killed.
struct Run {
  std::string out;
  bool killed = false;
  int exit_code = -1;
};

Run runAndKill(const std::vector<std::string>& argv, std::chrono::microseconds delay) {
  Run run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    run.out = "posix_spawn failed";
    return run;
  }
  // Reads what it says until `until` (poll's timeout is the only wait), or until its first
  // output when `first_only`.
  char buf[4096];
  bool eof = false;
  auto readUntil = [&](std::chrono::steady_clock::time_point until, bool first_only) {
    while (!eof && !(first_only && !run.out.empty())) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() < 0) break;
      pollfd p{fds[0], POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready <= 0) {
        if (std::chrono::steady_clock::now() >= until) break;
        continue;
      }
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) {
        eof = true;
        break;
      }
      run.out.append(buf, static_cast<size_t>(n));
    }
  };
  // The kill delay counts from the helper's "s 0" (it is up), not from the spawn: starting a
  // process took longer than the whole 15 ms window on a busy machine or under ASan, and then
  // too few runs got as far as the spool.
  readUntil(std::chrono::steady_clock::now() + std::chrono::seconds(60), true);
  readUntil(std::chrono::steady_clock::now() + delay, false);
  run.killed = ::kill(pid, SIGKILL) == 0;
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    run.killed = false;
    run.exit_code = WEXITSTATUS(status);
  }
  while (!eof) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    run.out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  return run;
}

// Adds the complete lines of `out` to `events`; fails the test on a repeated sequence.
void record(const std::string& out, Events& events) {
  std::string complete = out.substr(0, out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n'));
  for (const auto& line : text::splitLines(complete)) {
    if (line.size() < 3) continue;
    auto seq = text::parseInt(line.substr(2));
    ASSERT_TRUE(seq.has_value()) << line;
    switch (line[0]) {
      case 'a':
        // A number comes back only when the run that took it was killed before its report was
        // spooled (no gap for the server to count as missing); never after a confirmed append.
        ASSERT_TRUE(events.tried.insert(*seq).second || events.appended.count(*seq) == 0)
            << "sequence " << *seq << " used twice";
        break;
      case 'A':
        events.appended.insert(*seq);
        break;
      case 'r':
        events.removing.insert(*seq);
        break;
      case 'R':
        events.removed.insert(*seq);
        break;
      case 's':  // the helper is up
        break;
      default:
        FAIL() << "unexpected line from the helper: " << line;
    }
  }
}

// The bytes of a listed report must be exactly what the helper wrote for it.
void checkReport(const Spool& spool, int64_t seq, const Events& events) {
  ASSERT_EQ(events.tried.count(seq), 1u) << "report " << seq << " listed but never appended";
  auto body = spool.read(seq);
  ASSERT_TRUE(body.ok()) << "listed report " << seq << ": " << body.status().toString();
  auto v = json::parse(*body);
  ASSERT_TRUE(v.ok()) << "report " << seq << " is torn: " << v.status().message();
  const json::Value* d = v->find("dropped");
  int64_t dropped = d != nullptr && d->isInt() ? d->asInt() : 0;
  ASSERT_EQ(*body, SpoolCrashEnvelope(seq, dropped)) << "report " << seq << " is damaged";
}

void killLoop(size_t max_reports, int remove_every, bool expect_drops) {
  int kills = 200;
  if (const char* env = std::getenv("HEARTH_SPOOL_KILLS")) kills = std::atoi(env);
  std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  if (const char* env = std::getenv("HEARTH_SPOOL_CRASH_DIR")) base = env;
  std::string made = base + "/hearth-spool-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(made.data()), nullptr) << "mkdtemp under " << base;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{made};
  const std::string state = made;
  const std::string dir = state + "/spool";
  const std::vector<std::string> argv = {
      hearth::testing::BuiltProgram(HEARTH_SPOOL_CRASH_HELPER_PATH), state,
      std::to_string(max_reports), std::to_string(remove_every)};
  std::mt19937 rng(20261126);
  Events events;
  int killed_runs = 0;
  for (int round = 0; round < kills; ++round) {
    SCOPED_TRACE("kill " + std::to_string(round));
    // Sanitized code is slower: the same window in work, not in time.
    auto delay = std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, 15000 * testing::SanitizerSlowdown())(rng));
    Run run = runAndKill(argv, delay);
    ASSERT_TRUE(run.killed || run.exit_code == -1)
        << "the helper stopped by itself (exit " << run.exit_code << ")";
    ++killed_runs;
    record(run.out, events);
    if (::testing::Test::HasFatalFailure()) return;

    for (bool recovered : {false, true}) {
      // First as a reader would see it right after the crash, then after recover().
      Spool spool(dir, max_reports);
      if (recovered) {
        ASSERT_TRUE(spool.recover().ok());
      }
      auto listed = spool.list();
      ASSERT_TRUE(listed.ok()) << listed.status().toString();
      std::set<int64_t> present(listed->begin(), listed->end());
      ASSERT_EQ(present.size(), listed->size()) << "a report is listed twice";
      ASSERT_TRUE(std::is_sorted(listed->begin(), listed->end()));
      for (int64_t seq : *listed) {
        checkReport(spool, seq, events);
        if (::testing::Test::HasFatalFailure()) return;
      }
      for (int64_t seq : events.removed) {
        ASSERT_EQ(present.count(seq), 0u) << "removed report " << seq << " came back";
      }
      size_t lost = 0;  // announced as appended, not being removed, and gone
      for (int64_t seq : events.appended) {
        if (present.count(seq) == 0 && events.removing.count(seq) == 0) ++lost;
      }
      size_t gone = 0;  // tried, not confirmed removed, and gone (some never got written)
      for (int64_t seq : events.tried) {
        if (present.count(seq) == 0 && events.removed.count(seq) == 0) ++gone;
      }
      auto drops = spool.drops();
      ASSERT_TRUE(drops.ok()) << drops.status().toString();
      if (!expect_drops) {
        ASSERT_EQ(lost, 0u) << "an acknowledged append is missing";
        ASSERT_EQ(drops->total, 0);
      } else {
        ASSERT_GE(static_cast<size_t>(drops->total), lost) << "a drop was not counted";
        ASSERT_LE(static_cast<size_t>(drops->total), gone) << "a drop was counted twice";
      }
      if (recovered) {
        auto names = PosixFileLayer().listDir(dir);
        ASSERT_TRUE(names.ok()) << names.status().toString();
        for (const auto& n : *names) {
          ASSERT_FALSE(n.starts_with(".tmp")) << "recover() left " << n;
        }
      }
    }
    // The next number follows the last report spooled: none reused, none skipped.
    {
      Spool spool(dir, max_reports);
      auto listed = spool.list();
      ASSERT_TRUE(listed.ok());
      auto next = NextSequence(state, listed->empty() ? 0 : listed->back());
      ASSERT_TRUE(next.ok()) << next.status().toString();
      int64_t last = events.appended.empty() ? 0 : *events.appended.rbegin();
      if (!listed->empty()) last = std::max(last, listed->back());
      ASSERT_EQ(next->next, last + 1);
    }
  }
  EXPECT_EQ(killed_runs, kills);
  EXPECT_GT(events.appended.size(), static_cast<size_t>(kills)) << "the helper got going";
  EXPECT_GT(events.removed.size(), 0u);
  if (expect_drops) {
    EXPECT_GT(Spool(dir, max_reports).dropped(), 0);
  }
  std::printf("[ spool ] %d kills: %zu appends announced, %zu removed, %lld dropped\n", kills,
              events.appended.size(), events.removed.size(),
              static_cast<long long>(Spool(dir, max_reports).dropped()));
}

TEST(AgentSpoolCrashTest, SigkillAtRandomPointsLosesNothingAndDuplicatesNothing) {
  killLoop(10000, 2, false);
}

TEST(AgentSpoolCrashTest, SigkillWhileAFullSpoolDropsCountsEveryDropOnce) { killLoop(8, 3, true); }

}  // namespace
}  // namespace hearth::agent
