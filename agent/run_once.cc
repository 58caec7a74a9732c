#include "hearth/agent/run_once.h"

#include <ostream>
#include <unistd.h>

#include "hearth/agent/agent_state.h"
#include "hearth/agent/http_client.h"
#include "hearth/agent/preseed.h"
#include "hearth/agent/privacy.h"
#include "hearth/agent/runtime.h"
#include "hearth/check.h"
#include "hearth/files.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/runner.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {
// The PEM blocks of a bundle, in order.
std::vector<std::string> pemBlocks(const std::string& bundle) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN ";
  size_t pos = bundle.find(begin);
  while (pos != std::string::npos) {
    size_t next = bundle.find(begin, pos + begin.size());
    out.push_back(bundle.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    pos = next;
  }
  return out;
}
}  // namespace

StatusOr<VerifiedPolicy> VerifySignedPolicy(const std::string& envelope,
                                            const std::string& public_key_pem,
                                            int64_t min_version) {
  HEARTH_ASSIGN_OR_RETURN(protocol::SignedPolicy sp, protocol::SignedPolicy::parse(envelope));
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, protocol::Base64Decode(sp.policy_b64));
  std::vector<std::string> pems = pemBlocks(public_key_pem);
  if (pems.empty()) return InvalidArgumentError("no policy-signing key to verify with");
  Status sig = InternalError("no key");
  size_t index = 0;
  std::optional<protocol::Key> signer;
  for (; index < pems.size(); ++index) {
    auto parsed = protocol::Key::fromPem(pems[index], true);
    if (!parsed.ok()) {
      if (index == 0) return parsed.status();  // the pinned key itself is unusable
      continue;                                // an announced one that is: never verifies
    }
    protocol::Key key = std::move(parsed).value();
    Status s = protocol::VerifyEd25519(key, bytes, sp.signature_b64);
    if (s.ok()) {
      signer = std::move(key);
      sig = OkStatus();
      break;
    }
    if (index == 0) sig = s;
  }
  if (!sig.ok()) return PermissionDeniedError("policy signature: " + sig.message());
  HEARTH_ASSIGN_OR_RETURN(VerifiedPolicy out, PolicyFromVerifiedEnvelope(envelope, min_version));
  out.key_index = index;
  if (!sp.announcement_b64.empty()) {
    auto ann = protocol::Base64Decode(sp.announcement_b64);
    if (ann.ok() && protocol::VerifyEd25519(*signer, *ann, sp.announcement_signature_b64).ok()) {
      auto parsed = protocol::PolicyAnnouncement::parse(*ann);
      if (parsed.ok()) out.announcement = std::move(parsed).value();
    }
  }
  return out;
}

StatusOr<VerifiedPolicy> PolicyFromVerifiedEnvelope(const std::string& envelope,
                                                    int64_t min_version) {
  HEARTH_ASSIGN_OR_RETURN(protocol::SignedPolicy sp, protocol::SignedPolicy::parse(envelope));
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, protocol::Base64Decode(sp.policy_b64));
  HEARTH_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(bytes, "the server's policy"));
  if (policy.version != sp.version || policy.level != sp.level) {
    return PermissionDeniedError("policy envelope does not match the signed document");
  }
  if (policy.version < min_version) {
    return PermissionDeniedError("the server offered policy version " +
                                 std::to_string(policy.version) + ", older than version " +
                                 std::to_string(min_version) + " already in force");
  }
  return VerifiedPolicy{std::move(policy), std::move(bytes), 0, std::nullopt};
}

StatusOr<CycleOutcome> RunCycle(const CycleOptions& o, std::ostream& log_stream) {
  Logger log(log_stream, o.config.log_level, LogFormat::Terminal("hearth-agent"));
  if (!LoadEnrollment(o.state_dir).ok()) {
    // A company preseed file enrols this PC on its first cycle, as the daemon does.
    auto preseed = EnrollFromPreseed(o.config.enroll_file, o.state_dir, o.config.proxy,
                                     o.config.service_user, log_stream);
    if (!preseed.ok()) return preseed.status();
    HEARTH_RETURN_IF_ERROR(LoadEnrollment(o.state_dir).status());
  }
  HEARTH_ASSIGN_OR_RETURN(int lock, LockStateDir(o.state_dir));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};
  RuntimeOptions ro;
  ro.state_dir = o.state_dir;
  ro.config = o.config;
  ro.uploader_process = o.uploader_process;
  ro.isolate_checks = o.isolate_checks;
  HEARTH_ASSIGN_OR_RETURN(auto rt, AgentRuntime::open(ro, log));
  if (rt->retired()) {
    return FailedPreconditionError(
        "this PC was retired by the company's server; nothing is sent until `hearth-agent "
        "enroll` is run again");
  }
  // 0. The certificate: renewed at half of its life (failures are logged; the cycle goes on).
  (void)rt->maybeRenewCertificate();
  // 1. The policy: the server's newest, verified; else the last good one; else the local file.
  HEARTH_RETURN_IF_ERROR(rt->refreshPolicy());
  // 2. Check, filter, spool (durably, before any sending). --once always spools a report.
  HEARTH_ASSIGN_OR_RETURN(json::Value local, rt->runChecks({}));
  CycleOutcome out;
  if (!rt->retired()) {
    HEARTH_ASSIGN_OR_RETURN(auto seq, rt->spoolIfNeeded(local, true));
    out.checked = true;
    out.sequence = seq.value_or(0);
  }
  // 3. Deliver the whole spool in sequence order; stop at the first failure.
  DeliveryOutcome d = rt->deliver();
  out.delivered = d.delivered;
  out.spool_depth = rt->spoolDepth();
  if (!d.emptied) out.delivery_error = d.last.error;
  out.retired = rt->retired();
  // 4. Status for the person at the PC (names kept: this stays local).
  HEARTH_RETURN_IF_ERROR(rt->writeStatus());
  return out;
}

