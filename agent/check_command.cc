#include "check_command.h"

#include <ostream>

#include "check_platform.h"
#include "hearth/agent/config.h"
#include "hearth/agent/state_dir.h"
#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/files.h"
#include "hearth/flags.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/runner.h"
#include "hearth/system_view.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

// Translated where it is printed (po/da.po).
constexpr const char* kCheckUsage =
    N_("Usage: hearth-agent check [--policy FILE] [--json] [--root DIR] [--state-dir DIR]\n"
       "                          [--config FILE]\n"
       "\n"
       "Evaluates this machine once against the policy and prints the result. Nothing is sent.\n"
       "On an enrolled PC that is the company's policy in force, with the agent's dates: the same\n"
       "verdicts the agent reports to IT.\n"
       "\n"
       "  --policy FILE    a trial: judge against FILE instead (not enrolled, the default is\n"
       "                   /etc/hearth/policy.json)\n"
       "  --json           print the result as one JSON object\n"
       "  --root DIR       judge the machine whose files are mirrored under DIR (an image, a\n"
       "                   fixture tree); commands and routes come from DIR/.hearth/ recordings\n"
       "  --state-dir DIR  the agent's state: enrolment, policy, first-seen dates (default:\n"
       "                   /var/lib/hearth; read only without the rights to write it; under\n"
       "                   --root only when given)\n"
       "  --config FILE    the agent's configuration; its `policy` is the default for --policy\n"
       "\n"
       "Exit codes: 0 compliant, 1 not compliant, 2 usage or configuration error.\n");

constexpr FlagSpec kCheckFlags[] = {
    {.name = "--policy", .non_empty = true},       {.name = "--root", .non_empty = true},
    {.name = "--state-dir", .non_empty = true},    {.name = "--json", .kind = FlagKind::kSwitch},
    {.name = "--help", .kind = FlagKind::kSwitch}, {.name = "-h", .kind = FlagKind::kSwitch},
    {.name = "--config", .non_empty = true},
};

}  // namespace

const char* VerdictLabel(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return i18n::Tr("PASS");
    case Verdict::kFail:
      return i18n::Tr("FAIL");
    case Verdict::kUnknown:
      return i18n::Tr("UNKNOWN");
    case Verdict::kNotApplicable:
      return i18n::Tr("NOT APPLICABLE");
  }
  return "?";
}

std::string CheckDisplayName(const std::string& id) {
  const CheckEntry* entry = Checks().find(id);
  if (entry == nullptr || entry->spec.wording.name.empty()) return id;
  return i18n::Tr(entry->spec.wording.name);
}

