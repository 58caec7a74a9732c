// The checks of a cycle in a disposable child process (see check_process.h).
#include "hearth/agent/check_process.h"

#include <future>
#include <sstream>
#include <thread>

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
  return RunChecksInChild(policy, o, log);
}

}  // namespace hearth::agent
