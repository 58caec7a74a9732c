// The agent's state directory (default /var/lib/hearth): what is where, the lock that lets one
// agent at a time work in it, the mark of a retired PC, and the machine id kept there when the
// system has none.
//   device.key (0600)        the device's P-256 key; never leaves the PC
//   device.pem               its certificate from the server's device CA
//   device-cert.json         that certificate's validity (not_before/not_after), so the daemon
//                            schedules renewal without parsing X.509 (device_certificate.h)
//   device.key.next, device-cert.json.next, device.pem.next
//                            a renewal being installed (InstallRenewedCertificate)
//   server-ca.pem            the server CA given at enrolment (--ca-file), if any
//   policy-signing.pub       the key that signs policies, pinned at enrolment
//   policy-signing.next.pub  the next one, announced by the server in a policy signed with the
//                            pinned key; it replaces the pinned one when it first signs a policy
//   enrollment.json          server URL, device id, pin; nothing secret (enrollment.h)
//   server-pins.json         further server key pins the server announced in a signed policy
//                            (server key rotation); accepted beside the pin of enrollment.json
//   policy.signed.json       the last good signed policy (verified before use)
//   sequence                 the next report sequence number (sequence.h)
//   spool/                   reports not yet acknowledged, by sequence (spool.h,
//                            docs/agent-spool.md)
//   sent/ (0700)             copies of the last reports the server acknowledged (sent_history.h),
//                            re-sent to a server restored from an older backup
//   last-report.json (0644)  the last report the server acknowledged, byte for byte
//   status.json (0644)       what `hearth-agent status` shows, readable without root
//   fleet.json (0644)        what the server's latest acknowledgement said the fleet knows, by
//                            check id (os_patches: first-seen dates of pending updates; the
//                            check reads it, checks/os_patches/fleet.cc)
//   report-state.json, notified.json, retired, rejected/, machine-id, agent.lock
#pragma once

#include <string>

#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::agent {

struct AgentPaths {
  std::string dir, device_key, device_cert, cert_info, server_ca, signing_pub, signing_next,
      server_pins, enrollment, policy, sequence, spool, sent, last_report, status, fleet;
};
AgentPaths AgentPathsFor(const std::string& state_dir);

// One agent at a time per state directory (the daemon, or `run --once`): an exclusive flock on
// state_dir/agent.lock, held until the returned descriptor is closed. FailedPrecondition when
// another agent holds it.
StatusOr<int> LockStateDir(const std::string& state_dir);

// Marks the PC as retired (state_dir/retired) or clears the mark (a new enrolment).
Status WriteRetiredMark(const std::string& state_dir, const std::string& why);
Status ClearRetiredMark(const std::string& state_dir);
bool HasRetiredMark(const std::string& state_dir);

// The hashed machine id sent with every report: SHA-256, with a context string, of the machine's
// own id, read through `system`: HKLM\SOFTWARE\Microsoft\Cryptography MachineGuid on Windows;
// /etc/machine-id (or D-Bus's copy) where there is no registry (Linux); without it, of a random
// id kept in state_dir/machine-id.
std::string MachineIdHash(const SystemView& system, const std::string& state_dir);
// The same on this machine (NewLiveSystemView).
std::string MachineIdHash(const std::string& state_dir);

}  // namespace hearth::agent
