#include "hearth/runner.h"

#include <chrono>

#include "hearth/text.h"

namespace hearth {

Report RunChecks(const SystemView& system, const Policy& policy,
                 const std::vector<std::unique_ptr<Check>>& checks, const RunOptions& options) {
  Report report;
  report.level = policy.level;
  report.policy_version = policy.version;
  report.evaluated_at = system.now();
  report.host = CollectHostInfo(system);
  CheckParams params{policy, options.state_dir, options.state_read_only};
  for (const auto& check : checks) {
    if (!policy.enabled(check->id())) continue;
    auto start = std::chrono::steady_clock::now();
    StatusOr<CheckResult> r = check->run(system, params);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CheckResult result;
    if (r.ok()) {
      result = std::move(r).value();
    } else {
      result.verdict = Verdict::kUnknown;
      result.setSummary(i18n::Msg("Could not tell: {1}", {i18n::Lit(r.status().message())}));
      result.evidence = json::Value::object();
      result.evidence.set("error", r.status().toString());
      Advice a;
      a.code = "check_failed";
      a.steps.push_back(
          i18n::Msg("Hearth could not check this. If it persists, contact your IT "
                    "department and include the summary above."));
      result.addAdvice(std::move(a));
    }
    result.id = std::string(check->id());
    result.required = policy.required(check->id());
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    report.checks.push_back(std::move(result));
  }
  report.compliant = isCompliant(report.checks);
  AddCompanyWords(policy, report);
  return report;
}

void AddCompanyWords(const Policy& policy, Report& report) {
  using i18n::Lit;
  using i18n::Msg;
  if (!policy.description.empty()) report.description = i18n::Local(policy.description);
  const Helpdesk& h = policy.helpdesk;
  if (!h.empty()) {
    std::vector<i18n::Message> parts;
    parts.push_back(h.name.empty() ? Msg("your IT department") : i18n::Local(h.name));
    if (!h.phone.empty()) parts.push_back(Msg("phone {1}", {Lit(h.phone)}));
    if (!h.email.empty()) parts.push_back(Lit(h.email));
    if (!h.url.empty()) parts.push_back(Lit(h.url));
    report.helpdesk = Msg("Questions? Contact {1}", {i18n::Joined(parts, ", ")});
  }
  for (auto& c : report.checks) {
    const PolicyCheck* p = policy.find(c.id);
    if (p != nullptr && !p->help_url.empty()) c.help_url = i18n::Local(p->help_url);
  }
}

HostInfo CollectHostInfo(const SystemView& system) {
  HostInfo h;
  if (auto name = system.readFile("/proc/sys/kernel/hostname", 4096); name.ok()) {
    h.hostname = text::trim(*name);
  } else if (auto etc = system.readFile("/etc/hostname", 4096); etc.ok()) {
    h.hostname = text::trim(*etc);
  }
  if (auto rel = system.readFile("/proc/sys/kernel/osrelease", 4096); rel.ok()) {
    h.kernel = text::trim(*rel);
  }
  auto osr = system.readFile("/etc/os-release", 64 * 1024);
  if (!osr.ok()) osr = system.readFile("/usr/lib/os-release", 64 * 1024);
  if (osr.ok()) {
    auto kv = text::parseOsRelease(*osr);
    if (auto it = kv.find("PRETTY_NAME"); it != kv.end()) h.os = it->second;
  }
  return h;
}

}  // namespace hearth
