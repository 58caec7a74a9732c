#include "hearth/agent/check_process.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <future>
#include <optional>
#include <ostream>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "child_process.h"
#include "hearth/agent/notify.h"
#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/protocol/crypto.h"
#include "hearth/result.h"
#include "hearth/runner.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxResultBytes = 8 << 20;

CheckResult timedOut(const std::string& id, std::chrono::seconds timeout) {
  CheckResult r;
  r.id = id;
  r.verdict = Verdict::kUnknown;
  r.summary =
      "Could not tell: the check did not finish within " + std::to_string(timeout.count()) + " s";
  r.evidence = json::Value::object();
  r.evidence.set("error", "timeout");
  r.evidence.set("timeout_seconds", static_cast<int64_t>(timeout.count()));
  r.remediation =
      "Hearth could not check this in time (a disk, network share or tool did not answer). If it "
      "persists, contact your IT department and include the summary above.";
  return r;
}

// Reads "<length>\n<body>" and stops once the body is complete (or at EOF).
bool readAllWithDeadline(int fd, std::string* out, std::chrono::steady_clock::time_point deadline,
                         int interrupt_fd, Status* why) {
  std::optional<size_t> expect;
  size_t body_at = 0;
  while (true) {
    if (!expect) {
      size_t nl = out->find('\n');
      if (nl != std::string::npos) {
        expect = static_cast<size_t>(std::strtoull(out->substr(0, nl).c_str(), nullptr, 10));
        body_at = nl + 1;
      }
    }
    if (expect && out->size() >= body_at + *expect) {
      *out = out->substr(body_at, *expect);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *why = DeadlineExceededError("the check run did not finish in time");
      return false;
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
    int r = ::poll(fds, interrupt_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (r < 0) {
      if (errno == EINTR) continue;
      *why = InternalError(std::string("poll: ") + std::strerror(errno));
      return false;
    }
    if (r == 0) continue;
    if (interrupt_fd >= 0 && (fds[1].revents & POLLIN) != 0) {
      *why = UnavailableError("interrupted");
      return false;
    }
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      *why = InternalError(std::string("read: ") + std::strerror(errno));
      return false;
    }
    if (n == 0) {
      *why = InternalError("the check process ended without a complete result");
      return false;
    }
    if (out->size() + static_cast<size_t>(n) > kMaxResultBytes + 32) {
      *why = ResourceExhaustedError("the check result is larger than 8 MiB");
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

// Children that did not exit in time (stuck in the kernel, e.g. on a hard NFS mount) are reaped
// later, without ever blocking the daemon on them.
std::vector<pid_t>& pendingChildren() {
  static auto* v = new std::vector<pid_t>();
  return *v;
}

void reapLater(pid_t pid) { pendingChildren().push_back(pid); }

// Waits up to `limit` for `pid`; false when it has not exited yet (it stays pending). Also reaps
// earlier pending children that exited meanwhile.
bool waitBounded(pid_t pid, int* wstatus, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  bool done = false;
  while (true) {
    auto& pending = pendingChildren();
    for (size_t i = 0; i < pending.size();) {
      int st = 0;
      pid_t r = ::waitpid(pending[i], &st, WNOHANG);
      if (r == pending[i] || (r < 0 && errno == ECHILD)) {
        if (pending[i] == pid) {
          *wstatus = st;
          done = true;
        }
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    if (done || std::chrono::steady_clock::now() >= end) return done;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

json::Value RunChecksWithTimeouts(const SystemView& view, const Policy& policy,
                                  const CheckProcessOptions& o, std::ostream& log) {
  Report report;
  report.level = policy.level;
  report.policy_version = policy.version;
  report.evaluated_at = view.now();
  report.host = CollectHostInfo(view);
  // Owned for the process's lifetime: a timed-out check's thread may still use them.
  // Leaked on purpose: a timed-out check's thread may still use them until the process ends.
  auto* checks = new std::vector<std::unique_ptr<Check>>(o.make_checks ? o.make_checks()
                                                                       : Checks().makeChecks());
  for (const auto& check : *checks) {
    std::string id(check->id());
    if (!policy.enabled(id)) continue;
    if (!o.only.empty() && o.only.count(id) == 0) continue;
    // Run it alone through the shared runner (error → unknown, timing, required flag).
    auto single = std::make_shared<Policy>(policy);
    auto promise = std::make_shared<std::promise<Report>>();
    auto future = promise->get_future();
    const Check* raw = check.get();
    std::string state_dir = o.state_dir;
    std::thread([&view, single, promise, raw, state_dir] {
      std::vector<std::unique_ptr<Check>> one;
      struct Borrowed : Check {
        const Check* inner;
        explicit Borrowed(const Check* c) : inner(c) {}
        std::string_view id() const override { return inner->id(); }
        StatusOr<CheckResult> run(const SystemView& s, const CheckParams& p) const override {
          return inner->run(s, p);
        }
      };
      one.push_back(std::make_unique<Borrowed>(raw));
      promise->set_value(RunChecks(view, *single, one, RunOptions{state_dir}));
    }).detach();
    if (future.wait_for(o.check_timeout) == std::future_status::ready) {
      Report r = future.get();
      for (auto& c : r.checks) report.checks.push_back(std::move(c));
    } else {
      log << "hearth-agent: check " << id << " did not finish within " << o.check_timeout.count()
          << " s; reported unknown\n";
      CheckResult t = timedOut(id, o.check_timeout);
      t.required = policy.required(id);
      report.checks.push_back(std::move(t));
    }
  }
  report.compliant = isCompliant(report.checks);
  if (o.notify) {
    auto sent = NotifyFailures(view, report, NotifyOptions{o.notify_state_file}, log);
    if (!sent.ok()) log << "hearth-agent: notifications: " << sent.status().message() << "\n";
  }
  return report.toJson();
}

StatusOr<json::Value> RunChecksIsolated(const Policy& policy, const CheckProcessOptions& o,
                                        std::ostream& log) {
  auto makeView = [&]() -> std::unique_ptr<SystemView> {
    return o.make_view ? o.make_view() : NewLiveSystemView();
  };
  if (o.in_process) {
    auto view = makeView();
    return RunChecksWithTimeouts(*view, policy, o, log);
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  log.flush();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    BecomeChildOf(parent, "hearth-check");
    ::close(pipefd[0]);
    auto* view = makeView().release();  // leaked on purpose, as the checks
    // The child's log lines travel back with the result (its own stream dies with it).
    std::ostringstream child_log;
    json::Value out = json::Value::object();
    out.set("result", RunChecksWithTimeouts(*view, policy, o, child_log));
    out.set("log", child_log.str());
    // Length-prefixed: the parent stops at the declared length instead of waiting for EOF (a
    // command a check started may still hold the pipe).
    std::string body = json::write(out);
    std::string text = std::to_string(body.size()) + "\n" + body;
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
      ssize_t w = ::write(pipefd[1], p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        ::_exit(1);
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    ::_exit(0);  // never returns into the caller: timed-out checks may still be running
  }
  ::close(pipefd[1]);
  size_t n_checks = 0;
  for (const auto& check : policy.checks) {
    if (o.only.empty() || o.only.count(check.id) != 0) ++n_checks;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  o.check_timeout * static_cast<int64_t>(n_checks + 1) + std::chrono::seconds(30);
  std::string out;
  Status why;
  bool complete = readAllWithDeadline(pipefd[0], &out, deadline, o.interrupt_fd, &why);
  ::close(pipefd[0]);
  if (!complete) ::kill(pid, SIGKILL);
  reapLater(pid);
  int wstatus = 0;
  bool exited = waitBounded(pid, &wstatus, std::chrono::milliseconds(500));
  if (!complete) {
    if (why.message().find("ended without") != std::string::npos && exited &&
        WIFSIGNALED(wstatus)) {
      return InternalError("the check process was killed by signal " +
                           std::to_string(WTERMSIG(wstatus)));
    }
    return why;
  }
  if (exited && (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)) {
    return InternalError(
        WIFSIGNALED(wstatus)
            ? "the check process was killed by signal " + std::to_string(WTERMSIG(wstatus))
            : "the check process failed with status " + std::to_string(WEXITSTATUS(wstatus)));
  }
  HEARTH_ASSIGN_OR_RETURN(json::Value answer,
                          json::parse(out, {.max_depth = 64, .max_bytes = kMaxResultBytes}));
  const json::Value* child_log = answer.find("log");
  if (child_log != nullptr && child_log->isString()) log << child_log->asString();
  const json::Value* result = answer.find("result");
  if (result == nullptr || !result->isObject()) {
    return InternalError("the check process sent no result");
  }
  return *result;
}

json::Value MergeCheckResults(const json::Value& full, const json::Value& partial) {
  json::Value merged = full;
  const json::Value* fresh = partial.find("checks");
  const json::Value* old = full.find("checks");
  if (fresh == nullptr || !fresh->isArray() || old == nullptr || !old->isArray()) return partial;
  json::Value checks = json::Value::array();
  std::set<std::string> replaced;
  auto idOf = [](const json::Value& c) {
    const json::Value* id = c.find("id");
    return id != nullptr && id->isString() ? id->asString() : std::string();
  };
  for (const auto& c : old->asArray()) {
    const json::Value* match = nullptr;
    for (const auto& f : fresh->asArray()) {
      if (idOf(f) == idOf(c)) match = &f;
    }
    checks.push(match != nullptr ? *match : c);
    if (match != nullptr) replaced.insert(idOf(c));
  }
  for (const auto& f : fresh->asArray()) {
    if (replaced.count(idOf(f)) == 0) checks.push(f);
  }
  bool compliant = true;
  for (const auto& c : checks.asArray()) {
    const json::Value* req = c.find("required");
    const json::Value* verdict = c.find("verdict");
    bool required = req == nullptr || !req->isBool() || req->asBool();
    std::string v = verdict != nullptr && verdict->isString() ? verdict->asString() : "unknown";
    if (required && v != "pass" && v != "not_applicable") compliant = false;
  }
  merged.set("checks", checks);
  merged.set("compliant", compliant);
  if (const json::Value* at = partial.find("evaluated_at")) merged.set("evaluated_at", *at);
  return merged;
}

std::string ResultFingerprint(const json::Value& result) {
  json::Value f = json::Value::object();
  for (const char* k : {"level", "policy_version", "compliant"}) {
    if (const json::Value* v = result.find(k)) f.set(k, *v);
  }
  json::Value checks = json::Value::array();
  if (const json::Value* cs = result.find("checks"); cs != nullptr && cs->isArray()) {
    for (const auto& c : cs->asArray()) {
      json::Value e = json::Value::object();
      for (const char* k : {"id", "verdict", "required", "summary"}) {
        if (const json::Value* v = c.find(k)) e.set(k, *v);
      }
      checks.push(e);
    }
  }
  f.set("checks", checks);
  return protocol::Sha256Hex(json::write(f));
}

}  // namespace hearth::agent
