// Privilege separation, the root side: starting hearth-upload and asking it (see uploader.h).
#include "hearth/agent/uploader.h"

#include <algorithm>
#include <climits>
#include <mutex>
#include <utility>

#include "agent_os.h"
#include "hearth/agent/uploader_protocol.h"
#include "hearth/agent/uploader_server.h"
#include "hearth/files.h"

namespace hearth::agent {

namespace {

using Clock = std::chrono::steady_clock;
using uploader::Fields;

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxPem = 1 << 20;

// Debian's libcurl4 (OpenSSL) also pulls in GnuTLS (through librtmp), whose constructor
// initialises it, p11-kit modules included, although curl never uses it here: about 0.6 MiB of
// hearth-upload's memory for nothing. GnuTLS skips that implicit initialisation when this is set.
const std::vector<std::string> kUploaderEnv = {"GNUTLS_NO_IMPLICIT_INIT=1"};

// Set by SetUploaderProgram (possibly from another file's static initialiser: function statics).
std::mutex& programMutex() {
  static std::mutex mu;
  return mu;
}
std::string& programOverride() {
  static std::string path;
  return path;
}

// The root side's account lookup: none when not root (nothing to drop).
StatusOr<std::optional<ChildAccount>> accountFor(const std::string& user) {
  if (!ChildrenRunAsServiceUser()) return std::optional<ChildAccount>();
  HEARTH_ASSIGN_OR_RETURN(ChildAccount a, UnprivilegedAccount(user));
  return std::optional<ChildAccount>(a);
}

ChildSpec uploaderSpec(const char* name, std::optional<ChildAccount> account) {
  ChildSpec spec;
  spec.name = name;
  spec.program = UploaderProgram();
  spec.extra_env = kUploaderEnv;
  spec.account = account;
  return spec;
}

StatusOr<json::Value> askChild(ChildProcess& child, const json::Value& request, SteadyTime deadline,
                               int interrupt_fd) {
  HEARTH_RETURN_IF_ERROR(child.send(json::write(request), deadline, interrupt_fd));
  HEARTH_ASSIGN_OR_RETURN(std::string frame,
                          child.receive(uploader::kMaxFrame, deadline, interrupt_fd));
  return uploader::ParseFrame(frame);
}

}  // namespace

std::string UploaderProgram() {
  {
    std::lock_guard<std::mutex> lock(programMutex());
    if (!programOverride().empty()) return programOverride();
  }
  const std::string dir = ExecutableDir();
  const std::string beside = dir + "/" + uploader::kProgram;
  if (IsProgram(beside)) return beside;
  return dir + "/../lib/hearth/" + uploader::kProgram;
}

void SetUploaderProgram(std::string path) {
  std::lock_guard<std::mutex> lock(programMutex());
  programOverride() = std::move(path);
}

// --- one-off work ------------------------------------------------------------------------------

StatusOr<NetworkHelper> NetworkHelper::Start(const std::string& user, const char* name) {
  HEARTH_ASSIGN_OR_RETURN(auto account, accountFor(user));
  HEARTH_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(uploaderSpec(name, account)));
  return NetworkHelper(std::move(child));
}

NetworkHelper::~NetworkHelper() {
  if (child_) child_->finish();
}

StatusOr<json::Value> NetworkHelper::ask(const json::Value& request,
                                         std::chrono::milliseconds limit) {
  auto answer = askChild(*child_, request, Clock::now() + limit, -1);
  if (!answer.ok()) {
    child_->kill();
    return answer.status();
  }
  if (!uploader::AnswerOk(*answer)) return uploader::AnswerStatus(*answer);
  return answer;
}

