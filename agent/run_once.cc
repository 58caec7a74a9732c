#include "hearth/agent/run_once.h"

#include <ostream>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/text.h"
#include "hearth/agent/agent_state.h"
#include "hearth/agent/http_client.h"
#include "hearth/agent/privacy.h"
#include "hearth/check.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/runner.h"
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
  auto text = readText(path);
  if (!text.ok()) return fallback;
  auto v = json::parse(*text);
  return v.ok() ? std::move(v).value() : fallback;
}

}  // namespace

StatusOr<VerifiedPolicy> VerifySignedPolicy(const std::string& envelope,
                                            const std::string& public_key_pem,
                                            int64_t min_version) {
  HEARTH_ASSIGN_OR_RETURN(protocol::SignedPolicy sp, protocol::SignedPolicy::parse(envelope));
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, protocol::Base64Decode(sp.policy_b64));
  HEARTH_ASSIGN_OR_RETURN(protocol::Key key, protocol::Key::fromPem(public_key_pem, true));
  Status sig = protocol::VerifyEd25519(key, bytes, sp.signature_b64);
  if (!sig.ok()) return PermissionDeniedError("policy signature: " + sig.message());
  HEARTH_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(bytes, "the server's policy"));
  if (policy.version != sp.version || policy.level != sp.level) {
    return PermissionDeniedError("policy envelope does not match the signed document");
  }
  if (policy.version < min_version) {
    return PermissionDeniedError("the server offered policy version " +
                                 std::to_string(policy.version) + ", older than version " +
                                 std::to_string(min_version) + " already in force");
  }
  return VerifiedPolicy{std::move(policy), std::move(bytes)};
}

