// Privilege separation, the root side: everything that touches the network, parses what the
// server sends or needs OpenSSL runs in hearth-upload, a separate program (it links libcurl and
// OpenSSL; the root side links neither). When the agent runs as root, hearth-upload runs as an
// unprivileged system user (no supplementary groups, no new privileges, not dumpable) from its
// first instruction: the privilege drop happens before exec.
//
// Three uses:
//   - the uploader (ProcessTransport): report upload, policy fetch, certificate renewal (the new
//     key is made there too); the root side gets back a small answer per report and policy bytes
//     that the uploader verified and the root side verifies again. It is started on the first
//     request of a cycle, is handed its material in memory (the device key and certificate, the
//     server's CA or pin, the policy-signing keys: it cannot read the root-owned state
//     directory), and ends when the cycle's work is done (release());
//   - one-off network work before there is an uploader: enrolment's key, CSR and requests
//     (NetworkHelper, HttpRequestUnprivileged);
//   - the root side's own check of a new policy's signature (hearth-verify: VerifyPolicyApart),
//     a fresh process that never talked to the network.
// The requests and answers are in uploader_protocol.h, the process handling in child_process.h.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>

#include "hearth/agent/child_process.h"
#include "hearth/agent/http_client.h"
#include "hearth/agent/policy_verify.h"
#include "hearth/agent/transport.h"
#include "hearth/json.h"
#include "hearth/status.h"

namespace hearth::agent {

// Where hearth-upload is: next to this executable (a build tree), else ../lib/hearth/ from it
// (/usr/sbin/hearth-agent -> /usr/lib/hearth/hearth-upload); never from the environment or PATH.
std::string UploaderProgram();
// For programs that are not installed beside it (the tests): use `path` from now on.
void SetUploaderProgram(std::string path);

// One hearth-upload process for one-off work: started as `name`, as `user` when we are root
// ("nobody" when that account does not exist).
class NetworkHelper {
 public:
  static StatusOr<NetworkHelper> Start(const std::string& user, const char* name = "hearth-upload");
  // Lets the helper exit by itself (end of file on its channel), killing it only if it does not.
  ~NetworkHelper();
  NetworkHelper(NetworkHelper&&) = default;
  NetworkHelper& operator=(NetworkHelper&&) = default;
  // One request, and its answer (an error answer becomes the Status it carries). A helper that
  // does not answer within `limit` is killed.
  StatusOr<json::Value> ask(const json::Value& request, std::chrono::milliseconds limit);
  // One HTTPS request (see HttpRequestUnprivileged).
  StatusOr<HttpResponse> request(HttpOptions options, const std::string& url,
                                 const std::string* post_body);

 private:
  explicit NetworkHelper(std::unique_ptr<ChildProcess> child) : child_(std::move(child)) {}
  std::unique_ptr<ChildProcess> child_;
};

struct UploaderOptions {
  std::string server;  // https://host:port
  HttpOptions http;    // with ca_pem / client_cert_pem / client_key_pem set
  std::string signing_public_key_pem;
  // The account to run as when started as root ("" = stay as we are, e.g. tests as non-root).
  std::string user;
  // How long one request may take end to end before the uploader is killed and restarted.
  std::chrono::milliseconds request_deadline{45000};
  // Tests: a forked uploader serving requests with this transport (made in the child after the
  // privilege drop) instead of hearth-upload and its libcurl transport.
  std::function<std::unique_ptr<Transport>()> make_transport;
};

class ProcessTransport : public Transport {
 public:
  // Prepares the uploader; the process is started on the first request and lives until release()
  // (so between cycles nothing that talks to the network exists at all). FailedPrecondition when
  // `user` does not exist or is root (running as root).
  static StatusOr<std::unique_ptr<ProcessTransport>> start(const UploaderOptions& options);
  // Lets the uploader exit (release()).
  ~ProcessTransport() override;

  PostResult postReport(const std::string& envelope) override;
  PostResult postReportPatiently(const std::string& envelope,
                                 std::chrono::milliseconds timeout) override;
  StatusOr<std::string> fetchPolicy(int64_t min_version) override;
  // Key generation, the CSR and the certificate's parsing happen in the uploader.
  StatusOr<RenewedCertificate> renewCertificate(const std::string& device_id) override;
  StatusOr<CertValidity> certificateValidity() override;
  std::optional<int64_t> serverDate() const override;

  // While waiting for an answer, also watch `fd` (the daemon's signalfd): when it becomes readable
  // the request is abandoned (the uploader is killed) and the call returns kNetwork / Cancelled.
  void setInterruptFd(int fd) { interrupt_fd_ = fd; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // Stops the uploader now (SIGKILL and reap); the next request starts a new one.
  void stop() { child_.reset(); }
  // The work of this cycle is done: the uploader exits (it is killed if it does not at once).
  void release();

 private:
  explicit ProcessTransport(UploaderOptions options) : options_(std::move(options)) {}
  Status spawn();
  // `extra`: how much longer than request_deadline the answer may take (a patient upload).
  StatusOr<json::Value> call(const json::Value& request,
                             std::chrono::milliseconds extra = std::chrono::milliseconds(0));

  UploaderOptions options_;
  std::unique_ptr<ChildProcess> child_;
  int interrupt_fd_ = -1;
  std::optional<ChildAccount> account_;
  // The server's clock minus ours (seconds), from the latest answer that carried server_date.
  std::optional<int64_t> server_offset_;
};

// One HTTPS request made by hearth-upload, which, when we are root, runs as `user` (falling back to
// "nobody" when that account does not exist): enrolment and its first policy fetch happen before
// there is an uploader, and must not parse the network's bytes (TLS, certificates, HTTP) as root
// either. Files named in `options` are read here and handed over in memory. `post_body` null =
// GET.
StatusOr<HttpResponse> HttpRequestUnprivileged(HttpOptions options, const std::string& user,
                                               const std::string& url,
                                               const std::string* post_body);

// The root side's own check of a policy envelope against `public_key_pem` (see
// VerifySignedPolicy), made by a fresh hearth-upload named hearth-verify that runs as `user`
// when we are root: the root side itself never loads OpenSSL, and parses the result with no
// crypto (PolicyFromVerifiedEnvelope).
StatusOr<VerifiedPolicy> VerifyPolicyApart(const std::string& envelope,
                                           const std::string& public_key_pem, int64_t min_version,
                                           const std::string& user);

}  // namespace hearth::agent
