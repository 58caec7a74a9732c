// The state directory's file names (state_dir.h: AgentPathsFor): no I/O, the same on every OS.
#include "hearth/agent/state_dir.h"

namespace hearth::agent {

AgentPaths AgentPathsFor(const std::string& d) {
  AgentPaths p;
  p.dir = d;
  p.device_key = d + "/device.key";
  p.device_cert = d + "/device.pem";
  p.cert_info = d + "/device-cert.json";
  p.server_ca = d + "/server-ca.pem";
  p.signing_pub = d + "/policy-signing.pub";
  p.signing_next = d + "/policy-signing.next.pub";
  p.server_pins = d + "/server-pins.json";
  p.enrollment = d + "/enrollment.json";
  p.policy = d + "/policy.signed.json";
  p.sequence = d + "/sequence";
  p.spool = d + "/spool";
  p.sent = d + "/sent";
  p.last_report = d + "/last-report.json";
  p.status = d + "/status.json";
  p.fleet = d + "/fleet.json";
  return p;
}

}  // namespace hearth::agent
