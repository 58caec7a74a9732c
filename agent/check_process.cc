// The checks of a cycle in a disposable child process (see check_process.h).
#include "hearth/agent/check_process.h"

#include <future>
#include <sstream>
#include <sys/wait.h>
#include <thread>

#include "hearth/agent/child_process.h"
#include "hearth/agent/notify.h"
#include "hearth/agent/state_dir.h"
#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/files.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/result.h"
#include "hearth/runner.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxResultBytes = 8 << 20;

CheckResult timedOut(const std::string& id, std::chrono::seconds timeout) {
  CheckResult r;
  r.id = id;
  r.verdict = Verdict::kUnknown;
  r.setSummary(i18n::Msg("Could not tell: the check did not finish within {1} s",
                         {i18n::Lit(std::to_string(timeout.count()))}));
  r.evidence = json::Value::object();
  r.evidence.set("error", "timeout");
  r.evidence.set("timeout_seconds", static_cast<int64_t>(timeout.count()));
  Advice a;
  a.code = "check_timed_out";
  a.steps.push_back(
      i18n::Msg("Hearth could not check this in time (a disk, network share or tool "
                "did not answer)."));
  a.steps.push_back(
      i18n::Msg("If it persists, contact your IT department and include the summary above."));
  r.addAdvice(std::move(a));
  return r;
}

// The child's log lines travel back with its result in LogFormat::Journal()'s form, "<N>text"
// (N the syslog priority): the parent logs each at its level through its own Logger.
void relayLog(const std::string& lines, Logger& log) {
  for (const std::string& line : text::splitLines(lines)) {
    if (line.size() >= 3 && line[0] == '<' && line[2] == '>' && line[1] >= '3' && line[1] <= '7') {
      static constexpr LogLevel kByPriority[] = {
          LogLevel::kError, LogLevel::kWarning, LogLevel::kInfo, LogLevel::kInfo, LogLevel::kDebug};
      log.write(kByPriority[line[1] - '3'], line.substr(3));
    } else if (!text::trim(line).empty()) {
      log.info(line);
    }
  }
}

}  // namespace

json::Value RunChecksWithTimeouts(const SystemView& view, const Policy& policy,
                                  const CheckProcessOptions& o, Logger& log) {
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
      log.warning("check " + id + " did not finish within " +
                  std::to_string(o.check_timeout.count()) + " s; reported unknown");
      CheckResult t = timedOut(id, o.check_timeout);
      t.required = policy.required(id);
      report.checks.push_back(std::move(t));
    }
  }
  report.compliant = isCompliant(report.checks);
  AddCompanyWords(policy, report);
  if (o.notify) {
    NotifyOptions no;
    no.state_file = o.notify_state_file;
    no.control_socket = o.control_socket;
    no.asked_by = o.asked_by;
    no.quiet_from = policy.notifications.quiet_from;
    no.quiet_to = policy.notifications.quiet_to;
    // The company's view after the last report (deadlines, exemptions), as status keeps it.
    if (!o.state_dir.empty()) {
      if (auto text = ReadFileBounded(AgentPathsFor(o.state_dir).status, 1 << 20); text.ok()) {
        if (auto status = json::parse(*text); status.ok()) {
          if (const json::Value* v = status->find("server_view")) no.server_view = *v;
        }
      }
    }
    auto sent = NotifyFailures(view, report, no, log);
    if (!sent.ok()) log.warning("notifications: " + sent.status().message());
  }
  return report.toJson();
}

StatusOr<json::Value> RunChecksIsolated(const Policy& policy, const CheckProcessOptions& o,
                                        Logger& log) {
  auto makeView = [&]() -> std::unique_ptr<SystemView> {
    return o.make_view ? o.make_view() : NewLiveSystemView();
  };
  if (o.in_process) {
    auto view = makeView();
    return RunChecksWithTimeouts(*view, policy, o, log);
  }
  ChildSpec spec;
  spec.name = "hearth-check";
  spec.run = [&](int channel) {
    auto* view = makeView().release();  // leaked on purpose, as the checks
    std::ostringstream lines;
    Logger child_log(lines, LogLevel::kDebug, LogFormat::Journal());
    json::Value out = json::Value::object();
    out.set("result", RunChecksWithTimeouts(*view, policy, o, child_log));
    out.set("log", lines.str());
    // Never returns into the caller (timed-out checks may still be running): the child exits.
    return WriteFrame(channel, json::write(out)).ok() ? 0 : 1;
  };
  log.stream().flush();
  HEARTH_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(spec));
  size_t n_checks = 0;
  for (const auto& check : policy.checks) {
    if (o.only.empty() || o.only.count(check.id) != 0) ++n_checks;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  o.check_timeout * static_cast<int64_t>(n_checks + 1) + std::chrono::seconds(30);
  // The result is one frame: read up to its length, never waiting for end of file (a command a
  // check started may still hold the channel).
  auto frame = child->receive(kMaxResultBytes, deadline, o.interrupt_fd);
  if (!frame.ok()) {
    const std::optional<int> ended = child->kill();
    switch (frame.status().code()) {
      case StatusCode::kDeadlineExceeded:
        return DeadlineExceededError("the check run did not finish in time");
      case StatusCode::kDataLoss:
        return ResourceExhaustedError("the check result is larger than 8 MiB");
      case StatusCode::kUnavailable:
        if (frame.status().message() == "interrupted") return frame.status();
        if (ended && WIFSIGNALED(*ended)) {
          return InternalError("the check process was killed by signal " +
                               std::to_string(WTERMSIG(*ended)));
        }
        return InternalError("the check process ended without a complete result");
      default:
        return frame.status();
    }
  }
  // It exits right after sending; one that does not within half a second is killed.
  auto ended = child->wait(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
  if (ended.ok() && (!WIFEXITED(*ended) || WEXITSTATUS(*ended) != 0)) {
    return InternalError(
        WIFSIGNALED(*ended)
            ? "the check process was killed by signal " + std::to_string(WTERMSIG(*ended))
            : "the check process failed with status " + std::to_string(WEXITSTATUS(*ended)));
  }
  HEARTH_ASSIGN_OR_RETURN(json::Value answer,
                          json::parse(*frame, {.max_depth = 64, .max_bytes = kMaxResultBytes}));
  const json::Value* child_log = answer.find("log");
  if (child_log != nullptr && child_log->isString()) relayLog(child_log->asString(), log);
  const json::Value* result = answer.find("result");
  if (result == nullptr || !result->isObject()) {
    return InternalError("the check process sent no result");
  }
  return *result;
}

}  // namespace hearth::agent
