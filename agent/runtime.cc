// The agent's steps (see runtime.h).
#include "hearth/agent/runtime.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <utility>

#include "agent_os.h"
#include "hearth/agent/check_process.h"
#include "hearth/agent/check_results.h"
#include "hearth/agent/privacy.h"
#include "hearth/agent/sequence.h"
#include "hearth/agent/uploader.h"
#include "hearth/files.h"
#include "hearth/protocol/crypto.h"  // RandomUuid: encoding.cc, no OpenSSL
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxStateFile = 1 << 20;

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
  // A parked report (slow uplink) gets eight times the usual total timeout, at least 2 minutes.
  rt->slow_ = std::make_unique<SlowReports>(
      o.state_dir + "/slow-reports.json",
      std::max<std::chrono::milliseconds>(o.config.request_timeout * 8, std::chrono::minutes(2)));
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
  if (ChildrenRunAsServiceUser() && !FindAccount(uo.user)) {
    // Installed by hand rather than from the package (which creates the account): still never
    // run the network side as root.
    log_->warning("the account \"" + uo.user +
                  "\" (service_user) does not exist; the uploader runs as \"nobody\" instead");
    uo.user = "nobody";
  }
  uo.request_deadline = ho.total_timeout + std::chrono::seconds(15);
  HEARTH_ASSIGN_OR_RETURN(auto pt, ProcessTransport::start(uo));
  transport_ = std::move(pt);

  if (interrupt_fd_ >= 0) setInterruptFd(interrupt_fd_);
  return OkStatus();
}

AgentRuntime::~AgentRuntime() = default;

void AgentRuntime::setInterruptFd(int fd) {
  interrupt_fd_ = fd;
  if (transport_) transport_->setInterruptFd(fd);
}

void AgentRuntime::writeFailed(const std::string& path, const Status& s) {
  if (!unwritable_.insert(path).second) return;
  log_->error("cannot write " + path + " (" + s.message() +
              "); the agent goes on without it (said once, until it can be written again)");
}

Status AgentRuntime::writeStateFile(const std::string& path, const std::string& content,
                                    mode_t mode) {
  Status s = WriteFileDurably(path, content, mode);
  if (s.ok()) {
    writeSucceeded(path);
  } else {
    writeFailed(path, s);
  }
  return s;
}

void AgentRuntime::noteCredentialProblem(const std::string& error) {
  // A damaged device key or certificate (found by the uploader): status says what is wrong and
  // that enrolling again is the fix.
  if (error.find(kCredentialsUnusable) != std::string::npos) cert_problem_ = error;
}