StatusOr<CycleOutcome> RunCycle(const CycleOptions& o, std::ostream& log) {
  AgentPaths p = AgentPathsFor(o.state_dir);
  HEARTH_ASSIGN_OR_RETURN(Enrollment enr, LoadEnrollment(o.state_dir));
  HttpOptions ho;
  ho.ca_file = enr.has_ca ? p.server_ca : "";
  ho.pin = enr.pin;
  ho.client_cert = p.device_cert;
  ho.client_key = p.device_key;
  ho.proxy = o.proxy;
  HEARTH_ASSIGN_OR_RETURN(auto client, HttpClient::create(ho));
  HEARTH_ASSIGN_OR_RETURN(std::string signing_pub, readText(p.signing_pub, 16 * 1024));

  // 1. The policy: the server's newest, verified; else the last good one; else the local file.
  std::optional<Policy> policy;
  int64_t have_version = 0;
  if (auto saved = readText(p.policy); saved.ok()) {
    auto v = VerifySignedPolicy(*saved, signing_pub, 0);
    if (v.ok()) {
      have_version = v->policy.version;
      policy = v->policy;
    } else {
      log << "hearth-agent: ignoring the saved policy: " << v.status().message() << "\n";
    }
  }
  auto fetched = client->get(enr.server + "/api/v1/policy");
  if (fetched.ok() && fetched->status == 200) {
    auto v = VerifySignedPolicy(fetched->body, signing_pub, have_version);
    if (v.ok()) {
      policy = v->policy;
      HEARTH_RETURN_IF_ERROR(WriteFileAtomically(p.policy, fetched->body, 0644));
    } else {
      log << "hearth-agent: refusing the server's policy: " << v.status().message() << "\n";
    }
  } else {
    log << "hearth-agent: could not fetch the policy ("
        << (fetched.ok() ? "HTTP " + std::to_string(fetched->status) : fetched.status().message())
        << "); using the last good one\n";
  }
  if (!policy) {
    auto local = LoadPolicyFile(o.fallback_policy);
    if (!local.ok()) {
      return FailedPreconditionError("no policy: none received from the server yet and " +
                                     local.status().message());
    }
    policy = std::move(local).value();
  }

  // 2. Check, filter, spool (durably, before any sending).
  auto view = NewLiveSystemView();
  auto checks = BuiltinChecks();
  Report report = RunChecks(*view, *policy, checks, RunOptions{o.state_dir});
  json::Value local_result = report.toJson();
  protocol::ReportEnvelope env;
  HEARTH_ASSIGN_OR_RETURN(env.report_id, protocol::RandomUuid());
  HEARTH_ASSIGN_OR_RETURN(env.sequence, NextSequence(o.state_dir));
  env.sent_at = now3339();
  env.agent_version = HEARTH_VERSION;
  env.machine_id = machineIdHash();
  std::vector<std::string> users;
  if (auto passwd = readText("/etc/passwd", 4 << 20); passwd.ok()) {
    users = LocalUsersFromPasswd(*passwd);
  }
  env.result = ApplyPrivacyFilter(local_result, users);
  std::string envelope = json::write(env.toJson());
  Spool spool(p.spool);
  HEARTH_RETURN_IF_ERROR(spool.append(env.sequence, envelope));
  CycleOutcome out;
  out.checked = true;
  out.sequence = env.sequence;

  // 3. Deliver the whole spool in sequence order; stop at the first failure.
  HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> pending, spool.list());
  std::string last_delivery;
  for (int64_t seq : pending) {
    auto body = spool.read(seq);
    if (!body.ok()) {
      out.delivery_error = body.status().message();
      break;
    }
    auto resp = client->postJson(enr.server + "/api/v1/reports", *body);
    if (!resp.ok()) {
      out.delivery_error = resp.status().message();
      break;
    }
    if (resp->status == 200 || resp->status == 202) {
      // Acknowledged (stored, or stored before): keep a world-readable copy, then unspool.
      HEARTH_RETURN_IF_ERROR(WriteFileAtomically(p.last_report, *body, 0644));
      HEARTH_RETURN_IF_ERROR(spool.remove(seq));
      ++out.delivered;
      last_delivery = now3339();
      continue;
    }
    out.delivery_error = "HTTP " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200);
    if (resp->status == 400 || resp->status == 413) {
      // The server will never take this one: keep it out of the way, but keep it.
      log << "hearth-agent: the server refused report " << seq << " for good ("
          << out.delivery_error << ")\n";
    }
    break;
  }
  out.spool_depth = spool.depth();

  // 4. Status for the person at the PC (names kept: this stays local).
  json::Value status = loadJsonOr(p.status, json::Value::object());
  status.set("enrolled", true);
  status.set("server", enr.server);
  status.set("device_id", enr.device_id);
  status.set("level", policy->level);
  status.set("policy_version", policy->version);
  status.set("last_check", formatRfc3339(report.evaluated_at));
  status.set("compliant", report.compliant);
  status.set("checks", *local_result.find("checks"));
  if (!last_delivery.empty()) status.set("last_delivery", last_delivery);
  if (status.find("last_delivery") == nullptr) status.set("last_delivery", json::Value());
  status.set("delivery_error",
             out.delivery_error.empty() ? json::Value() : json::Value(out.delivery_error));
  status.set("spool_depth", static_cast<int64_t>(out.spool_depth));
  status.set("spool_dropped", spool.dropped());
  HEARTH_RETURN_IF_ERROR(
      WriteFileAtomically(p.status, json::write(status, {.pretty = true}) + "\n", 0644));
  return out;
}

int PrintStatus(const std::string& state_dir, bool as_json, std::ostream& out, std::ostream& err) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = readText(p.status);
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
  if (const json::Value* e = v->find("delivery_error"); e != nullptr && e->isString()) {
    out << "Last delivery problem: " << e->asString() << "\n";
  }
  return 0;
}

int PrintLastReport(const std::string& state_dir, std::ostream& out, std::ostream& err) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = readText(p.last_report, protocol::kMaxBodyBytes);
  if (!text.ok()) {
    err << "hearth-agent: no report has been delivered yet (" << p.last_report << ")\n";
    return 1;
  }
  out << *text;  // exactly the bytes sent
  return 0;
}

}  // namespace hearth::agent
