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

#include "hearth/agent/config.h"
#include "hearth/agent/delivery.h"
#include "hearth/agent/device_certificate.h"
#include "hearth/agent/enrollment.h"
#include "hearth/agent/policy_verify.h"
#include "hearth/agent/sent_history.h"
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
  StatusOr<std::optional<int64_t>> spoolIfNeeded(const json::Value& local, bool force);

  // Delivers the spool in order (see DeliverSpool). Handles refused reports (moved aside to
  // state_dir/rejected/) and retirement.
  DeliveryOutcome deliver(const std::function<bool()>& should_stop = nullptr);

  // status.json (world-readable, nothing secret). `next_check` when the daemon knows it.
  Status writeStatus(std::optional<TimePoint> next_check = std::nullopt);

  // Renews the device certificate when it is past half of its life: a new key and certificate
  // through the transport (the uploader makes the key), stored crash-safe, then used from the
  // next request. A failure is logged (and, when the certificate has expired, kept for status:
  // the PC must be enrolled again) and returned; the cycle goes on with the old certificate.
  Status maybeRenewCertificate();
  // The device certificate's validity, when known.
  std::optional<CertValidity> certificateValidity() const { return cert_validity_; }

  size_t spoolDepth() const;
  // Between cycles: ends the uploader process (it is started again when needed).
  void idle();

 private:
  AgentRuntime() = default;
  void markRetired(const std::string& why);
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
  std::optional<Policy> policy_;
  int64_t policy_version_ = 0;
  int interrupt_fd_ = -1;
  bool retired_ = false;
  std::optional<json::Value> last_full_;  // last full local result
  std::optional<json::Value> last_local_;
  std::string last_delivery_;
  std::string delivery_error_;
  std::optional<CertValidity> cert_validity_;
  std::string cert_problem_;
};

}  // namespace hearth::agent
