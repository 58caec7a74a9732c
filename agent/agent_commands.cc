// hearth-agent enroll | run | status | show-report | check-now (see agent_commands.h).
#include "agent_commands.h"

#include <ostream>
#include <string_view>
#include <vector>

#include "hearth/agent/check_now.h"
#include "hearth/agent/config.h"
#include "hearth/agent/cycle.h"
#include "hearth/agent/daemon.h"
#include "hearth/agent/enrollment.h"
#include "hearth/agent/status_commands.h"
#include "hearth/flags.h"
#include "hearth/i18n.h"
#include "hearth/runner.h"
#include "hearth/system_view.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {

// The options of each command (all take --config, --state-dir and --help).
std::vector<FlagSpec> flagsOf(const std::string& cmd) {
  std::vector<FlagSpec> f = {{.name = "--config"},
                             {.name = "--state-dir"},
                             {.name = "--help", .kind = FlagKind::kSwitch},
                             {.name = "-h", .kind = FlagKind::kSwitch}};
  if (cmd == "enroll") {
    for (std::string_view name : {"--server", "--secret-file", "--ca-file", "--pin", "--owner"}) {
      f.push_back({.name = name});
    }
  }
  if (cmd == "run") f.push_back({.name = "--once", .kind = FlagKind::kSwitch});
  if (cmd == "status") f.push_back({.name = "--json", .kind = FlagKind::kSwitch});
  if (cmd == "show-report") f.push_back({.name = "--pretty", .kind = FlagKind::kSwitch});
  return f;
}

// The --help of the person's commands, translated where it is printed (po/da.po); "" for the
// others (enroll, run: IT's, described in hearth-agent(8)).
const char* usageOf(const std::string& cmd) {
  if (cmd == "status") {
    return N_(
        "Usage: hearth-agent status [--json] [--state-dir DIR] [--config FILE]\n"
        "\n"
        "Shows what the agent last found on this PC: whether it is enrolled and to which\n"
        "server, the security level, each check's result with what to do, deadlines and\n"
        "exemptions from IT, and when the PC last reported. Works without root.\n"
        "\n"
        "  --json           print it as one JSON object (times in RFC 3339)\n"
        "  --state-dir DIR  the agent's state (default /var/lib/hearth)\n"
        "  --config FILE    the agent's configuration (default /etc/hearth/agent.conf)\n");
  }
  if (cmd == "show-report") {
    return N_(
        "Usage: hearth-agent show-report [--pretty] [--state-dir DIR] [--config FILE]\n"
        "\n"
        "Prints the last report the company received from this PC, exactly as it was sent.\n"
        "Works without root.\n"
        "\n"
        "  --pretty         as a person reads it: each field named, with what it means\n"
        "  --state-dir DIR  the agent's state (default /var/lib/hearth)\n"
        "  --config FILE    the agent's configuration (default /etc/hearth/agent.conf)\n");
  }
  if (cmd == "check-now") {
    return N_(
        "Usage: hearth-agent check-now [--config FILE]\n"
        "\n"
        "Asks the running Hearth agent to check this PC now. Anyone logged in on the PC may\n"
        "ask, once a minute; hearth-agent status shows the result a moment later.\n"
        "\n"
        "  --config FILE    the agent's configuration: where to reach the agent (default\n"
        "                   /etc/hearth/agent.conf)\n");
  }
  return "";
}

std::string hostname() {
  auto view = NewLiveSystemView();
  return CollectHostInfo(*view).hostname;
}

}  // namespace

int RunAgentCommand(const std::string& cmd, const std::vector<std::string>& args,
                    const CliEnvironment& env) {
  auto parsed = ParseFlags(args, flagsOf(cmd));
  if (!parsed.ok()) {
    env.err << "hearth-agent " << cmd << ": " << parsed.status().message() << "\n";
    if (parsed.status().code() == StatusCode::kNotFound) {
      const char* usage = usageOf(cmd);
      env.err << (*usage != '\0' ? "\n" + std::string(i18n::Tr(usage))
                                 : std::string(i18n::Tr("See hearth-agent --help.")) + "\n");
    }
    return kExitUsage;
  }
  const ParsedFlags& p = *parsed;
  if (p.has("--help") || p.has("-h")) {
    const char* usage = usageOf(cmd);
    env.out << (*usage != '\0'
                    ? std::string(i18n::Tr(usage))
                    : std::string(i18n::Tr("See hearth-agent --help and hearth-agent(8).")) + "\n");
    return 0;
  }
  std::string state_dir = p.get("--state-dir", env.default_state_dir);
  bool explicit_config = p.has("--config");
  AgentConfig defaults;
  defaults.fallback_policy = env.default_policy_path;
  defaults.enroll_file = env.default_enroll_file;
  const std::string config_path = p.get("--config", env.default_config_path);
  auto config = LoadAgentConfig(config_path, explicit_config, defaults);
  if (!config.ok()) {
    env.err << "hearth-agent " << cmd << ": " << config.status().message() << "\n";
    return kExitUsage;
  }

  if (cmd == "status") return PrintStatus(state_dir, p.has("--json"), env.out, env.err);
  if (cmd == "show-report") {
    return p.has("--pretty") ? PrintLastReportPretty(state_dir, env.out, env.err)
                             : PrintLastReport(state_dir, env.out, env.err);
  }
  if (cmd == "check-now") return RequestCheckNow(config->control_socket, env.out, env.err);

  if (cmd == "enroll") {
    for (const char* required : {"--server", "--secret-file"}) {
      if (!p.has(required)) {
        env.err << "hearth-agent enroll: " << required << " is required\n";
        return kExitUsage;
      }
    }
    EnrollOptions o;
    o.state_dir = state_dir;
    o.server = p.get("--server");
    o.secret_file = p.get("--secret-file");
    o.ca_file = p.get("--ca-file");
    o.pin = p.get("--pin");
    o.owner = p.get("--owner");
    o.hostname = hostname();
    o.proxy = config->proxy;
    o.service_user = config->service_user;
    auto e = Enroll(o);
    if (!e.ok()) {
      env.err << "hearth-agent enroll: " << e.status().message() << "\n";
      return e.status().code() == StatusCode::kInvalidArgument ||
                     e.status().code() == StatusCode::kFailedPrecondition ||
                     e.status().code() == StatusCode::kNotFound
                 ? kExitUsage
                 : 1;
    }
    env.out << "Enrolled to " << e->server << " as device " << e->device_id << "\n";
    return 0;
  }

  // run
  if (!p.has("--once")) {
    DaemonOptions d;
    d.state_dir = state_dir;
    d.config_explicit = explicit_config;
    d.config_path = config_path;
    d.config_defaults = defaults;
    return RunDaemon(d, env.err);
  }
  CycleOptions o;
  o.state_dir = state_dir;
  o.config = *config;
  auto outcome = RunCycle(o, env.err);
  if (!outcome.ok()) {
    env.err << "hearth-agent run: " << outcome.status().message() << "\n";
    return outcome.status().code() == StatusCode::kNotFound ? kExitUsage : 1;
  }
  if (outcome->sequence > 0) {
    env.out << "report " << outcome->sequence << " spooled; ";
  } else {
    env.out << "no report spooled (see above); ";
  }
  env.out << outcome->delivered << " delivered; " << outcome->spool_depth << " waiting";
  if (!outcome->delivery_error.empty()) env.out << " (" << outcome->delivery_error << ")";
  env.out << "\n";
  return 0;  // unreachable server: the reports stay spooled; not an error of the run
}

}  // namespace hearth::agent
