#include "hearth/agent/runtime.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <ostream>
#include <pwd.h>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child_process.h"
#include "hearth/agent/check_process.h"
#include "hearth/agent/privacy.h"
#include "hearth/agent/run_once.h"
#include "hearth/agent/uploader.h"
#include "hearth/files.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxStateFile = 1 << 20;

}  // namespace

std::string MachineIdHash(const std::string& state_dir) {
  // Hashed with a context string: the raw machine id never leaves the PC. The server flags two
  // devices reporting the same value (a cloned disk), so a PC without a machine id must not
  // send a value shared by every such PC: it gets a random one of its own, kept in the state
  // directory (a cloned state directory still shows up as a clone).
  std::string id;
  for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    if (auto t = ReadFileBounded(path, 256); t.ok() && !text::trim(*t).empty()) {
      id = text::trim(*t);
      break;
    }
  }
  if (id.empty()) {
    const std::string own = state_dir + "/machine-id";
    if (auto t = ReadFileBounded(own, 256); t.ok() && !text::trim(*t).empty()) {
      id = "local:" + text::trim(*t);
    } else if (auto fresh = protocol::RandomHex(16);
               fresh.ok() && WriteFileDurably(own, *fresh + "\n", 0600).ok()) {
      id = "local:" + *fresh;
    }
  }
  return protocol::Sha256Hex("hearth-machine-id:" + id);
}

namespace {

std::string now3339() { return formatRfc3339(std::chrono::system_clock::now()); }

json::Value loadJsonOr(const std::string& path, json::Value fallback) {
  auto t = ReadFileBounded(path, kMaxStateFile);
  if (!t.ok()) return fallback;
  auto v = json::parse(*t);
  return v.ok() ? std::move(v).value() : fallback;
}

std::string reportStatePath(const std::string& state_dir) {
  return state_dir + "/report-state.json";
}

}  // namespace

StatusOr<int> LockStateDir(const std::string& state_dir) {
  if (::mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return PermissionDeniedError("cannot create " + state_dir + ": " + std::strerror(errno));
  }
  std::string path = state_dir + "/agent.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return PermissionDeniedError("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return FailedPreconditionError(
          "another hearth-agent is already working in " + state_dir +
          " (the daemon?); to ask the running agent for a check, use `hearth-agent check-now`");
    }
    return InternalError("cannot lock " + path + ": " + std::strerror(e));
  }
  return fd;
}

Status WriteRetiredMark(const std::string& state_dir, const std::string& why) {
  json::Value o = json::Value::object();
  o.set("retired_at", now3339());
  o.set("reason", why);
  return WriteFileDurably(state_dir + "/retired", json::write(o) + "\n", 0644);
}

Status ClearRetiredMark(const std::string& state_dir) {
  if (::unlink((state_dir + "/retired").c_str()) != 0 && errno != ENOENT) {
    return InternalError("cannot remove " + state_dir + "/retired: " + std::strerror(errno));
  }
  return OkStatus();
}

bool HasRetiredMark(const std::string& state_dir) {
  struct stat st {};
  return ::stat((state_dir + "/retired").c_str(), &st) == 0;
}

