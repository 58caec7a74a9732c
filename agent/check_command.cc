#include "check_command.h"

#include <ostream>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/agent/config.h"
#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/flags.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/runner.h"
#include "hearth/system_view.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

constexpr const char* kCheckUsage =
    "Usage: hearth-agent check [--policy FILE] [--json] [--root DIR] [--state-dir DIR]\n"
    "                          [--config FILE]\n"
    "\n"
    "Evaluates this machine once against the policy and prints the result. Nothing is sent.\n"
    "\n"
    "  --policy FILE    the policy to judge against (default: /etc/hearth/policy.json)\n"
    "  --json           print the result as one JSON object\n"
    "  --root DIR       judge the machine whose files are mirrored under DIR (an image, a\n"
    "                   fixture tree); commands and routes come from DIR/.hearth/ recordings\n"
    "  --state-dir DIR  where first-seen dates and caches are kept (default: /var/lib/hearth;\n"
    "                   under --root only when given)\n"
    "  --config FILE    the agent's configuration; its `policy` is the default for --policy\n"
    "\n"
    "Exit codes: 0 compliant, 1 not compliant, 2 usage or configuration error.\n";

constexpr FlagSpec kCheckFlags[] = {
    {.name = "--policy", .non_empty = true},       {.name = "--root", .non_empty = true},
    {.name = "--state-dir", .non_empty = true},    {.name = "--json", .kind = FlagKind::kSwitch},
    {.name = "--help", .kind = FlagKind::kSwitch}, {.name = "-h", .kind = FlagKind::kSwitch},
    {.name = "--config", .non_empty = true},
};

const char* verdictLabel(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kUnknown:
      return "UNKNOWN";
    case Verdict::kNotApplicable:
      return "N/A";
  }
  return "?";
}

const char* verdictColor(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "\x1b[32m";
    case Verdict::kFail:
      return "\x1b[31m";
    case Verdict::kUnknown:
      return "\x1b[33m";
    case Verdict::kNotApplicable:
      return "\x1b[2m";
  }
  return "";
}

// Device-supplied strings may hold control characters: never let them drive the terminal.
std::string safeText(const std::string& s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  return out;
}

}  // namespace

std::string FormatReportText(const Report& report, bool color) {
  std::string o;
  const char* reset = color ? "\x1b[0m" : "";
  const char* bold = color ? "\x1b[1m" : "";
  o += bold;
  o += "Hearth compliance check";
  o += reset;
  o += " for level \"" + safeText(report.level) + "\" (policy version " +
       std::to_string(report.policy_version) + ")\n";
  if (!report.host.hostname.empty() || !report.host.os.empty()) {
    o += "Host: " + safeText(report.host.hostname);
    if (!report.host.os.empty()) o += ", " + safeText(report.host.os);
    if (!report.host.kernel.empty()) o += ", kernel " + safeText(report.host.kernel);
    o += "\n";
  }
  o += "Evaluated at " + formatRfc3339(report.evaluated_at) + "\n\n";
  size_t idw = 5;
  for (const auto& c : report.checks) idw = std::max(idw, c.id.size());
  auto pad = [](std::string s, size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
  };
  o += pad("CHECK", idw) + "  " + pad("RESULT", 8) + "  SUMMARY\n";
  for (const auto& c : report.checks) {
    o += pad(c.id, idw) + "  ";
    if (color) o += verdictColor(c.verdict);
    o += pad(verdictLabel(c.verdict), 8);
    if (color) o += reset;
    o += "  " + safeText(c.summary);
    if (!c.required) o += " (informational: not required)";
    o += "\n";
  }
  bool any_advice = false;
  for (const auto& c : report.checks) {
    if ((c.verdict == Verdict::kFail || c.verdict == Verdict::kUnknown) && !c.remediation.empty()) {
      if (!any_advice) o += "\nWhat to do:\n";
      any_advice = true;
      o += "  - " + c.id + ": " + safeText(c.remediation) + "\n";
    }
  }
  o += "\n";
  o += bold;
  if (report.compliant) {
    o += "This PC meets the agreed security level.";
  } else {
    bool unknown_only = true;
    for (const auto& c : report.checks) {
      if (c.required && c.verdict == Verdict::kFail) unknown_only = false;
    }
    o += unknown_only ? "This PC could not be confirmed to meet the agreed security level."
                      : "This PC does not meet the agreed security level.";
  }
  o += reset;
  o += "\n";
  return o;
}

int RunCheckCommand(const std::vector<std::string>& args, const CliEnvironment& env) {
  auto flags = ParseFlags(args, kCheckFlags);
  if (!flags.ok()) {
    env.err << "hearth-agent check: " << flags.status().message() << "\n";
    if (flags.status().code() == StatusCode::kNotFound) env.err << "\n" << kCheckUsage;
    return kExitUsage;
  }
  if (flags->has("--help") || flags->has("-h")) {
    env.out << kCheckUsage;
    return 0;
  }
  const std::string policy_arg = flags->get("--policy");
  const std::string root = flags->get("--root");
  const bool as_json = flags->has("--json");

  // --config, as every command takes it: the file must exist and be valid; its `policy` is the
  // policy used without --policy.
  std::string default_policy = env.default_policy_path;
  if (flags->has("--config")) {
    auto config = LoadAgentConfig(flags->get("--config"), true);
    if (!config.ok()) {
      env.err << "hearth-agent check: " << config.status().message() << "\n";
      return kExitUsage;
    }
    default_policy = config->fallback_policy;
  }
  std::string policy_path = policy_arg.empty() ? default_policy : policy_arg;
  auto policy = LoadPolicyFile(policy_path);
  if (!policy.ok()) {
    env.err << "hearth-agent check: ";
    if (policy_arg.empty() && policy.status().code() == StatusCode::kNotFound) {
      env.err << "no policy: " << policy_path
              << " does not exist and this PC is not enrolled. Give one with --policy FILE.\n";
    } else {
      env.err << policy.status().message() << "\n";
    }
    return kExitUsage;
  }

  std::unique_ptr<SystemView> view;
  if (!root.empty()) {
    auto rooted = NewRootedSystemView(root);
    if (!rooted.ok()) {
      env.err << "hearth-agent check: " << rooted.status().message() << "\n";
      return kExitUsage;
    }
    view = std::move(rooted).value();
  } else {
    view = NewLiveSystemView();
  }

  RunOptions options;
  if (flags->has("--state-dir")) {
    const std::string state_dir = flags->get("--state-dir");
    struct stat st {};
    if (::stat(state_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      env.err << "hearth-agent check: --state-dir " << state_dir << " is not a directory\n";
      return kExitUsage;
    }
    options.state_dir = state_dir;
  } else if (root.empty()) {
    // The default state dir is used when it exists and we may write to it (root, or the
    // agent's own user); otherwise ages count from now and nothing is cached.
    if (::access(env.default_state_dir.c_str(), W_OK) == 0)
      options.state_dir = env.default_state_dir;
  }

  auto checks = Checks().makeChecks();
  Report report = RunChecks(*view, *policy, checks, options);
  if (as_json) {
    env.out << json::write(report.toJson(), {.pretty = true}) << "\n";
  } else {
    env.out << FormatReportText(report, env.out_is_terminal);
  }
  return report.compliant ? kExitCompliant : kExitNotCompliant;
}

}  // namespace hearth::agent
