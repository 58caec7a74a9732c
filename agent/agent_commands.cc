// hearth-agent enroll | run --once | status | show-report.
#include <map>
#include <ostream>
#include <set>
#include <unistd.h>

#include "check_command.h"
#include "common/text.h"
#include "hearth/agent/agent_state.h"
#include "hearth/agent/config.h"
#include "hearth/agent/daemon.h"
#include "hearth/agent/run_once.h"
#include "hearth/runner.h"
#include "hearth/system_view.h"

namespace hearth::agent {

namespace {

struct Parsed {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
};

// Options of each command: which take values, which are flags.
bool parse(const std::string& cmd, const std::vector<std::string>& args,
           const std::set<std::string>& value_opts, const std::set<std::string>& flag_opts,
           const CliEnvironment& env, Parsed& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], v;
    bool inline_value = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
      inline_value = true;
    }
    if (flag_opts.count(a) != 0 && !inline_value) {
      out.flags.insert(a);
    } else if (value_opts.count(a) != 0) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          env.err << "hearth-agent " << cmd << ": " << a << " needs a value\n";
          return false;
        }
        v = args[++i];
      }
      out.values[a] = v;
    } else {
      env.err << "hearth-agent " << cmd << ": unknown option \"" << args[i]
              << "\" (see hearth-agent --help)\n";
      return false;
    }
  }
  return true;
}

std::string hostname() {
  auto view = NewLiveSystemView();
  return CollectHostInfo(*view).hostname;
}

}  // namespace

int RunAgentCommand(const std::string& cmd, const std::vector<std::string>& args,
                    const CliEnvironment& env) {
  std::set<std::string> values = {"--config", "--state-dir"};
  std::set<std::string> flags = {"--help", "-h"};
  if (cmd == "enroll")
    values.insert({"--server", "--secret-file", "--ca-file", "--pin", "--owner"});
  if (cmd == "run") flags.insert("--once");
  if (cmd == "status") flags.insert("--json");
  Parsed p;
  if (!parse(cmd, args, values, flags, env, p)) return kExitUsage;
  if (p.flags.count("--help") || p.flags.count("-h")) {
    env.out << "See hearth-agent --help and hearth-agent(8).\n";
    return 0;
  }
  std::string state_dir =
      p.values.count("--state-dir") ? p.values["--state-dir"] : env.default_state_dir;
  bool explicit_config = p.values.count("--config") != 0;
  auto config = LoadAgentConfig(explicit_config ? p.values["--config"] : "/etc/hearth/agent.conf",
                                explicit_config);
  if (!config.ok()) {
    env.err << "hearth-agent " << cmd << ": " << config.status().message() << "\n";
    return kExitUsage;
  }

  if (cmd == "status")
    return PrintStatus(state_dir, p.flags.count("--json") != 0, env.out, env.err);
  if (cmd == "show-report") return PrintLastReport(state_dir, env.out, env.err);
  if (cmd == "check-now") return RequestCheckNow(config->control_socket, env.out, env.err);

  if (cmd == "enroll") {
    for (const char* required : {"--server", "--secret-file"}) {
      if (p.values.count(required) == 0) {
        env.err << "hearth-agent enroll: " << required << " is required\n";
        return kExitUsage;
      }
    }
    EnrollOptions o;
    o.state_dir = state_dir;
    o.server = p.values["--server"];
    o.secret_file = p.values["--secret-file"];
    o.ca_file = p.values.count("--ca-file") ? p.values["--ca-file"] : "";
    o.pin = p.values.count("--pin") ? p.values["--pin"] : "";
    o.owner = p.values.count("--owner") ? p.values["--owner"] : "";
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
  if (p.flags.count("--once") == 0) {
    DaemonOptions d;
    d.state_dir = state_dir;
    d.config_explicit = explicit_config;
    if (explicit_config) d.config_path = p.values["--config"];
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
  env.out << "report " << outcome->sequence << " spooled; " << outcome->delivered << " delivered; "
          << outcome->spool_depth << " waiting";
  if (!outcome->delivery_error.empty()) env.out << " (" << outcome->delivery_error << ")";
  env.out << "\n";
  return 0;  // unreachable server: the reports stay spooled; not an error of the run
}

}  // namespace hearth::agent
