#include "hearth/agent/uploader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <optional>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "child_process.h"
#include "hearth/accounts.h"
#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/text.h"

namespace hearth::agent {

std::optional<std::pair<uid_t, gid_t>> FindAccount(const std::string& name) {
  // A system account (the package's `hearth`, `nobody`) is in /etc/passwd: read it there first,
  // so that the daemon does not load NSS modules (libnss_systemd, about 0.3 MiB) just for this.
  if (auto passwd = ReadFileBounded("/etc/passwd", 4 << 20); passwd.ok()) {
    for (const auto& e : accounts::parsePasswd(*passwd)) {
      if (e.name != name) continue;
      if (e.uid > 0xFFFFFFFE || e.gid > 0xFFFFFFFE) break;  // (uid_t)-1 means "no change"
      return std::make_pair(static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid));
    }
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return std::make_pair(pw.pw_uid, pw.pw_gid);
  }
  return std::nullopt;
}

namespace {

constexpr size_t kMaxFrame = 4 << 20;  // a report is at most 1 MiB; JSON escaping can grow it

using Clock = std::chrono::steady_clock;

// Writes all of `data`, or fails.
bool writeAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// The agent's side: never blocks past `deadline`, and gives up when `interrupt_fd` is readable
// (an uploader that stops reading must not hold the root side).
Status writeFrameBounded(int fd, const std::string& payload, Clock::time_point deadline,
                         int interrupt_fd) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  std::string data;
  data.reserve(payload.size() + 4);
  data.push_back(static_cast<char>(n >> 24));
  data.push_back(static_cast<char>(n >> 16));
  data.push_back(static_cast<char>(n >> 8));
  data.push_back(static_cast<char>(n));
  data += payload;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN) {
      return UnavailableError(std::string("uploader socket: ") + std::strerror(errno));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return DeadlineExceededError("the uploader did not take the request");
    pollfd fds[2] = {{fd, POLLOUT, 0}, {interrupt_fd, POLLIN, 0}};
    int r = ::poll(fds, interrupt_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (r > 0 && interrupt_fd >= 0 && (fds[1].revents & POLLIN) != 0) {
      return UnavailableError("interrupted");
    }
  }
  return OkStatus();
}

bool writeFrame(int fd, const std::string& payload) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  unsigned char head[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                           static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  return writeAll(fd, reinterpret_cast<const char*>(head), 4) &&
         writeAll(fd, payload.data(), payload.size());
}

// Reads one frame. `deadline` (if set) and `interrupt_fd` (if >= 0) bound the wait.
// DeadlineExceeded / Cancelled-as-Unavailable("interrupted") / Unavailable (EOF) / DataLoss.
StatusOr<std::string> readFrame(int fd, std::optional<Clock::time_point> deadline,
                                int interrupt_fd) {
  std::string buf;
  size_t want = 4;
  bool have_head = false;
  while (true) {
    if (buf.size() == want) {
      if (have_head) return buf;
      uint32_t n = (static_cast<uint32_t>(static_cast<unsigned char>(buf[0])) << 24) |
                   (static_cast<uint32_t>(static_cast<unsigned char>(buf[1])) << 16) |
                   (static_cast<uint32_t>(static_cast<unsigned char>(buf[2])) << 8) |
                   static_cast<uint32_t>(static_cast<unsigned char>(buf[3]));
      if (n > kMaxFrame) return DataLossError("uploader frame of " + std::to_string(n) + " bytes");
      buf.clear();
      want = n;
      have_head = true;
      if (n == 0) return buf;
      continue;
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
    int timeout = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return DeadlineExceededError("the uploader did not answer in time");
      timeout = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    }
    int r = ::poll(fds, interrupt_fd >= 0 ? 2 : 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      return InternalError(std::string("poll: ") + std::strerror(errno));
    }
    if (r == 0) continue;  // the deadline check above ends it
    if (interrupt_fd >= 0 && (fds[1].revents & POLLIN) != 0) {
      return UnavailableError("interrupted");
    }
    char chunk[65536];
    ssize_t got = ::recv(fd, chunk, std::min(sizeof(chunk), want - buf.size()), 0);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return UnavailableError(std::string("uploader socket: ") + std::strerror(errno));
    }
    if (got == 0) return UnavailableError("the uploader closed its socket");
    buf.append(chunk, static_cast<size_t>(got));
  }
}

const char* kKindNames[] = {"accepted",    "retry_later", "refused", "retired",
                            "auth_failed", "tls_failure", "network"};

PostResult::Kind kindFromName(const std::string& name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (name == kKindNames[i]) return static_cast<PostResult::Kind>(i);
  }
  return PostResult::Kind::kNetwork;
}