StatusOr<std::unique_ptr<AgentRuntime>> AgentRuntime::open(const RuntimeOptions& o, Logger& log) {
  std::unique_ptr<AgentRuntime> rt(new AgentRuntime());
  rt->options_ = o;
  rt->log_ = &log;
  rt->paths_ = AgentPathsFor(o.state_dir);
  HEARTH_ASSIGN_OR_RETURN(rt->enrollment_, LoadEnrollment(o.state_dir));
  rt->retired_ = HasRetiredMark(o.state_dir);
  HEARTH_ASSIGN_OR_RETURN(rt->signing_pub_, ReadFileBounded(rt->paths_.signing_pub, 16 * 1024));
  if (auto next = ReadFileBounded(rt->paths_.signing_next, 16 * 1024); next.ok()) {
    rt->signing_next_ = *next;
  }
  rt->spool_ = std::make_unique<Spool>(rt->paths_.spool, o.config.spool_max_reports,
                                       o.config.spool_max_bytes);
  SentHistoryOptions so;
  so.keep_reports = o.config.sent_keep_reports;
  so.keep_for = std::chrono::hours(24) * o.config.sent_keep_days;
  rt->sent_ = std::make_unique<SentHistory>(rt->paths_.sent, so);
  if (Status s = rt->sent_->bindTo(rt->enrollment_.device_id); !s.ok()) {
    // Without it nothing is lost now; only re-sending after a server restore is not possible.
    log.warning("the sent history " + rt->paths_.sent + " is not usable (" + s.message() +
                "); reports cannot be re-sent to a restored server");
    rt->sent_.reset();
  }

  // A renewal that a crash interrupted is finished (or discarded) before the key is read.
  auto recovered = RecoverCertificateRenewal(o.state_dir);
  if (!recovered.ok()) return recovered.status();
  if (*recovered) log.info("finished installing the renewed certificate");
  HEARTH_RETURN_IF_ERROR(rt->openTransport());
  if (auto v = LoadCertValidity(o.state_dir); v.ok()) rt->cert_validity_ = *v;

  // The last good policy. Its signature was checked before it was saved (by the transport, see
  // refreshPolicy); the file is root's, in root's state dir, so only root could have changed it
  // since. Not checking it again here keeps OpenSSL out of the daemon process (memory budget,
  // docs/agent-daemon.md "Memory"); `hearth-agent check` does check it on every use.
  if (auto saved = ReadFileBounded(rt->paths_.policy, kMaxStateFile); saved.ok()) {
    auto v = PolicyFromVerifiedEnvelope(*saved, 0);
    if (v.ok()) {
      rt->policy_version_ = v->policy.version;
      rt->policy_ = v->policy;
      rt->last_good_envelope_ = *saved;
    } else {
      log.warning("ignoring the saved policy " + rt->paths_.policy + ": " + v.status().message());
    }
  }
  json::Value status = loadJsonOr(rt->paths_.status, json::Value::object());
  if (const json::Value* d = status.find("last_delivery"); d != nullptr && d->isString()) {
    rt->last_delivery_ = d->asString();
  }
  return rt;
}

Status AgentRuntime::openTransport() {
  transport_.reset();  // the old uploader (and its key) goes first
  HttpOptions ho;
  // The enrolled pin and those the server announced for its next key (server key rotation).
  ho.pin = PinList(enrollment_, LoadAnnouncedPins(options_.state_dir));
  ho.proxy = options_.config.proxy;
  ho.connect_timeout = options_.config.connect_timeout;
  ho.total_timeout = std::max<std::chrono::milliseconds>(options_.config.request_timeout,
                                                         options_.config.connect_timeout);
  if (options_.uploader_process) {
    // The uploader cannot open root-owned files: hand it the material in memory.
    if (enrollment_.has_ca) {
      HEARTH_ASSIGN_OR_RETURN(ho.ca_pem, ReadFileBounded(paths_.server_ca, 256 * 1024));
    }
    HEARTH_ASSIGN_OR_RETURN(ho.client_cert_pem, ReadFileBounded(paths_.device_cert, 256 * 1024));
    HEARTH_ASSIGN_OR_RETURN(ho.client_key_pem, ReadFileBounded(paths_.device_key, 64 * 1024));
    UploaderOptions uo;
    uo.server = enrollment_.server;
    uo.http = ho;
    uo.signing_public_key_pem = signingKeys();
    uo.user = options_.config.service_user;
    if (::geteuid() == 0 && !FindAccount(uo.user)) {
      // Installed by hand rather than from the package (which creates the account): still never
      // run the network side as root.
      log_->warning("the account \"" + uo.user +
                    "\" (service_user) does not exist; the uploader runs as \"nobody\" instead");
      uo.user = "nobody";
    }
    uo.request_deadline = ho.total_timeout + std::chrono::seconds(15);
    HEARTH_ASSIGN_OR_RETURN(auto pt, ProcessTransport::start(uo));
    transport_ = std::move(pt);
  } else {
    ho.ca_file = enrollment_.has_ca ? paths_.server_ca : "";
    ho.client_cert = paths_.device_cert;
    ho.client_key = paths_.device_key;
    HEARTH_ASSIGN_OR_RETURN(auto client, HttpClient::create(ho));
    auto cert_pem = ReadFileBounded(paths_.device_cert, 256 * 1024);
    transport_ = NewHttpTransport(std::move(client), enrollment_.server, signingKeys(),
                                  cert_pem.ok() ? *cert_pem : std::string());
  }

  if (interrupt_fd_ >= 0) setInterruptFd(interrupt_fd_);
  return OkStatus();
}

