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

#include "common/atomic_file.h"
#include "common/text.h"
#include "hearth/agent/check_process.h"
#include "hearth/agent/privacy.h"
#include "hearth/agent/run_once.h"
#include "hearth/agent/uploader.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/system_view.h"

namespace hearth::agent {

namespace {

StatusOr<std::string> readText(const std::string& path, size_t limit = 1 << 20) {
  auto view = NewLiveSystemView();
  return view->readFile(path, limit, false);
}

std::string machineIdHash() {
  auto id = readText("/etc/machine-id", 256);
  // Hashed with a context string: the raw machine id never leaves the PC.
  return protocol::Sha256Hex("hearth-machine-id:" + (id.ok() ? text::trim(*id) : std::string()));
}

std::string now3339() { return formatRfc3339(std::chrono::system_clock::now()); }

json::Value loadJsonOr(const std::string& path, json::Value fallback) {
  auto t = readText(path);
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
  return WriteFileAtomically(state_dir + "/retired", json::write(o) + "\n", 0644);
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
  HEARTH_ASSIGN_OR_RETURN(rt->signing_pub_, readText(rt->paths_.signing_pub, 16 * 1024));
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

  HttpOptions ho;
  ho.pin = rt->enrollment_.pin;
  ho.proxy = o.config.proxy;
  ho.connect_timeout = o.config.connect_timeout;
  ho.total_timeout =
      std::max<std::chrono::milliseconds>(o.config.request_timeout, o.config.connect_timeout);
  if (o.uploader_process) {
    // The uploader cannot open root-owned files: hand it the material in memory.
    if (rt->enrollment_.has_ca) {
      HEARTH_ASSIGN_OR_RETURN(ho.ca_pem, readText(rt->paths_.server_ca, 256 * 1024));
    }
    HEARTH_ASSIGN_OR_RETURN(ho.client_cert_pem, readText(rt->paths_.device_cert, 256 * 1024));
    HEARTH_ASSIGN_OR_RETURN(ho.client_key_pem, readText(rt->paths_.device_key, 64 * 1024));
    UploaderOptions uo;
    uo.server = rt->enrollment_.server;
    uo.http = ho;
    uo.signing_public_key_pem = rt->signing_pub_;
    uo.user = o.config.service_user;
    if (::geteuid() == 0 && !FindAccount(uo.user)) {
      // Installed by hand rather than from the package (which creates the account): still never
      // run the network side as root.
      log.warning("the account \"" + uo.user +
                  "\" (service_user) does not exist; the uploader runs as \"nobody\" instead");
      uo.user = "nobody";
    }
    uo.request_deadline = ho.total_timeout + std::chrono::seconds(15);
    HEARTH_ASSIGN_OR_RETURN(auto pt, ProcessTransport::start(uo));
    rt->transport_ = std::move(pt);
  } else {
    ho.ca_file = rt->enrollment_.has_ca ? rt->paths_.server_ca : "";
    ho.client_cert = rt->paths_.device_cert;
    ho.client_key = rt->paths_.device_key;
    HEARTH_ASSIGN_OR_RETURN(auto client, HttpClient::create(ho));
    rt->transport_ = NewHttpTransport(std::move(client), rt->enrollment_.server, rt->signing_pub_);
  }

  // The last good policy. Its signature was checked before it was saved (by the transport, see
  // refreshPolicy); the file is root's, in root's state dir, so only root could have changed it
  // since. Not checking it again here keeps OpenSSL out of the daemon process (memory budget,
  // docs/agent-daemon.md "Memory"); `hearth-agent check` does check it on every use.
  if (auto saved = readText(rt->paths_.policy); saved.ok()) {
    auto v = PolicyFromVerifiedEnvelope(*saved, 0);
    if (v.ok()) {
      rt->policy_version_ = v->policy.version;
      rt->policy_ = v->policy;
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

Status AgentRuntime::refreshPolicy() {
  if (!retired_) {
    // The transport verified the signature against the pinned key and refused older versions:
    // the uploader process for the daemon (it parses what the network sends, unprivileged), or
    // HttpTransport in one-shot commands. A compromised uploader could hand over a forged policy,
    // but it also holds the device's key and could forge reports outright, so checking the
    // signature again here would protect nothing the server relies on; what this side does is
    // parse the document strictly (bounded, fuzzed: tests/fuzz/policy_fuzz.cc) and refuse
    // anything older than the version in force.
    auto fetched = transport_->fetchPolicy(policy_version_);
    if (fetched.ok()) {
      auto v = PolicyFromVerifiedEnvelope(*fetched, policy_version_);
      if (v.ok()) {
        if (!policy_ || v->policy.version != policy_version_) {
          log_->info("policy " + v->policy.level + " version " + std::to_string(v->policy.version) +
                     " in force");
        }
        policy_version_ = v->policy.version;
        policy_ = std::move(v->policy);
        HEARTH_RETURN_IF_ERROR(WriteFileAtomically(paths_.policy, *fetched, 0644));
      } else {
        log_->warning("refusing the server's policy: " + v.status().message());
      }
    } else if (fetched.status().code() == StatusCode::kFailedPrecondition &&
               fetched.status().message().find("retired") != std::string::npos) {
      markRetired(fetched.status().message());
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
  if (auto passwd = readText("/etc/passwd", 4 << 20); passwd.ok()) {
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
  env.machine_id = machineIdHash();
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
      WriteFileAtomically(reportStatePath(options_.state_dir), json::write(next) + "\n", 0600));
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
      Status s = WriteFileAtomically(dir + "/" + std::to_string(head) + ".json", *bytes, 0600);
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
    Status s = WriteFileAtomically(paths_.last_report, total.last_delivered, 0644);
    if (!s.ok()) log_->error("cannot write " + paths_.last_report + ": " + s.message());
    last_delivery_ = now3339();
  }
  if (total.last.kind == PostResult::Kind::kRetired) markRetired(total.last.error);
  delivery_error_ = total.emptied ? std::string() : total.last.error;
  return total;
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
  return WriteFileAtomically(paths_.status, json::write(status, {.pretty = true}) + "\n", 0644);
}

}  // namespace hearth::agent