// The frames between the agent and its uploader are read leniently: both sides are this program,
// and a field that is absent or of another type reads as its fallback.
json::ObjectReader frameReader(const json::Value& v) { return json::ObjectReader(v, {}); }
std::string stringField(const json::Value& v, const char* key) {
  return frameReader(v).stringOr(key);
}
int64_t intField(const json::Value& v, const char* key, int64_t fallback) {
  return frameReader(v).intOr(key, fallback);
}

// The uploader's error answer as a Status (codes outside the known range become Unavailable).
Status answerStatus(const json::Value& v) {
  int64_t code = intField(v, "code", static_cast<int64_t>(StatusCode::kUnavailable));
  if (code <= 0 || code > static_cast<int64_t>(StatusCode::kInternal)) {
    code = static_cast<int64_t>(StatusCode::kUnavailable);
  }
  return Status(static_cast<StatusCode>(code), stringField(v, "error").substr(0, 1024));
}
bool answerOk(const json::Value& v) { return frameReader(v).boolOr("ok", false); }

[[noreturn]] void childFail(const char* what) {
  // stderr is the agent's (journald); nothing secret in it.
  const char prefix[] = "<3>hearth-agent uploader: ";
  (void)!::write(2, prefix, sizeof(prefix) - 1);
  (void)!::write(2, what, std::strlen(what));
  (void)!::write(2, "\n", 1);
  ::_exit(127);
}

// Resolves the account to drop to (root only): `user`, or nobody when it does not exist.
StatusOr<std::pair<uid_t, gid_t>> accountFor(const std::string& user) {
  for (const std::string& name : {user, std::string("nobody")}) {
    if (name.empty()) continue;
    if (auto ids = FindAccount(name)) {
      if (ids->first == 0 || ids->second == 0) {
        return FailedPreconditionError("service_user \"" + name +
                                       "\" is root or in group root; the network side must run "
                                       "unprivileged");
      }
      return *ids;
    }
  }
  return FailedPreconditionError("neither \"" + user + "\" nor \"nobody\" exists");
}

constexpr size_t kMaxPem = 1 << 20;

}  // namespace

StatusOr<HttpResponse> HttpRequestUnprivileged(HttpOptions o, const std::string& user,
                                               const std::string& url,
                                               const std::string* post_body) {
  // Everything the child needs, in memory (it cannot open root-owned files after the drop).
  if (o.ca_pem.empty() && !o.ca_file.empty()) {
    HEARTH_ASSIGN_OR_RETURN(o.ca_pem, ReadFileBounded(o.ca_file, kMaxPem));
  }
  if (o.client_cert_pem.empty() && !o.client_cert.empty()) {
    HEARTH_ASSIGN_OR_RETURN(o.client_cert_pem, ReadFileBounded(o.client_cert, kMaxPem));
    HEARTH_ASSIGN_OR_RETURN(o.client_key_pem, ReadFileBounded(o.client_key, kMaxPem));
  }
  std::optional<std::pair<uid_t, gid_t>> drop;
  if (::geteuid() == 0) {
    HEARTH_ASSIGN_OR_RETURN(drop, accountFor(user));
  }
  int pipefd[2];  // a socketpair: the frame helpers use send/recv
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipefd) != 0) {
    return InternalError(std::string("socketpair: ") + std::strerror(errno));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    BecomeChildOf(parent, "hearth-upload");
    // Only stdio and its end of the socketpair: nothing the parent holds (the daemon's control
    // socket, netlink socket, agent.lock) reaches the unprivileged side.
    if (::dup2(pipefd[1], 3) < 0) childFail("dup2 failed");
    pipefd[1] = 3;
    ::close_range(4, ~0U, 0);
    if (drop && !DropPrivileges(parent, drop->first, drop->second)) {
      childFail("cannot drop privileges");
    }
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ::prctl(PR_SET_DUMPABLE, 0);
    json::Value out = json::Value::object();
    auto client = HttpClient::create(o);
    StatusOr<HttpResponse> r =
        !client.ok()
            ? StatusOr<HttpResponse>(client.status())
            : (post_body != nullptr ? (*client)->postJson(url, *post_body) : (*client)->get(url));
    out.set("ok", r.ok());
    if (r.ok()) {
      out.set("status", static_cast<int64_t>(r->status));
      out.set("retry_after", static_cast<int64_t>(r->retry_after_seconds));
      out.set("body", r->body);
    } else {
      out.set("code", static_cast<int64_t>(r.status().code()));
      out.set("error", r.status().message());
    }
    (void)writeFrame(pipefd[1], json::write(out));
    ::_exit(0);
  }
  ::close(pipefd[1]);
  auto frame = readFrame(pipefd[0], Clock::now() + o.total_timeout + std::chrono::seconds(15), -1);
  ::close(pipefd[0]);
  if (!frame.ok()) ::kill(pid, SIGKILL);
  Reap(pid);
  HEARTH_RETURN_IF_ERROR(frame.status());
  HEARTH_ASSIGN_OR_RETURN(json::Value v,
                          json::parse(*frame, {.max_depth = 4, .max_bytes = kMaxFrame}));
  if (!answerOk(v)) return answerStatus(v);
  HttpResponse resp;
  resp.status = static_cast<long>(intField(v, "status", 0));
  resp.retry_after_seconds =
      static_cast<long>(std::clamp<int64_t>(intField(v, "retry_after", -1), -1, 3600));
  resp.body = stringField(v, "body");
  if (resp.body.size() > o.max_response_bytes) {
    return ResourceExhaustedError("response from " + url + " too large");
  }
  return resp;
}