AgentRuntime::~AgentRuntime() = default;

void AgentRuntime::setInterruptFd(int fd) {
  interrupt_fd_ = fd;
  if (auto* pt = dynamic_cast<ProcessTransport*>(transport_.get())) pt->setInterruptFd(fd);
}

void AgentRuntime::markRetired(const std::string& why) {
  if (!retired_) {
    log_->error("the company's server says this PC is retired (" + why +
                "): reporting stops until someone runs `hearth-agent enroll` again");
  }
  retired_ = true;
  Status s = WriteRetiredMark(options_.state_dir, why);
  if (!s.ok()) log_->error(s.message());
}

std::string AgentRuntime::signingKeys() const {
  return signing_next_.empty() ? signing_pub_ : signing_pub_ + "\n" + signing_next_;
}

void AgentRuntime::policySignatureRefused(const std::string& why) {
  policy_problem_ =
      "the company's server sent a policy signed with a key this PC does not trust (" + why +
      "). If the company rotated its policy-signing key while this PC was offline, ask IT to "
      "retire this device in Hearth, then run `hearth-agent enroll` again with a new enrolment "
      "secret. Until then the last good policy" +
      (policy_ ? " (version " + std::to_string(policy_version_) + ")" : std::string()) +
      " stays in force";
  log_->error(policy_problem_);
}

// A policy verified with the pinned key may announce the next policy-signing key: keep it, so
// that the policies it signs are accepted once it takes over.
void AgentRuntime::takeAnnouncement(const VerifiedPolicy& v) {
  if (!v.announcement) return;
  if (!v.announcement->server_pins.empty() && !enrollment_.pin.empty()) {
    auto added = AddAnnouncedPins(options_.state_dir, v.announcement->server_pins);
    if (!added.ok()) {
      log_->error("cannot keep the server's announced key pins: " + added.status().message());
    } else if (*added) {
      log_->info("the server announced its next TLS key; it is accepted from now on");
      Status t = openTransport();
      if (!t.ok()) log_->error(t.message());
    }
  }
  if (v.announcement->next_policy_key.empty()) return;
  const std::string& next = v.announcement->next_policy_key;
  if (next == signing_pub_ || next == signing_next_) return;
  // (Not parsed here: the daemon's root process stays out of OpenSSL. A key that does not parse
  // simply never verifies a policy.)
  Status s = WriteFileDurably(paths_.signing_next, next, 0644);
  if (!s.ok()) {
    log_->error("cannot keep the announced policy-signing key: " + s.message());
    return;
  }
  signing_next_ = next;
  log_->info("the server announced its next policy-signing key; it is accepted from now on");
  Status t = openTransport();  // the uploader verifies with both keys from now on
  if (!t.ok()) log_->error(t.message());
}

