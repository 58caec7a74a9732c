// The agent's steps, shared by `run --once` and the daemon: the policy (fetched, verified, kept),
// the checks (in a disposable child process), the report (filtered, spooled durably when it changed
// or a heartbeat is due), delivery (through the unprivileged uploader, hearth-upload), and
// status.json for the person at the PC.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>

#include "hearth/agent/config.h"
#include "hearth/agent/delivery.h"
#include "hearth/agent/device_certificate.h"
#include "hearth/agent/enrollment.h"
#include "hearth/agent/policy_verify.h"
#include "hearth/agent/sent_history.h"
#include "hearth/agent/slow_reports.h"
#include "hearth/agent/spool.h"
#include "hearth/agent/state_dir.h"
#include "hearth/agent/transport.h"
#include "hearth/json.h"
#include "hearth/log.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth::agent {

class ProcessTransport;

struct RuntimeOptions {
  std::string state_dir;
  AgentConfig config;
  bool isolate_checks = true;  // run each cycle's checks in a child process
};

class AgentRuntime {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // NotFound when this PC is not enrolled.
  static StatusOr<std::unique_ptr<AgentRuntime>> open(const RuntimeOptions& options, Logger& log);
  ~AgentRuntime();

  // The daemon's signalfd: long waits (uploads, check runs) end early when it becomes readable.
  void setInterruptFd(int fd);
  // The person (uid) who asked for the next runChecks (`check-now`, a notification's "Check
  // again"): they are told their problems again (NotifyOptions.asked_by). Cleared by runChecks.
  void setAskedBy(std::optional<uint32_t> uid) { asked_by_ = uid; }
  const Enrollment& enrollment() const { return enrollment_; }
  // The server said this device is retired: nothing more is sent until `enroll` runs again.
  bool retired() const { return retired_; }

  // Fetches the newest policy (verified against the pinned key, never older than the one in
  // force) and keeps it; offline, the last good one is used; before the first fetch the local
  // fallback file. FailedPrecondition only when there is no policy at all.
  Status refreshPolicy();
  const Policy* policy() const { return policy_ ? &*policy_ : nullptr; }

  // Runs the checks (`only` empty: all the policy enables). A partial run (e.g. only vpn after a
  // network change) is merged into the last full result. Returns the local result (names kept).
  StatusOr<json::Value> runChecks(const std::set<std::string>& only);

  // Spools a report of `local` (privacy-filtered) when its verdicts changed since the last report,
  // the heartbeat is due, or `force`. Returns the sequence spooled, or nullopt when not needed.
  // The number is the highest of state_dir/sequence, the spool and the sent history, plus one
  // (sequence.h); a corrupt sequence file is repaired (a warning names it). Once the report is
  // in the spool, failing to write `sequence` or report-state.json (disk full) is logged, not
  // returned: the report is spooled and the next number still follows it. A report that cannot
  // be spooled (disk full) is logged here, once until spooling works again, and returned.
  StatusOr<std::optional<int64_t>> spoolIfNeeded(const json::Value& local, bool force);

  // Delivers the spool in order (see DeliverSpool). Handles refused reports (moved aside to
  // state_dir/rejected/), retirement, and a sequence number the server already holds under
  // another report (409 sequence_reused): that report is renumbered in the spool (same
  // report_id) and delivered in the same run.
  DeliveryOutcome deliver(const std::function<bool()>& should_stop = nullptr);

  // status.json (world-readable, nothing secret). `next_check` when the daemon knows it. A
  // failure is logged here (once until it works again) and returned.
  Status writeStatus(std::optional<TimePoint> next_check = std::nullopt);

  // Renews the device certificate when it is past half of its life: a new key and certificate
  // through the transport (the uploader makes the key), stored crash-safe, then used from the
  // next request. "Now" is the server's clock when one of its answers told it (Date), else
  // ours; and a certificate stored less than kMinRenewalInterval ago (by our clock) is not
  // renewed unless it expires within kRenewalGrace (certificates.md "Clocks"). A failure is logged
  // (and, when the certificate has expired, kept for status: the PC must be enrolled again) and
  // returned; the cycle goes on with the old certificate.
  Status maybeRenewCertificate();
  // The device certificate's validity, when known.
  std::optional<CertValidity> certificateValidity() const { return cert_validity_; }

  size_t spoolDepth() const;
  // Between cycles: ends the uploader process (it is started again when needed).
  void idle();

 private:
  AgentRuntime() = default;
  void markRetired(const std::string& why);
  // Keeps `error` as the certificate problem when it says the device key or certificate is
  // damaged (kCredentialsUnusable).
  void noteCredentialProblem(const std::string& error);
  // A state file that cannot be written (disk full, ...) is logged once, with the reason, until
  // a write of it succeeds again: a full disk does not fill the log every cycle.
  void writeFailed(const std::string& path, const Status& s);
  void writeSucceeded(const std::string& path) { unwritable_.erase(path); }
  Status writeStateFile(const std::string& path, const std::string& content, mode_t mode);
  StatusOr<std::optional<int64_t>> spoolReport(const json::Value& local, bool force);
  // The highest sequence the agent holds a report of (spool, sent history); 0 for none.
  StatusOr<int64_t> highestKnownSequence() const;
  // Renumbers spooled report `sequence`, whose number the server holds under another report:
  // rewritten durably under max(next_sequence, our next number), same report_id, and the
  // sequence file advanced. Returns false (logged) when it could not.
  bool renumber(int64_t sequence, int64_t next_sequence);
  // (Re)creates the transport from the key and certificate on disk.
  Status openTransport();
  // The policy-signing keys accepted: the pinned one, then the announced next one (PEM bundle).
  std::string signingKeys() const;
  StatusOr<VerifiedPolicy> verifyFetchedPolicy(const std::string& envelope);
  void takeAnnouncement(const VerifiedPolicy& verified);
  void policySignatureRefused(const std::string& why);

  RuntimeOptions options_;
  Logger* log_ = nullptr;
  AgentPaths paths_;
  Enrollment enrollment_;
  std::string signing_pub_;
  std::string last_good_envelope_;  // the bytes of the policy in force, as verified
  std::string signing_next_;        // announced next policy-signing key, "" none
  std::string policy_problem_;
  std::unique_ptr<ProcessTransport> transport_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SentHistory> sent_;  // null when unusable (then nothing can be re-sent)
  std::unique_ptr<SlowReports> slow_;  // reports timed out on a slow uplink
  std::optional<Policy> policy_;
  int64_t policy_version_ = 0;
  int interrupt_fd_ = -1;
  std::optional<uint32_t> asked_by_;
  bool retired_ = false;
  std::optional<json::Value> last_full_;  // last full local result
  std::optional<json::Value> last_local_;
  std::string last_delivery_;
  std::string fleet_json_;  // the fleet.json last written by this process
  // The company's view from the latest acknowledgement that carried one (server_view.h), for
  // status.json; empty until one did (status.json keeps the one written before).
  std::string server_view_json_;
  std::string delivery_error_;
  std::optional<CertValidity> cert_validity_;
  std::string cert_problem_;
  std::set<std::string> unwritable_;  // state files whose last write failed (logged once)
  // The server's clock minus ours, from its latest answer's Date (certificate renewal).
  std::optional<std::chrono::seconds> server_offset_;
  bool renewal_deferred_ = false;  // said once that the daily limit holds a renewal back
};

}  // namespace hearth::agent