void AgentRuntime::markRetired(const std::string& why) {
  if (!retired_) {
    log_->error("the company's server says this PC is retired (" + why +
                "): reporting stops until someone runs `hearth-agent enroll` again");
  }
  retired_ = true;
  Status s = WriteRetiredMark(options_.state_dir, why);
  if (!s.ok()) writeFailed(options_.state_dir + "/retired", s);
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
  return VerifyPolicyApart(envelope, signingKeys(), policy_version_, options_.config.service_user);
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
        // Written only when it changed (or its last write failed): an unchanged policy costs
        // no disk write, and a full disk does not stop the cycle (the policy is in force in
        // memory; the file follows once there is space).
        if (*fetched != last_good_envelope_ || unwritable_.count(paths_.policy) > 0) {
          (void)writeStateFile(paths_.policy, *fetched, 0644);
        }
        last_good_envelope_ = *fetched;
        // The announced key signed it: it is the policy-signing key from now on (once that can
        // be written; until then both keys stay accepted).
        if (v->key_index == 1 && writeStateFile(paths_.signing_pub, signing_next_, 0644).ok()) {
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
      noteCredentialProblem(fetched.status().message());
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
  co.control_socket = options_.config.control_socket;
  co.asked_by = std::exchange(asked_by_, std::nullopt);
  co.interrupt_fd = interrupt_fd_;
  co.in_process = !options_.isolate_checks;
  auto result = RunChecksIsolated(*policy_, co, *log_);
  HEARTH_RETURN_IF_ERROR(result.status());
  json::Value local = std::move(result).value();
  if (!only.empty() && last_full_) {
    local = MergeCheckResults(*last_full_, local);
  }
  if (only.empty() || last_full_) last_full_ = local;
  last_local_ = local;
  return local;
}

StatusOr<int64_t> AgentRuntime::highestKnownSequence() const {
  HEARTH_ASSIGN_OR_RETURN(const std::vector<int64_t> spooled, spool_->list());
  int64_t highest = spooled.empty() ? 0 : spooled.back();
  if (sent_) {
    // (Unreadable, it cannot help: the server's 409 sequence_reused is the last safeguard.)
    if (auto sent = sent_->list(); sent.ok() && !sent->empty()) {
      highest = std::max(highest, sent->back());
    }
  }
  return highest;
}

StatusOr<std::optional<int64_t>> AgentRuntime::spoolIfNeeded(const json::Value& local, bool force) {
  auto spooled = spoolReport(local, force);
  if (!spooled.ok()) {
    writeFailed(paths_.spool, spooled.status());
  } else if (*spooled) {
    writeSucceeded(paths_.spool);
  }
  return spooled;
}

StatusOr<std::optional<int64_t>> AgentRuntime::spoolReport(const json::Value& local, bool force) {
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
  HEARTH_ASSIGN_OR_RETURN(const int64_t known, highestKnownSequence());
  HEARTH_ASSIGN_OR_RETURN(const SequenceChoice choice, NextSequence(options_.state_dir, known));
  if (!choice.repaired.empty()) log_->warning(choice.repaired);
  env.sequence = choice.next;
  // Reports the spool had to drop (overflow) travel with this one; the claim ends only when the
  // server acknowledged it, so a crash never loses or double-counts the number.
  HEARTH_ASSIGN_OR_RETURN(int64_t dropped, spool_->takeDroppedForReport(env.sequence));
  if (dropped > 0) env.dropped = dropped;
  env.sent_at = now3339();
  env.agent_version = HEARTH_VERSION;
  env.machine_id = MachineIdHash(options_.state_dir);
  env.result = std::move(filtered);
  std::string envelope = json::write(env.toJson());
  if (envelope.size() > protocol::kMaxBodyBytes || !protocol::CheckResultBounds(env.result).ok()) {
    // The server takes at most 1 MiB, and a result within CheckResultBounds (it refuses others
    // for good): keep every verdict and summary, drop the evidence.
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
                  " was beyond the server's limits (1 MiB, docs/server.md \"Report limits\"); "
                  "sent without evidence");
    if (envelope.size() > protocol::kMaxBodyBytes) {
      return ResourceExhaustedError("the report is larger than 1 MiB even without evidence");
    }
    HEARTH_RETURN_IF_ERROR(
        protocol::CheckResultBounds(env.result).withContext("the report without evidence"));
  }
  HEARTH_RETURN_IF_ERROR(spool_->append(env.sequence, envelope));
  // The report is spooled: from here on nothing fails the spooling. A sequence file that cannot
  // be written is covered by the spool and the sent history (NextSequence).
  if (Status c = CommitSequence(options_.state_dir, env.sequence); c.ok()) {
    writeSucceeded(paths_.sequence);
  } else {
    writeFailed(paths_.sequence, c);
  }
  json::Value next = json::Value::object();
  next.set("fingerprint", fingerprint);
  next.set("device_id", enrollment_.device_id);
  next.set("spooled_at",
           static_cast<int64_t>(
               std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  next.set("sequence", env.sequence);
  // (Unwritten, the next cycle spools one report more than needed: harmless.)
  (void)writeStateFile(reportStatePath(options_.state_dir), json::write(next) + "\n", 0600);
  log_->debug("report " + std::to_string(env.sequence) + " spooled (" +
              (force     ? "requested"
               : changed ? "a verdict changed"
                         : "heartbeat") +
              ")");
  return std::optional<int64_t>(env.sequence);
}

bool AgentRuntime::renumber(int64_t sequence, int64_t next_sequence) {
  const std::string what = "report " + std::to_string(sequence);
  auto body = spool_->read(sequence);
  auto envelope = body.ok() ? json::parse(*body) : StatusOr<json::Value>(body.status());
  if (!envelope.ok() || !envelope->isObject()) {
    log_->error("cannot renumber " + what + ": " +
                (envelope.ok() ? std::string("not a report") : envelope.status().message()));
    return false;
  }
  auto known = highestKnownSequence();
  auto ours = known.ok() ? NextSequence(options_.state_dir, *known)
                         : StatusOr<SequenceChoice>(known.status());
  if (!ours.ok()) {
    log_->error("cannot renumber " + what + ": " + ours.status().message());
    return false;
  }
  const int64_t fresh = std::max(next_sequence, ours->next);
  envelope->set("sequence", fresh);
  // A drop count it carried goes back to the pool (discard below) for a later report: the
  // renumbered report must not carry it too.
  envelope->erase("dropped");
  // The new copy first: a crash before the old one is gone leaves both (the same report_id:
  // the server stores it once).
  if (Status s = spool_->append(fresh, json::write(*envelope)); !s.ok()) {
    writeFailed(paths_.spool, s);
    return false;
  }
  if (Status c = CommitSequence(options_.state_dir, fresh); !c.ok()) {
    writeFailed(paths_.sequence, c);
  }
  if (Status s = spool_->discard(sequence); !s.ok()) {
    log_->error("cannot remove " + what + " after renumbering it: " + s.message());
    return false;
  }
  log_->warning("the server already holds sequence " + std::to_string(sequence) +
                " of this device under another report (was the sequence file lost?); " + what +
                " is sent again as " + std::to_string(fresh) + ", the same report");
  return true;
}

DeliveryOutcome AgentRuntime::deliver(const std::function<bool()>& should_stop) {
  DeliveryOutcome total;
  if (retired_) {
    total.last.kind = PostResult::Kind::kRetired;
    total.last.error = "this PC is retired";
    return total;
  }
  bool resent = false;
  for (int round = 0; round < 100; ++round) {
    DeliveryOutcome d =
        DeliverSpool(*spool_, *transport_, *log_, should_stop, sent_.get(), slow_.get());
    total.delivered += d.delivered;
    total.emptied = d.emptied;
    total.last = d.last;
    if (d.last_sequence != 0) {
      total.last_sequence = d.last_sequence;
      total.last_delivered = d.last_delivered;
    }
    if (!d.fleet_json.empty()) total.fleet_json = d.fleet_json;
    if (!d.server_view_json.empty()) total.server_view_json = d.server_view_json;
    if (d.unreadable) {
      // A report that can never be read would block every report behind it: move the file
      // aside (kept for IT, never deleted) and go on with the next.
      std::string dir = options_.state_dir + "/rejected";
      (void)PosixFileLayer().createDir(dir, 0700);
      std::string from = spool_->reportPath(*d.unreadable);
      std::string to = dir + "/" + std::to_string(*d.unreadable) + ".unreadable";
      if (Status moved = PosixFileLayer().rename(from, to);
          !moved.ok() && moved.code() != StatusCode::kNotFound) {
        log_->error("cannot move unreadable report " + std::to_string(*d.unreadable) +
                    " out of the spool (" + moved.message() + "); delivery waits for it");
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
    if (d.last.kind == PostResult::Kind::kSequenceReused) {
      if (renumber(d.failed_sequence, d.last.next_sequence)) continue;
      break;
    }
    if (d.last.kind != PostResult::Kind::kRefused) break;
    // The server will never take the report at the head: move it aside (kept for IT), go on.
    auto seqs = spool_->list();
    if (!seqs.ok() || seqs->empty()) break;
    int64_t head = seqs->front();
    auto bytes = spool_->read(head);
    std::string dir = options_.state_dir + "/rejected";
    (void)PosixFileLayer().createDir(dir, 0700);
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
  if (auto spooled = spool_->list(); spooled.ok()) slow_->keepOnly(*spooled);
  if (Status s = slow_->save(); s.ok()) {
    writeSucceeded(options_.state_dir + "/slow-reports.json");
  } else {
    writeFailed(options_.state_dir + "/slow-reports.json", s);  // the counts stay in memory
  }
  // What the fleet knows about the latest report's pending updates: the next check run ages
  // them from it (written only when it changed, so an idle PC does not rewrite it).
  if (!total.fleet_json.empty() && total.fleet_json != fleet_json_) {
    if (writeStateFile(paths_.fleet, total.fleet_json + "\n", 0644).ok()) {
      fleet_json_ = total.fleet_json;
    }
  }
  // The company's view after the latest report: status.json keeps it (writeStatus) until the
  // next acknowledgement that carries one.
  if (!total.server_view_json.empty()) server_view_json_ = total.server_view_json;
  if (!total.last_delivered.empty()) {
    (void)writeStateFile(paths_.last_report, total.last_delivered, 0644);
    last_delivery_ = now3339();
  }
  if (total.last.kind == PostResult::Kind::kRetired) markRetired(total.last.error);
  delivery_error_ = total.emptied ? std::string() : total.last.error;
  noteCredentialProblem(delivery_error_);
  return total;
}

Status AgentRuntime::maybeRenewCertificate() {
  if (retired_) return OkStatus();
  if (!cert_validity_) {
    // A state directory from before device-cert.json: the uploader reads the certificate.
    auto v = transport_->certificateValidity();
    if (!v.ok()) {
      noteCredentialProblem(v.status().message());
      log_->warning("cannot tell when this PC's certificate expires (" + v.status().message() +
                    "); renewal waits");
      return v.status();
    }
    cert_validity_ = *v;
    Status st = StoreCertValidity(options_.state_dir, *v);
    if (!st.ok()) log_->error(st.message());
  }
  // Judged against the server's clock when an answer told it (an agent clock far ahead would
  // otherwise renew on every cycle), else against ours.
  const auto local_now = std::chrono::system_clock::now();
  if (auto date = transport_->serverDate()) {
    server_offset_ = std::chrono::seconds(*date) -
                     std::chrono::duration_cast<std::chrono::seconds>(local_now.time_since_epoch());
  }
  const auto now = local_now + server_offset_.value_or(std::chrono::seconds(0));
  if (now < RenewalTime(*cert_validity_)) return OkStatus();
  const bool expired = now >= ExpiryTime(*cert_validity_);
  // And at most one renewal a day (by this PC's clock, since the certificate in use was stored),
  // unless the certificate is in its last days.
  if (now + kRenewalGrace < ExpiryTime(*cert_validity_)) {
    if (auto since = CertificateStoredAt(options_.state_dir);
        since && *since <= local_now && local_now - *since < kMinRenewalInterval) {
      if (!renewal_deferred_) {
        log_->info("certificate renewal waits: this certificate was stored less than a day ago");
      }
      renewal_deferred_ = true;
      return OkStatus();
    }
  }
  renewal_deferred_ = false;
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
  if (transport_) transport_->release();
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
    // The company's words (helpdesk, description) from the policy of that check.
    if (const json::Value* h = last_local_->find("help")) {
      status.set("help", *h);
    } else {
      status.erase("help");
    }
  }
  if (!server_view_json_.empty()) {
    if (auto view = json::parse(server_view_json_); view.ok()) status.set("server_view", *view);
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
  return writeStateFile(paths_.status, json::write(status, {.pretty = true}) + "\n", 0644);
}

}  // namespace hearth::agent
