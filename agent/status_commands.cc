// `hearth-agent status` and `hearth-agent show-report` (see status_commands.h).
#include "hearth/agent/status_commands.h"

#include <ostream>

#include "hearth/agent/enrollment.h"
#include "hearth/agent/server_view.h"
#include "hearth/agent/spool.h"
#include "hearth/agent/state_dir.h"
#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/protocol/wire.h"

namespace hearth::agent {

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
  if (const json::Value* view = v->find("server_view"); view != nullptr) {
    PrintServerView(*view, out);
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