void ServeUploader(int fd, Transport& transport) {
  while (true) {
    auto frame = readFrame(fd, std::nullopt, -1);
    if (!frame.ok()) return;
    auto req = json::parse(*frame, {.max_depth = 4, .max_bytes = kMaxFrame});
    json::Value resp = json::Value::object();
    if (!req.ok() || !req->isObject()) {
      resp.set("ok", false);
      resp.set("error", "bad request");
    } else if (stringField(*req, "op") == "post") {
      PostResult r = transport.postReport(stringField(*req, "body"));
      resp.set("kind", kKindNames[static_cast<int>(r.kind)]);
      resp.set("http_status", static_cast<int64_t>(r.http_status));
      resp.set("retry_after", static_cast<int64_t>(r.retry_after_seconds));
      resp.set("error", r.error);
      if (r.previous_sequence) resp.set("previous_sequence", *r.previous_sequence);
    } else if (stringField(*req, "op") == "policy") {
      auto p = transport.fetchPolicy(intField(*req, "min_version", 0));
      resp.set("ok", p.ok());
      if (p.ok()) {
        resp.set("policy", *p);
      } else {
        resp.set("code", static_cast<int64_t>(p.status().code()));
        resp.set("error", p.status().message());
      }
    } else if (stringField(*req, "op") == "renew") {
      // The new key is made here (OpenSSL stays out of the root side) and handed over once.
      auto r = transport.renewCertificate(stringField(*req, "device_id"));
      resp.set("ok", r.ok());
      if (r.ok()) {
        resp.set("key", r->key_pem);
        resp.set("certificate", r->cert_pem);
        resp.set("ca_certificate", r->ca_pem);
        resp.set("not_before", r->validity.not_before);
        resp.set("not_after", r->validity.not_after);
      } else {
        resp.set("code", static_cast<int64_t>(r.status().code()));
        resp.set("error", r.status().message());
      }
    } else if (stringField(*req, "op") == "cert_info") {
      auto r = transport.certificateValidity();
      resp.set("ok", r.ok());
      if (r.ok()) {
        resp.set("not_before", r->not_before);
        resp.set("not_after", r->not_after);
      } else {
        resp.set("code", static_cast<int64_t>(r.status().code()));
        resp.set("error", r.status().message());
      }
    } else {
      resp.set("ok", false);
      resp.set("error", "unknown op");
    }
    if (!writeFrame(fd, json::write(resp))) return;
  }
}

StatusOr<std::unique_ptr<ProcessTransport>> ProcessTransport::start(
    const UploaderOptions& options) {
  std::unique_ptr<ProcessTransport> t(new ProcessTransport(options));
  if (::geteuid() == 0 && !options.user.empty()) {
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
    t->uid_ = ids->first;
    t->gid_ = ids->second;
  }
  return t;  // the uploader starts on the first request (see release())
}

Status ProcessTransport::spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return InternalError(std::string("socketpair: ") + std::strerror(errno));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // The uploader: only the socket and stdio open.
    BecomeChildOf(parent, "hearth-upload");
    ::signal(SIGPIPE, SIG_IGN);
    if (::dup2(sv[1], 3) < 0) childFail("dup2 failed");
    ::close_range(4, ~0U, 0);
    if (uid_ && !DropPrivileges(parent, *uid_, gid_)) childFail("cannot drop privileges");
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ::prctl(PR_SET_DUMPABLE, 0);  // the device key is in this process's memory
    std::unique_ptr<Transport> transport;
    if (options_.make_transport) {
      transport = options_.make_transport();
    } else {
      auto client = HttpClient::create(options_.http);
      if (!client.ok()) childFail(client.status().message().c_str());
      transport = NewHttpTransport(std::move(client).value(), options_.server,
                                   options_.signing_public_key_pem, options_.http.client_cert_pem);
    }
    ServeUploader(3, *transport);
    ::_exit(0);
  }
  ::close(sv[1]);
  pid_ = pid;
  fd_ = sv[0];
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return OkStatus();
}