StatusOr<HttpResponse> NetworkHelper::request(HttpOptions o, const std::string& url,
                                              const std::string* post_body) {
  // Everything hearth-upload needs, in memory (it cannot open root-owned files).
  if (o.ca_pem.empty() && !o.ca_file.empty()) {
    HEARTH_ASSIGN_OR_RETURN(o.ca_pem, ReadFileBounded(o.ca_file, kMaxPem));
  }
  if (o.client_cert_pem.empty() && !o.client_cert.empty()) {
    HEARTH_ASSIGN_OR_RETURN(o.client_cert_pem, ReadFileBounded(o.client_cert, kMaxPem));
    HEARTH_ASSIGN_OR_RETURN(o.client_key_pem, ReadFileBounded(o.client_key, kMaxPem));
  }
  json::Value req = uploader::Request("request");
  uploader::PutHttpOptions(o, req);
  req.set("url", url);
  if (post_body != nullptr) req.set("body", *post_body);
  HEARTH_ASSIGN_OR_RETURN(json::Value v, ask(req, o.total_timeout + std::chrono::seconds(15)));
  auto f = Fields(v);
  HttpResponse resp;
  resp.status = static_cast<long>(f.intOr("status", 0));
  resp.retry_after_seconds =
      static_cast<long>(std::clamp<int64_t>(f.intOr("retry_after", -1), -1, 3600));
  resp.body = f.stringOr("body");
  if (resp.body.size() > o.max_response_bytes) {
    return ResourceExhaustedError("response from " + url + " too large");
  }
  return resp;
}

StatusOr<HttpResponse> HttpRequestUnprivileged(HttpOptions options, const std::string& user,
                                               const std::string& url,
                                               const std::string* post_body) {
  HEARTH_ASSIGN_OR_RETURN(NetworkHelper helper, NetworkHelper::Start(user));
  return helper.request(std::move(options), url, post_body);
}

StatusOr<VerifiedPolicy> VerifyPolicyApart(const std::string& envelope,
                                           const std::string& public_key_pem, int64_t min_version,
                                           const std::string& user) {
  auto helper = NetworkHelper::Start(user, uploader::kVerifierName);
  if (!helper.ok()) {
    return InternalError("the policy check process did not start: " + helper.status().message());
  }
  json::Value req = uploader::Request("verify_policy");
  req.set("envelope", envelope);
  req.set("keys", public_key_pem);
  req.set("min_version", min_version);
  auto answer = helper->ask(req, std::chrono::seconds(60));
  if (!answer.ok()) {
    const Status& s = answer.status();
    // The verifier's own verdict keeps its code; a verifier that failed is an internal error.
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded ||
        s.code() == StatusCode::kDataLoss) {
      return InternalError("the policy check process ended without an answer (" + s.message() +
                           ")");
    }
    return s;
  }
  HEARTH_ASSIGN_OR_RETURN(VerifiedPolicy v, PolicyFromVerifiedEnvelope(envelope, min_version));
  v.key_index = static_cast<size_t>(std::max<int64_t>(Fields(*answer).intOr("key_index", 0), 0));
  if (Fields(*answer).boolOr("announcement_verified", false)) {
    // Verified by the child with the key that signed the policy: parsed here (no crypto).
    v.announcement = AnnouncementOf(envelope);
  }
  return v;
}

// --- the uploader ------------------------------------------------------------------------------

StatusOr<std::unique_ptr<ProcessTransport>> ProcessTransport::start(
    const UploaderOptions& options) {
  std::unique_ptr<ProcessTransport> t(new ProcessTransport(options));
  if (ChildrenRunAsServiceUser() && !options.user.empty()) {
    auto ids = FindAccount(options.user);
    if (!ids) {
      return FailedPreconditionError("the uploader's account \"" + options.user +
                                     "\" does not exist (create it, or set service_user in "
                                     "agent.conf to an unprivileged account)");
    }
    if (ids->first == 0 || ids->second == 0) {
      return FailedPreconditionError("service_user \"" + options.user +
                                     "\" is root or in group root; the uploader must run "
                                     "unprivileged");
    }
    t->account_ = ChildAccount{ids->first, ids->second};
  }
  return t;  // the uploader starts on the first request (see release())
}

ProcessTransport::~ProcessTransport() { release(); }

void ProcessTransport::release() {
  if (child_) child_->finish();
  child_.reset();
}

Status ProcessTransport::spawn() {
  ChildSpec spec = uploaderSpec("hearth-upload", account_);
  if (options_.make_transport) {
    spec.program.clear();
    spec.extra_env.clear();
    auto make = options_.make_transport;
    spec.run = [make](int fd) {
      ServeUploader(fd, [make](const json::Value&) -> StatusOr<std::unique_ptr<Transport>> {
        return make();
      });
      return 0;
    };
  }
  HEARTH_ASSIGN_OR_RETURN(child_, ChildProcess::Start(spec));
  // Its material, in memory, before any request.
  json::Value configure = uploader::Request("configure");
  configure.set("server", options_.server);
  configure.set("signing_keys", options_.signing_public_key_pem);
  uploader::PutHttpOptions(options_.http, configure);
  auto answer =
      askChild(*child_, configure, Clock::now() + options_.request_deadline, interrupt_fd_);
  if (!answer.ok()) {
    stop();
    return answer.status();
  }
  if (!uploader::AnswerOk(*answer)) {
    stop();
    return uploader::AnswerStatus(*answer);
  }
  return OkStatus();
}