// The root side's own check of a fetched policy envelope. Byte for byte the last good one (the
// usual case: a policy changes rarely, and Ed25519 signatures are deterministic): it was
// verified when it was first taken, so nothing is new. Otherwise the signature, and any
// announcement of a next key, are verified against this PC's keys in a short-lived child
// process, so that the daemon itself never loads OpenSSL (docs/agent-daemon.md "Memory"); the
// one-shot commands, which are not long-lived, verify in-process.
StatusOr<VerifiedPolicy> AgentRuntime::verifyFetchedPolicy(const std::string& envelope) {
  if (policy_ && !last_good_envelope_.empty() && envelope == last_good_envelope_) {
    return PolicyFromVerifiedEnvelope(envelope, policy_version_);
  }
  if (!options_.uploader_process) {
    return VerifySignedPolicy(envelope, signingKeys(), policy_version_);
  }
  const std::string keys = signingKeys();
  const int64_t min_version = policy_version_;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    BecomeChildOf(parent, "hearth-verify");
    ::close(fds[0]);
    auto v = VerifySignedPolicy(envelope, keys, min_version);
    json::Value out = json::Value::object();
    out.set("ok", v.ok());
    if (v.ok()) {
      out.set("key_index", static_cast<int64_t>(v->key_index));
      out.set("announcement_verified", v->announcement.has_value());
    } else {
      out.set("code", static_cast<int64_t>(v.status().code()));
      out.set("error", v.status().message());
    }
    std::string text = json::write(out);
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while (text.size() < (64u << 10) && (n = ::read(fds[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  Reap(pid, &status);
  auto answer = json::parse(text);
  if (!answer.ok() || !answer->isObject()) {
    return InternalError("the policy check process ended without an answer (status " +
                         std::to_string(status) + ")");
  }
  const json::Value* ok = answer->find("ok");
  if (ok == nullptr || !ok->isBool() || !ok->asBool()) {
    const json::Value* code = answer->find("code");
    const json::Value* error = answer->find("error");
    return Status(code != nullptr && code->isInt() ? static_cast<StatusCode>(code->asInt())
                                                   : StatusCode::kPermissionDenied,
                  error != nullptr && error->isString() ? error->asString() : "policy refused");
  }
  HEARTH_ASSIGN_OR_RETURN(VerifiedPolicy v, PolicyFromVerifiedEnvelope(envelope, min_version));
  if (const json::Value* k = answer->find("key_index"); k != nullptr && k->isInt()) {
    v.key_index = static_cast<size_t>(k->asInt());
  }
  if (const json::Value* a = answer->find("announcement_verified");
      a != nullptr && a->isBool() && a->asBool()) {
    // Verified by the child with the key that signed the policy: parse it here (no crypto).
    auto sp = protocol::SignedPolicy::parse(envelope);
    if (sp.ok()) {
      auto ann = protocol::Base64Decode(sp->announcement_b64);
      if (ann.ok()) {
        auto parsed = protocol::PolicyAnnouncement::parse(*ann);
        if (parsed.ok()) v.announcement = std::move(parsed).value();
      }
    }
  }
  return v;
}

Status AgentRuntime::refreshPolicy() {
  if (!retired_) {
    // The transport verified the signature (the uploader process for the daemon: it parses what
    // the network sends, unprivileged). The root side verifies again, against its own keys,
    // whenever the envelope differs from the last good one (verifyFetchedPolicy).
    auto fetched = transport_->fetchPolicy(policy_version_);
    if (fetched.ok()) {
      auto v = verifyFetchedPolicy(*fetched);
      if (v.ok()) {
        if (!policy_ || v->policy.version != policy_version_) {
          log_->info("policy " + v->policy.level + " version " + std::to_string(v->policy.version) +
                     " in force");
        }
        policy_version_ = v->policy.version;
        policy_ = std::move(v->policy);
        policy_problem_.clear();
        HEARTH_RETURN_IF_ERROR(WriteFileDurably(paths_.policy, *fetched, 0644));
        last_good_envelope_ = *fetched;
        if (v->key_index == 1) {
          // The announced key signed it: it is the policy-signing key from now on.
          HEARTH_RETURN_IF_ERROR(WriteFileDurably(paths_.signing_pub, signing_next_, 0644));
          if (::unlink(paths_.signing_next.c_str()) != 0 && errno != ENOENT) {
            log_->error("cannot remove " + paths_.signing_next + ": " + std::strerror(errno));
          }
          signing_pub_ = signing_next_;
          signing_next_.clear();
          log_->info("the company's new policy-signing key is in force");
        }
        takeAnnouncement(*v);
      } else {
        log_->warning("refusing the server's policy: " + v.status().message());
        if (v.status().message().find("policy signature") != std::string::npos) {
          policySignatureRefused(v.status().message());
        }
      }
    } else if (fetched.status().code() == StatusCode::kFailedPrecondition &&
               fetched.status().message().find("retired") != std::string::npos) {
      markRetired(fetched.status().message());
    } else if (fetched.status().message().find("policy signature") != std::string::npos) {
      // The uploader verified it first, with the same keys.
      policySignatureRefused(fetched.status().message());
    } else {
      log_->warning("could not fetch the policy (" + fetched.status().message() +
                    "); using the last good one");
    }
  }
  if (!policy_) {
    auto local = LoadPolicyFile(options_.config.fallback_policy);
    if (!local.ok()) {
      return FailedPreconditionError("no policy: none received from the server yet and " +
                                     local.status().message());
    }
    policy_ = std::move(local).value();
  }
  return OkStatus();
}

StatusOr<json::Value> AgentRuntime::runChecks(const std::set<std::string>& only) {
  if (!policy_) HEARTH_RETURN_IF_ERROR(refreshPolicy());
  CheckProcessOptions co;
  co.state_dir = options_.state_dir;
  co.check_timeout = options_.config.check_timeout;
  co.only = only;
  co.notify = options_.config.notify && !retired_;
  co.notify_state_file = options_.state_dir + "/notified.json";
  co.interrupt_fd = interrupt_fd_;
  co.in_process = !options_.isolate_checks;
  std::ostringstream check_log;
  auto result = RunChecksIsolated(*policy_, co, check_log);
  for (const auto& line : text::splitLines(check_log.str())) {
    if (!text::trim(line).empty()) log_->info(line);
  }
  HEARTH_RETURN_IF_ERROR(result.status());
  json::Value local = std::move(result).value();
  if (!only.empty() && last_full_) {
    local = MergeCheckResults(*last_full_, local);
  }
  if (only.empty() || last_full_) last_full_ = local;
  last_local_ = local;
  return local;
}

StatusOr<std::optional<int64_t>> AgentRuntime::spoolIfNeeded(const json::Value& local, bool force) {
  if (retired_) return std::optional<int64_t>();
  std::vector<std::string> users;
  if (auto passwd = ReadFileBounded("/etc/passwd", 4 << 20); passwd.ok()) {
    users = LocalUsersFromPasswd(*passwd);
  }
  json::Value filtered = ApplyPrivacyFilter(local, users);
  std::string fingerprint = ResultFingerprint(filtered);
  json::Value state = loadJsonOr(reportStatePath(options_.state_dir), json::Value::object());
  const json::Value* fp = state.find("fingerprint");
  const json::Value* at = state.find("spooled_at");
  auto now = std::chrono::system_clock::now();
  const json::Value* dev = state.find("device_id");
  // A new enrolment (new device id) always starts with a report.
  bool changed = fp == nullptr || !fp->isString() || fp->asString() != fingerprint ||
                 dev == nullptr || !dev->isString() || dev->asString() != enrollment_.device_id;
  bool heartbeat_due = true;
  if (at != nullptr && at->isInt()) {
    auto last = std::chrono::system_clock::time_point(std::chrono::seconds(at->asInt()));
    // A clock that went backwards counts as due.
    heartbeat_due = now < last || now - last >= options_.config.heartbeat;
  }
  if (!force && !changed && !heartbeat_due) return std::optional<int64_t>();

  protocol::ReportEnvelope env;
  HEARTH_ASSIGN_OR_RETURN(env.report_id, protocol::RandomUuid());
  HEARTH_ASSIGN_OR_RETURN(const std::vector<int64_t> spooled, spool_->list());
  HEARTH_ASSIGN_OR_RETURN(env.sequence,
                          NextSequence(options_.state_dir, spooled.empty() ? 0 : spooled.back()));
  // Reports the spool had to drop (overflow) travel with this one; the claim ends only when the
  // server acknowledged it, so a crash never loses or double-counts the number.
  HEARTH_ASSIGN_OR_RETURN(int64_t dropped, spool_->takeDroppedForReport(env.sequence));
  if (dropped > 0) env.dropped = dropped;
  env.sent_at = now3339();
  env.agent_version = HEARTH_VERSION;
  env.machine_id = MachineIdHash(options_.state_dir);
  env.result = std::move(filtered);
  std::string envelope = json::write(env.toJson());
  if (envelope.size() > protocol::kMaxBodyBytes) {
    // The server takes at most 1 MiB: keep every verdict and summary, drop the evidence.
    if (const json::Value* checks = env.result.find("checks");
        checks != nullptr && checks->isArray()) {
      json::Value slim = json::Value::array();
      for (const auto& c : checks->asArray()) {
        json::Value copy = c;
        json::Value note = json::Value::object();
        note.set("truncated", "the evidence was too large to send");
        copy.set("evidence", note);
        slim.push(copy);
      }
      env.result.set("checks", slim);
    }
    envelope = json::write(env.toJson());
    log_->warning("report " + std::to_string(env.sequence) +
                  " was larger than 1 MiB; sent without evidence");
    if (envelope.size() > protocol::kMaxBodyBytes) {
      return ResourceExhaustedError("the report is larger than 1 MiB even without evidence");
    }
  }
  HEARTH_RETURN_IF_ERROR(spool_->append(env.sequence, envelope));
  HEARTH_RETURN_IF_ERROR(CommitSequence(options_.state_dir, env.sequence));
  json::Value next = json::Value::object();
  next.set("fingerprint", fingerprint);
  next.set("device_id", enrollment_.device_id);
  next.set("spooled_at",
           static_cast<int64_t>(
               std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  next.set("sequence", env.sequence);
  HEARTH_RETURN_IF_ERROR(
      WriteFileDurably(reportStatePath(options_.state_dir), json::write(next) + "\n", 0600));
  log_->debug("report " + std::to_string(env.sequence) + " spooled (" +
              (force     ? "requested"
               : changed ? "a verdict changed"
                         : "heartbeat") +
              ")");
  return std::optional<int64_t>(env.sequence);
}

DeliveryOutcome AgentRuntime::deliver(const std::function<bool()>& should_stop) {
  DeliveryOutcome total;
  if (retired_) {
    total.last.kind = PostResult::Kind::kRetired;
    total.last.error = "this PC is retired";
    return total;
  }
  std::ostringstream dlog;
  bool resent = false;
  for (int round = 0; round < 100; ++round) {
    DeliveryOutcome d = DeliverSpool(*spool_, *transport_, dlog, should_stop, sent_.get());
    total.delivered += d.delivered;
    total.emptied = d.emptied;
    total.last = d.last;
    if (d.last_sequence != 0) {
      total.last_sequence = d.last_sequence;
      total.last_delivered = d.last_delivered;
    }
    if (d.unreadable) {
      // A report that can never be read would block every report behind it: move the file
      // aside (kept for IT, never deleted) and go on with the next.
      std::string dir = options_.state_dir + "/rejected";
      ::mkdir(dir.c_str(), 0700);
      std::string from = spool_->reportPath(*d.unreadable);
      std::string to = dir + "/" + std::to_string(*d.unreadable) + ".unreadable";
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        log_->error("cannot move unreadable report " + std::to_string(*d.unreadable) +
                    " out of the spool (" + std::strerror(errno) + "); delivery waits for it");
        break;
      }
      log_->error("report " + std::to_string(*d.unreadable) + " in the spool cannot be read (" +
                  d.last.error + "); moved to " + to + " and delivery goes on without it");
      if (!spool_->discard(*d.unreadable).ok()) break;
      continue;
    }
    // Reports the server lacked (restored from a backup) are back in the spool: send them now,
    // in one more round (once: a server that keeps saying it lacks them is not fed in a loop).
    if (d.requeued > 0 && d.last.kind == PostResult::Kind::kAccepted && !resent) {
      resent = true;
      continue;
    }
    if (d.last.kind != PostResult::Kind::kRefused) break;
    // The server will never take the report at the head: move it aside (kept for IT), go on.
    auto seqs = spool_->list();
    if (!seqs.ok() || seqs->empty()) break;
    int64_t head = seqs->front();
    auto bytes = spool_->read(head);
    std::string dir = options_.state_dir + "/rejected";
    ::mkdir(dir.c_str(), 0700);
    if (bytes.ok()) {
      Status s = WriteFileDurably(dir + "/" + std::to_string(head) + ".json", *bytes, 0600);
      if (!s.ok()) {
        log_->error("cannot keep refused report " + std::to_string(head) + ": " + s.message());
        break;
      }
    }
    log_->error("the server refused report " + std::to_string(head) + " for good (" + d.last.error +
                "); kept in " + dir);
    if (!spool_->discard(head).ok()) break;  // (keeps a drop count it carried for the next)
  }
  for (const auto& line : text::splitLines(dlog.str())) {
    if (!text::trim(line).empty()) log_->info(line);
  }
  if (!total.last_delivered.empty()) {
    Status s = WriteFileDurably(paths_.last_report, total.last_delivered, 0644);
    if (!s.ok()) log_->error("cannot write " + paths_.last_report + ": " + s.message());
    last_delivery_ = now3339();
  }
  if (total.last.kind == PostResult::Kind::kRetired) markRetired(total.last.error);
  delivery_error_ = total.emptied ? std::string() : total.last.error;
  return total;
}

Status AgentRuntime::maybeRenewCertificate() {
  if (retired_) return OkStatus();
  if (!cert_validity_) {
    // A state directory from before device-cert.json: the uploader reads the certificate.
    auto v = transport_->certificateValidity();
    if (!v.ok()) {
      log_->warning("cannot tell when this PC's certificate expires (" + v.status().message() +
                    "); renewal waits");
      return v.status();
    }
    cert_validity_ = *v;
    Status st = StoreCertValidity(options_.state_dir, *v);
    if (!st.ok()) log_->error(st.message());
  }
  auto now = std::chrono::system_clock::now();
  if (now < RenewalTime(*cert_validity_)) return OkStatus();
  const bool expired = now >= ExpiryTime(*cert_validity_);
  const std::string expiry = formatRfc3339(ExpiryTime(*cert_validity_));
  log_->info(std::string(expired ? "this PC's certificate expired on " + expiry
                                 : "this PC's certificate is past half of its life (expires " +
                                       expiry + ")") +
             ": asking the server for a new one, with a new key");
  auto renewed = transport_->renewCertificate(enrollment_.device_id);
  if (!renewed.ok()) {
    const Status& st = renewed.status();
    if (st.code() == StatusCode::kFailedPrecondition && st.message() == "retired") {
      markRetired("the server says this device is retired");
      return st;
    }
    if (expired) {
      // (With TLS 1.3 a server's refusal of the certificate arrives after the handshake and
      // looks like a broken connection: the two cannot be told apart reliably here.)
      cert_problem_ = "this PC's certificate expired on " + expiry +
                      " and the company's server did not renew it (" + st.message() +
                      "). Nothing can be sent until the PC is enrolled again: ask IT for an "
                      "enrolment secret and run `hearth-agent enroll` again (if the server was "
                      "only unreachable, the agent tries again at every check)";
      log_->error(cert_problem_);
    } else {
      log_->warning("certificate renewal failed (" + st.message() +
                    "); trying again at the next check; the certificate is valid until " + expiry);
    }
    return st;
  }
  Status installed = InstallRenewedCertificate(options_.state_dir, *renewed);
  if (!installed.ok()) {
    // The old key and certificate are still whole, and still valid on the server until the new
    // one is used: the next cycle renews again.
    log_->error("cannot store the renewed certificate: " + installed.message());
    return installed;
  }
  cert_validity_ = renewed->validity;
  cert_problem_.clear();
  log_->info("renewed this PC's certificate (new key); valid until " +
             formatRfc3339(ExpiryTime(renewed->validity)) + ", next renewal from " +
             formatRfc3339(RenewalTime(renewed->validity)));
  // From the next request on, the new certificate is used (and the server then refuses the old).
  return openTransport();
}

size_t AgentRuntime::spoolDepth() const { return spool_->depth(); }

void AgentRuntime::idle() {
  if (auto* pt = dynamic_cast<ProcessTransport*>(transport_.get())) pt->release();
}

Status AgentRuntime::writeStatus(std::optional<TimePoint> next_check) {
  json::Value status = loadJsonOr(paths_.status, json::Value::object());
  status.set("enrolled", true);
  status.set("server", enrollment_.server);
  status.set("device_id", enrollment_.device_id);
  status.set("retired", retired_);
  if (policy_) {
    status.set("level", policy_->level);
    status.set("policy_version", policy_->version);
  }
  if (last_local_) {
    if (const json::Value* at = last_local_->find("evaluated_at")) status.set("last_check", *at);
    if (const json::Value* c = last_local_->find("compliant")) status.set("compliant", *c);
    if (const json::Value* c = last_local_->find("checks")) status.set("checks", *c);
  }
  status.set("last_delivery", last_delivery_.empty() ? json::Value() : json::Value(last_delivery_));
  status.set("delivery_error",
             delivery_error_.empty() ? json::Value() : json::Value(delivery_error_));
  status.set("spool_depth", static_cast<int64_t>(spool_->depth()));
  status.set("spool_dropped", spool_->dropped());
  status.set("next_check", next_check ? json::Value(formatRfc3339(*next_check)) : json::Value());
  if (cert_validity_) {
    status.set("certificate_expires", formatRfc3339(ExpiryTime(*cert_validity_)));
    status.set("certificate_renewal", formatRfc3339(RenewalTime(*cert_validity_)));
  }
  status.set("certificate_problem",
             cert_problem_.empty() ? json::Value() : json::Value(cert_problem_));
  status.set("policy_problem",
             policy_problem_.empty() ? json::Value() : json::Value(policy_problem_));
  return WriteFileDurably(paths_.status, json::write(status, {.pretty = true}) + "\n", 0644);
}

}  // namespace hearth::agent