void ProcessTransport::stop() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Reap(pid_);
  }
  pid_ = -1;
}

ProcessTransport::~ProcessTransport() { stop(); }

StatusOr<std::string> ProcessTransport::call(const std::string& request) {
  if (pid_ <= 0) HEARTH_RETURN_IF_ERROR(spawn());
  auto deadline = Clock::now() + options_.request_deadline;
  Status sent = writeFrameBounded(fd_, request, deadline, interrupt_fd_);
  if (!sent.ok() && sent.message() != "interrupted") {
    stop();  // it died or stalled; try once with a new one
    HEARTH_RETURN_IF_ERROR(spawn());
    sent = writeFrameBounded(fd_, request, deadline, interrupt_fd_);
  }
  if (!sent.ok()) {
    stop();
    return sent;
  }
  auto answer = readFrame(fd_, deadline, interrupt_fd_);
  if (!answer.ok()) stop();  // a stuck or dead uploader is replaced on the next call
  return answer;
}

PostResult ProcessTransport::postReport(const std::string& envelope) {
  json::Value req = json::Value::object();
  req.set("op", "post");
  req.set("body", envelope);
  PostResult r;
  auto answer = call(json::write(req));
  if (!answer.ok()) {
    r.kind = PostResult::Kind::kNetwork;
    r.error = answer.status().message();
    return r;
  }
  auto v = json::parse(*answer, {.max_depth = 4, .max_bytes = kMaxFrame});
  if (!v.ok() || !v->isObject()) {
    r.error = "the uploader sent an unreadable answer";
    return r;
  }
  r.kind = kindFromName(stringField(*v, "kind"));
  r.http_status = static_cast<long>(intField(*v, "http_status", 0));
  r.retry_after_seconds =
      static_cast<long>(std::clamp<int64_t>(intField(*v, "retry_after", -1), -1, 3600));
  r.error = stringField(*v, "error").substr(0, 1024);
  // Only meaningful on an acknowledgement; a negative or non-integer value is ignored (the root
  // side then re-sends nothing, as with an older server).
  if (r.kind == PostResult::Kind::kAccepted) {
    int64_t previous = intField(*v, "previous_sequence", -1);
    if (previous >= 0) r.previous_sequence = previous;
  }
  return r;
}

StatusOr<RenewedCertificate> ProcessTransport::renewCertificate(const std::string& device_id) {
  json::Value req = json::Value::object();
  req.set("op", "renew");
  req.set("device_id", device_id);
  HEARTH_ASSIGN_OR_RETURN(std::string answer, call(json::write(req)));
  HEARTH_ASSIGN_OR_RETURN(json::Value v,
                          json::parse(answer, {.max_depth = 4, .max_bytes = kMaxFrame}));
  if (!answerOk(v)) return answerStatus(v);
  RenewedCertificate r;
  r.key_pem = stringField(v, "key");
  r.cert_pem = stringField(v, "certificate");
  r.ca_pem = stringField(v, "ca_certificate");
  r.validity.not_before = intField(v, "not_before", 0);
  r.validity.not_after = intField(v, "not_after", 0);
  if (r.key_pem.empty() || r.cert_pem.empty() || r.validity.not_after <= r.validity.not_before) {
    return DataLossError("the uploader sent an incomplete renewed certificate");
  }
  return r;
}

StatusOr<CertValidity> ProcessTransport::certificateValidity() {
  json::Value req = json::Value::object();
  req.set("op", "cert_info");
  HEARTH_ASSIGN_OR_RETURN(std::string answer, call(json::write(req)));
  HEARTH_ASSIGN_OR_RETURN(json::Value v,
                          json::parse(answer, {.max_depth = 4, .max_bytes = kMaxFrame}));
  if (!answerOk(v)) return answerStatus(v);
  CertValidity c{intField(v, "not_before", 0), intField(v, "not_after", 0)};
  if (c.not_after <= c.not_before) return DataLossError("the uploader sent an unusable validity");
  return c;
}

StatusOr<std::string> ProcessTransport::fetchPolicy(int64_t min_version) {
  json::Value req = json::Value::object();
  req.set("op", "policy");
  req.set("min_version", min_version);
  HEARTH_ASSIGN_OR_RETURN(std::string answer, call(json::write(req)));
  HEARTH_ASSIGN_OR_RETURN(json::Value v,
                          json::parse(answer, {.max_depth = 4, .max_bytes = kMaxFrame}));
  if (answerOk(v)) return stringField(v, "policy");
  return answerStatus(v);
}

}  // namespace hearth::agent
