#include "hearth/agent/cli.h"

#include <ostream>

#include "agent_commands.h"
#include "check_command.h"
#include "hearth/i18n.h"
#include "installer_commands.h"

namespace hearth::agent {

namespace {

// Translated where it is printed (po/da.po).
constexpr const char* kUsage =
    N_("Usage: hearth-agent COMMAND [OPTIONS]\n"
       "\n"
       "Checks this PC against the security level agreed with your employer: disk encryption,\n"
       "VPN, operating-system updates and screen lock.\n"
       "\n"
       "Commands:\n"
       "  check [--policy FILE] [--json] [--root DIR] [--state-dir DIR]\n"
       "                      evaluate this machine once and print the result; nothing is sent\n"
       "  enroll --server URL --secret-file FILE (--ca-file FILE | --pin sha256//BASE64)\n"
       "         [--owner ID]  enrol this PC with the company's hearth-server\n"
       "  run                 the daemon: checks on schedule, on network changes and on resume,\n"
       "                      delivers reports (SIGHUP reloads agent.conf, SIGTERM stops)\n"
       "  run --once          check, spool the report durably, deliver everything spooled\n"
       "  status [--json]     enrolled to what, level, each verdict and advice, deliveries\n"
       "  show-report [--pretty]  the last report the company received, exactly as sent;\n"
       "                      --pretty: as a person reads it, with what each field means\n"
       "  check-now           ask the running agent to check now (any local user; once a minute)\n"
       "\n"
       "Common options (after the command): --config FILE (default /etc/hearth/agent.conf),\n"
       "--state-dir DIR (default /var/lib/hearth).\n"
       "\n"
       "Options:\n"
       "  -h, --help          show this help (also: hearth-agent COMMAND --help)\n"
       "  --version           show the version\n"
       "\n"
       "Exit codes of check: 0 compliant, 1 not compliant, 2 usage or configuration error.\n"
       "See hearth-agent(8) for details.\n");

}  // namespace

int RunAgentCli(const std::vector<std::string>& args, const CliEnvironment& env) {
  if (args.empty()) {
    env.err << i18n::Tr(kUsage);
    return kExitUsage;
  }
  const std::string& cmd = args[0];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    env.out << i18n::Tr(kUsage);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    env.out << "hearth-agent " << HEARTH_VERSION << "\n";
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "check") return RunCheckCommand(rest, env);
  if (cmd == "enroll" || cmd == "run" || cmd == "status" || cmd == "show-report" ||
      cmd == "check-now") {
    return RunAgentCommand(cmd, rest, env);
  }
  if (cmd == "preseed-write" || cmd == "purge-state") return RunInstallerCommand(cmd, rest, env);
  env.err << "hearth-agent: " << i18n::Subst(i18n::Tr("unknown command \"{1}\""), {cmd}) << "\n\n"
          << i18n::Tr(kUsage);
  return kExitUsage;
}

}  // namespace hearth::agent