int PrintStatus(const std::string& state_dir, bool as_json, std::ostream& out, std::ostream& err) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = ReadFileBounded(p.status, 1 << 20);
  if (!text.ok()) {
    auto enr = LoadEnrollment(state_dir);
    if (as_json) {
      json::Value o = json::Value::object();
      o.set("enrolled", enr.ok());
      o.set("spool_depth", static_cast<int64_t>(Spool(p.spool).depth()));
      out << json::write(o, {.pretty = true}) << "\n";
      return 0;
    }
    out << (enr.ok() ? "Enrolled to " + enr->server + " as device " + enr->device_id +
                           "; no check has run yet.\n"
                     : "This PC is not enrolled and has not been checked yet.\n");
    return 0;
  }
  auto v = json::parse(*text);
  if (!v.ok()) {
    err << "hearth-agent: " << p.status << " is unreadable: " << v.status().message() << "\n";
    return 1;
  }
  if (as_json) {
    out << *text;
    return 0;
  }
  auto str = [&](const char* k) {
    const json::Value* f = v->find(k);
    return f != nullptr && f->isString() ? f->asString() : std::string("never");
  };
  out << "Enrolled to " << str("server") << " as device " << str("device_id") << "\n";
  if (const json::Value* r = v->find("retired"); r != nullptr && r->isBool() && r->asBool()) {
    out << "RETIRED: the company retired this PC in Hearth; nothing is sent any more. If that is "
           "a mistake, ask IT for a new enrolment (`hearth-agent enroll`).\n";
  }
  const json::Value* pv = v->find("policy_version");
  out << "Security level: " << str("level") << " (policy version "
      << (pv != nullptr && pv->isInt() ? pv->asInt() : 0) << ")\n";
  const json::Value* c = v->find("compliant");
  out << "Last check: " << str("last_check") << " - "
      << (c != nullptr && c->isBool() && c->asBool() ? "meets the agreed level"
                                                     : "does not meet the agreed level")
      << "\n";
  if (const json::Value* checks = v->find("checks"); checks != nullptr && checks->isArray()) {
    for (const auto& ch : checks->asArray()) {
      auto field = [&](const char* k) {
        const json::Value* f = ch.find(k);
        return f != nullptr && f->isString() ? f->asString() : std::string();
      };
      out << "  " << field("id") << ": " << field("verdict") << " - " << field("summary") << "\n";
      if (field("verdict") == "fail" || field("verdict") == "unknown") {
        out << "      what to do: " << field("remediation") << "\n";
      }
    }
  }
  out << "Last delivery to the company: " << str("last_delivery") << "\n";
  const json::Value* depth = v->find("spool_depth");
  out << "Reports waiting to be sent: " << (depth != nullptr && depth->isInt() ? depth->asInt() : 0)
      << "\n";
  if (const json::Value* n = v->find("next_check"); n != nullptr && n->isString()) {
    out << "Next check: " << n->asString() << "\n";
  }
  if (const json::Value* e = v->find("delivery_error"); e != nullptr && e->isString()) {
    out << "Last delivery problem: " << e->asString() << "\n";
  }
  if (const json::Value* x = v->find("certificate_expires"); x != nullptr && x->isString()) {
    out << "Certificate valid until: " << x->asString() << " (renewed automatically from "
        << str("certificate_renewal") << ")\n";
  }
  if (const json::Value* cp = v->find("certificate_problem"); cp != nullptr && cp->isString()) {
    out << "CERTIFICATE: " << cp->asString() << "\n";
  }
  if (const json::Value* pp = v->find("policy_problem"); pp != nullptr && pp->isString()) {
    out << "POLICY: " << pp->asString() << "\n";
  }
  return 0;
}

int PrintLastReport(const std::string& state_dir, std::ostream& out, std::ostream& err) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = ReadFileBounded(p.last_report, protocol::kMaxBodyBytes);
  if (!text.ok()) {
    err << "hearth-agent: no report has been delivered yet (" << p.last_report << ")\n";
    return 1;
  }
  out << *text;  // exactly the bytes sent
  return 0;
}

}  // namespace hearth::agent