StatusOr<json::Value> ProcessTransport::call(const json::Value& request,
                                             std::chrono::milliseconds extra) {
  if (!child_) HEARTH_RETURN_IF_ERROR(spawn());
  auto deadline = Clock::now() + options_.request_deadline + extra;
  const std::string frame = json::write(request);
  Status sent = child_->send(frame, deadline, interrupt_fd_);
  if (!sent.ok() && sent.message() != "interrupted") {
    stop();  // it died or stalled; try once with a new one
    HEARTH_RETURN_IF_ERROR(spawn());
    sent = child_->send(frame, deadline, interrupt_fd_);
  }
  if (!sent.ok()) {
    stop();
    return sent;
  }
  auto answer = child_->receive(uploader::kMaxFrame, deadline, interrupt_fd_);
  if (!answer.ok()) {
    stop();  // a stuck or dead uploader is replaced on the next call
    return answer.status();
  }
  auto parsed = uploader::ParseFrame(*answer);
  if (parsed.ok()) {
    // Kept as an offset from our clock, so that it stays right while time passes.
    int64_t date = Fields(*parsed).intOr("server_date", 0);
    if (date > 0) server_offset_ = date - unixSeconds();
  }
  return parsed;
}

std::optional<int64_t> ProcessTransport::serverDate() const {
  if (!server_offset_) return std::nullopt;
  return unixSeconds() + *server_offset_;
}

PostResult ProcessTransport::postReport(const std::string& envelope) {
  return postReportPatiently(envelope, std::chrono::milliseconds(0));
}

PostResult ProcessTransport::postReportPatiently(const std::string& envelope,
                                                 std::chrono::milliseconds timeout) {
  json::Value req = uploader::Request("post");
  req.set("body", envelope);
  std::chrono::milliseconds extra(0);
  if (timeout.count() > 0) {
    req.set("timeout_ms", static_cast<int64_t>(timeout.count()));
    extra = std::max(std::chrono::milliseconds(0), timeout - options_.http.total_timeout);
  }
  auto answer = call(req, extra);
  if (!answer.ok()) {
    PostResult r;
    r.kind = PostResult::Kind::kNetwork;
    r.error = answer.status().message();
    return r;
  }
  return uploader::PostFromAnswer(*answer);
}

StatusOr<RenewedCertificate> ProcessTransport::renewCertificate(const std::string& device_id) {
  json::Value req = uploader::Request("renew");
  req.set("device_id", device_id);
  HEARTH_ASSIGN_OR_RETURN(json::Value v, call(req));
  if (!uploader::AnswerOk(v)) return uploader::AnswerStatus(v);
  auto f = Fields(v);
  RenewedCertificate r;
  r.key_pem = f.stringOr("key");
  r.cert_pem = f.stringOr("certificate");
  r.ca_pem = f.stringOr("ca_certificate");
  r.validity.not_before = f.intOr("not_before", 0);
  r.validity.not_after = f.intOr("not_after", 0);
  if (r.key_pem.empty() || r.cert_pem.empty() || r.validity.not_after <= r.validity.not_before) {
    return DataLossError("the uploader sent an incomplete renewed certificate");
  }
  return r;
}

StatusOr<CertValidity> ProcessTransport::certificateValidity() {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, call(uploader::Request("cert_info")));
  if (!uploader::AnswerOk(v)) return uploader::AnswerStatus(v);
  CertValidity c{Fields(v).intOr("not_before", 0), Fields(v).intOr("not_after", 0)};
  if (c.not_after <= c.not_before) return DataLossError("the uploader sent an unusable validity");
  return c;
}

StatusOr<std::string> ProcessTransport::fetchPolicy(int64_t min_version) {
  json::Value req = uploader::Request("policy");
  req.set("min_version", min_version);
  HEARTH_ASSIGN_OR_RETURN(json::Value v, call(req));
  if (uploader::AnswerOk(v)) return Fields(v).stringOr("policy");
  return uploader::AnswerStatus(v);
}

}  // namespace hearth::agent
