// Privilege separation: the uploader is a separate process that does everything touching the
// network or parsing what the server sends (report upload, policy fetch, certificate renewal:
// the new key is made there too, so the root side never calls OpenSSL for it). When the agent runs
// as root the uploader drops to an unprivileged system user (setgroups/setgid/setuid, no new
// privileges) before it touches any network input; the root side only ever receives a small
// answer per report (accepted / retry / refused / ...) and policy bytes that the uploader verified
// and the root side verifies again.
//
// The uploader is forked from the agent with its material in memory (the device key and
// certificate, the server's CA or pin, the policy-signing key), since it cannot read the root-owned
// state directory. It talks to the agent over a socketpair with length-prefixed, bounded JSON
// frames, and dies with the agent (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>

#include "hearth/agent/transport.h"
#include "hearth/status.h"

namespace hearth::agent {

struct UploaderOptions {
  std::string server;  // https://host:port
  HttpOptions http;    // with ca_pem / client_cert_pem / client_key_pem set
  std::string signing_public_key_pem;
  // The account to run as when started as root ("" = stay as we are, e.g. tests as non-root).
  std::string user;
  // How long one request may take end to end before the uploader is killed and restarted.
  std::chrono::milliseconds request_deadline{45000};
  // Tests: builds the transport inside the uploader (after the privilege drop) instead of the
  // libcurl one.
  std::function<std::unique_ptr<Transport>()> make_transport;
};

// The uid and gid of a local account: from /etc/passwd when it is there, else through NSS.
std::optional<std::pair<uid_t, gid_t>> FindAccount(const std::string& name);

class ProcessTransport : public Transport {
 public:
  // Prepares the uploader; the process is forked on the first request and lives until release()
  // (so between cycles nothing that talks to the network exists at all). FailedPrecondition when
  // `user` does not exist or is root (running as root).
  static StatusOr<std::unique_ptr<ProcessTransport>> start(const UploaderOptions& options);
  ~ProcessTransport() override;

  PostResult postReport(const std::string& envelope) override;
  StatusOr<std::string> fetchPolicy(int64_t min_version) override;
  // Key generation, the CSR and the certificate's parsing happen in the uploader.
  StatusOr<RenewedCertificate> renewCertificate(const std::string& device_id) override;
  StatusOr<CertValidity> certificateValidity() override;

  // While waiting for an answer, also watch `fd` (the daemon's signalfd): when it becomes readable
  // the request is abandoned (the uploader is killed) and the call returns kNetwork / Cancelled.
  void setInterruptFd(int fd) { interrupt_fd_ = fd; }
  pid_t pid() const { return pid_; }
  // Stops the uploader now (SIGKILL and reap); the next request starts a new one.
  void stop();
  // The work of this cycle is done: let the uploader exit.
  void release() { stop(); }

 private:
  explicit ProcessTransport(UploaderOptions options) : options_(std::move(options)) {}
  Status spawn();
  StatusOr<std::string> call(const std::string& request);

  UploaderOptions options_;
  pid_t pid_ = -1;
  int fd_ = -1;
  int interrupt_fd_ = -1;
  std::optional<uid_t> uid_;
  gid_t gid_ = 0;
};

// The uploader's side of the socket (runs in the child; exposed for tests). Returns when the
// agent closes the socket.
void ServeUploader(int fd, Transport& transport);

// One HTTPS request made by a short-lived child process that, when we are root, first drops to
// `user` (falling back to "nobody" when that account does not exist): enrolment and its first
// policy fetch happen before there is an uploader, and must not parse the network's bytes (TLS,
// certificates, HTTP) as root either. Files named in `options` are read here, before the drop, and
// handed to the child in memory. `post_body` null = GET.
StatusOr<HttpResponse> HttpRequestUnprivileged(HttpOptions options, const std::string& user,
                                               const std::string& url,
                                               const std::string* post_body);

}  // namespace hearth::agent