namespace {

std::string checkName(const std::string& id) { return CheckDisplayName(id); }
const char* verdictLabel(Verdict v) { return VerdictLabel(v); }

// Columns line up by characters, not bytes ("Skærmlås").
size_t displayWidth(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
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
  using i18n::Subst;
  using i18n::Tr;
  std::string o;
  const char* reset = color ? "\x1b[0m" : "";
  const char* bold = color ? "\x1b[1m" : "";
  o += bold;
  o += Tr("Hearth compliance check");
  o += reset;
  o += Subst(Tr(" for level \"{1}\" (policy version {2})"),
             {safeText(report.level), std::to_string(report.policy_version)}) +
       "\n";
  if (!report.description.empty()) {
    o += Subst(Tr("About this level: {1}"), {safeText(report.description.text())}) + "\n";
  }
  if (!report.host.hostname.empty() || !report.host.os.empty()) {
    std::string host = safeText(report.host.hostname);
    if (!report.host.os.empty()) host += ", " + safeText(report.host.os);
    if (!report.host.kernel.empty()) {
      host += Subst(Tr(", kernel {1}"), {safeText(report.host.kernel)});
    }
    o += Subst(Tr("Host: {1}"), {host}) + "\n";
  }
  o += Subst(Tr("Evaluated at {1}"), {formatRfc3339(report.evaluated_at)}) + "\n\n";
  auto pad = [](std::string s, size_t w) {
    size_t n = displayWidth(s);
    if (n < w) s.append(w - n, ' ');
    return s;
  };
  const std::string check_heading = Tr("CHECK"), result_heading = Tr("RESULT");
  size_t name_w = displayWidth(check_heading), verdict_w = displayWidth(result_heading);
  for (const auto& c : report.checks) {
    name_w = std::max(name_w, displayWidth(checkName(c.id)));
    verdict_w = std::max(verdict_w, displayWidth(verdictLabel(c.verdict)));
  }
  o += pad(check_heading, name_w) + "  " + pad(result_heading, verdict_w) + "  " + Tr("SUMMARY") +
       "\n";
  for (const auto& c : report.checks) {
    o += pad(checkName(c.id), name_w) + "  ";
    if (color) o += verdictColor(c.verdict);
    o += pad(verdictLabel(c.verdict), verdict_w);
    if (color) o += reset;
    o += "  " + safeText(LocalSummary(c));
    if (!c.required) o += Tr(" (informational: not required)");
    o += "\n";
  }
  bool any_advice = false;
  for (const auto& c : report.checks) {
    if (c.verdict != Verdict::kFail && c.verdict != Verdict::kUnknown) continue;
    std::vector<std::string> lines = LocalAdviceLines(c);
    if (lines.empty()) continue;
    if (!any_advice) o += std::string("\n") + Tr("What to do:") + "\n";
    any_advice = true;
    o += "  " + checkName(c.id) + ":\n";
    for (const auto& line : lines) {
      for (const auto& l : text::splitLines(line)) o += "    " + safeText(l) + "\n";
    }
    if (!c.help_url.empty()) {
      o += "    " + safeText(Subst(Tr("More help: {1}"), {c.help_url.text()})) + "\n";
    }
  }
  if (any_advice && !report.helpdesk.empty()) {
    o += "\n" + safeText(report.helpdesk.text()) + "\n";
  }
  o += "\n";
  o += bold;
  if (report.compliant) {
    o += Tr("This PC meets the agreed security level.");
  } else {
    bool unknown_only = true;
    for (const auto& c : report.checks) {
      if (c.required && c.verdict == Verdict::kFail) unknown_only = false;
    }
    o += unknown_only ? Tr("This PC could not be confirmed to meet the agreed security level.")
                      : Tr("This PC does not meet the agreed security level.");
  }
  o += reset;
  o += "\n";
  return o;
}

namespace {

// The state dir `check` works with, and whether it may write there.
struct StateChoice {
  std::string dir;  // empty: none (ages count from now, nothing cached)
  bool read_only = false;
  std::string unreadable;  // the default state dir, when it exists but cannot be read
};

// The policy `check` judges against and what the person is told about that choice.
struct PolicyChoice {
  Policy policy;
  std::string note;  // "" or one paragraph, printed before the result
};

StatusOr<StateChoice> chooseStateDir(const ParsedFlags& flags, const std::string& root,
                                     const CliEnvironment& env) {
  StateChoice c;
  if (flags.has("--state-dir")) {
    c.dir = flags.get("--state-dir");
    const PathAccess access = CheckPathAccess(c.dir);
    if (access.denied) {
      return PermissionDeniedError(i18n::Subst(
          i18n::Tr("--state-dir {1} cannot be read without more rights (run with sudo)"), {c.dir}));
    }
    if (!access.directory) {
      return InvalidArgumentError(
          i18n::Subst(i18n::Tr("--state-dir {1} is not a directory"), {c.dir}));
    }
    c.read_only = !access.writable;
  } else if (root.empty()) {
    // The agent's own state dir: written when we may (root, or the agent's user), else read only
    // (a person without root sees the daemon's dates and changes nothing).
    const PathAccess access = CheckPathAccess(env.default_state_dir);
    if (access.writable) {
      c.dir = env.default_state_dir;
    } else if (access.readable) {
      c.dir = env.default_state_dir;
      c.read_only = true;
    } else if (access.exists) {
      c.unreadable = env.default_state_dir;
    }
  }
  return c;
}

// On an enrolled PC, the company's signed policy in force (the one the agent saved after
// verifying it), verified again here; before it has arrived, the local file, as the agent does.
// --policy judges against that file instead, and says it is a trial.
StatusOr<PolicyChoice> choosePolicy(const std::string& policy_arg,
                                    const std::string& default_policy,
                                    const std::string& service_user, const StateChoice& state) {
  const bool enrolled =
      !state.dir.empty() && CheckPathAccess(AgentPathsFor(state.dir).enrollment).exists;
  PolicyChoice c;
  if (enrolled && policy_arg.empty()) {
    AgentPaths paths = AgentPathsFor(state.dir);
    auto envelope = ReadFileBounded(paths.policy, 1 << 20);
    if (envelope.ok()) {
      auto keys = ReadFileBounded(paths.signing_pub, 64 * 1024);
      if (!keys.ok()) {
        return FailedPreconditionError(
            i18n::Subst(i18n::Tr("this PC is enrolled but the company's policy-signing key {1} is "
                                 "unreadable: {2}"),
                        {paths.signing_pub, keys.status().message()}));
      }
      if (auto next = ReadFileBounded(paths.signing_next, 64 * 1024); next.ok()) {
        *keys += "\n" + *next;
      }
      auto verified = VerifySavedPolicy(*envelope, *keys, service_user);
      if (!verified.ok()) {
        return FailedPreconditionError(
            i18n::Subst(i18n::Tr("the company's policy {1} cannot be used: {2}"),
                        {paths.policy, verified.status().message()}));
      }
      c.policy = std::move(verified).value();
      return c;
    }
    if (envelope.status().code() != StatusCode::kNotFound) {
      return FailedPreconditionError(
          i18n::Subst(i18n::Tr("the company's policy {1} is unreadable: {2}"),
                      {paths.policy, envelope.status().message()}));
    }
    c.note = i18n::Subst(i18n::Tr("The company's policy has not reached this PC yet: judged "
                                  "against {1}, as the agent does until it arrives."),
                         {default_policy});
  } else if (enrolled) {
    c.note = i18n::Subst(i18n::Tr("Trial: judged against {1}, not the company's policy in force. "
                                  "IT sees the result of the company's policy (hearth-agent "
                                  "status)."),
                         {policy_arg});
  }
  const std::string& path = policy_arg.empty() ? default_policy : policy_arg;
  auto local = LoadPolicyFile(path);
  if (!local.ok()) {
    if (policy_arg.empty() && local.status().code() == StatusCode::kNotFound) {
      return NotFoundError(i18n::Subst(
          enrolled ? i18n::Tr("no policy: {1} does not exist and the company's has not arrived "
                              "yet. Give one with --policy FILE.")
                   : i18n::Tr("no policy: {1} does not exist and this PC is not enrolled. Give "
                              "one with --policy FILE."),
          {path}));
    }
    return local.status();
  }
  c.policy = std::move(local).value();
  return c;
}

// What a run without root could not see: the checks that could not tell (often for want of
// rights) and the agent's state, when unreadable.
std::string withoutRootNote(const Report& report, const StateChoice& state) {
  std::string o;
  if (!state.unreadable.empty()) {
    o += "  - " +
         i18n::Subst(i18n::Tr("the agent's dates in {1} (not readable): ages of pending updates "
                              "count from now"),
                     {state.unreadable}) +
         "\n";
  }
  for (const auto& c : report.checks) {
    if (c.verdict == Verdict::kUnknown) {
      o += "  - " + checkName(c.id) + ": " + safeText(LocalSummary(c)) + "\n";
    }
  }
  if (o.empty()) return o;
  return std::string(i18n::Tr("Run without root, this could not be seen:")) + "\n" + o +
         i18n::Tr("Run `sudo hearth-agent check` to see what the agent sees.") + "\n";
}

}  // namespace

int RunCheckCommand(const std::vector<std::string>& args, const CliEnvironment& env) {
  auto flags = ParseFlags(args, kCheckFlags);
  if (!flags.ok()) {
    env.err << "hearth-agent check: " << flags.status().message() << "\n";
    if (flags.status().code() == StatusCode::kNotFound) env.err << "\n" << i18n::Tr(kCheckUsage);
    return kExitUsage;
  }
  if (flags->has("--help") || flags->has("-h")) {
    env.out << i18n::Tr(kCheckUsage);
    return 0;
  }
  const std::string policy_arg = flags->get("--policy");
  const std::string root = flags->get("--root");
  const bool as_json = flags->has("--json");

  // --config, as every command takes it: the file must exist and be valid; its `policy` is the
  // policy used without --policy (unenrolled, or before the company's arrives).
  std::string default_policy = env.default_policy_path;
  std::string service_user = AgentConfig{}.service_user;
  if (flags->has("--config")) {
    auto config = LoadAgentConfig(flags->get("--config"), true);
    if (!config.ok()) {
      env.err << "hearth-agent check: " << config.status().message() << "\n";
      return kExitUsage;
    }
    default_policy = config->fallback_policy;
    service_user = config->service_user;
  }
  auto state = chooseStateDir(*flags, root, env);
  if (!state.ok()) {
    env.err << "hearth-agent check: " << state.status().message() << "\n";
    return kExitUsage;
  }
  auto policy = choosePolicy(policy_arg, default_policy, service_user, *state);
  if (!policy.ok()) {
    env.err << "hearth-agent check: " << policy.status().message() << "\n";
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
  options.state_dir = state->dir;
  options.state_read_only = state->read_only;
  auto checks = Checks().makeChecks();
  Report report = RunChecks(*view, policy->policy, checks, options);
  std::string notes = policy->note.empty() ? "" : policy->note + "\n";
  if (root.empty() && !RunningPrivileged()) notes += withoutRootNote(report, *state);
  if (as_json) {
    // The JSON is the report as judged here, before the privacy filter (show-report shows what
    // was sent): it also carries the texts kept for display on this PC ("text"). What it was
    // judged against goes aside, on stderr.
    env.err << notes;
    env.out << json::write(report.toJson(), {.pretty = true}) << "\n";
  } else {
    env.out << FormatReportText(report, env.out_is_terminal);
    if (!notes.empty()) env.out << "\n" << notes;
  }
  return report.compliant ? kExitCompliant : kExitNotCompliant;
}

}  // namespace hearth::agent
