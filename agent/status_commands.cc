// `hearth-agent status` and `hearth-agent show-report` (see status_commands.h).
#include "hearth/agent/status_commands.h"

#include <ostream>

#include "check_command.h"
#include "hearth/agent/enrollment.h"
#include "hearth/agent/server_view.h"
#include "hearth/agent/spool.h"
#include "hearth/agent/state_dir.h"
#include "hearth/files.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "hearth/verdict.h"

namespace hearth::agent {

namespace {

// What a status means, for the person at the PC, in their language.
const char* statusWords(const std::string& status) {
  if (status == "compliant") return i18n::Tr("meets the agreed level");
  if (status == "at_risk") {
    return i18n::Tr(
        "at risk: a required check fails; fix it by the date below, or this PC counts "
        "as not meeting the agreed level");
  }
  if (status == "noncompliant") return i18n::Tr("does not meet the agreed level");
  return i18n::Tr("not known yet");
}

}  // namespace

// Declared in server_view.h; defined here, with `status`, because it names the checks from the
// registry, which the network side (hearth-upload, which uses server_view.cc) must not link.
void PrintServerView(const json::Value& view, std::ostream& out,
                     std::chrono::system_clock::time_point now) {
  auto checked = ServerViewFromAck(view);
  if (!checked) return;
  out << i18n::Subst(i18n::Tr("The company's view after the last report: {1}"),
                     {statusWords(checked->find("device_status")->asString())})
      << "\n";
  for (const auto& c : checked->find("checks")->asArray()) {
    out << "  " << CheckDisplayName(c.find("id")->asString()) << ":";
    const char* sep = " ";
    if (const json::Value* f = c.find("fix_by"); !f->isNull()) {
      out << sep
          << i18n::Subst(i18n::Tr("fix by {1}"), {PersonTime(*parseRfc3339(f->asString()), now)});
      sep = "; ";
    }
    if (const json::Value* e = c.find("exempt_until"); !e->isNull()) {
      out << sep
          << i18n::Subst(i18n::Tr("exempted by IT until {1}"),
                         {PersonTime(*parseRfc3339(e->asString()), now)});
    }
    out << "\n";
  }
}

int PrintStatus(const std::string& state_dir, bool as_json, std::ostream& out, std::ostream& err,
                std::chrono::system_clock::time_point now) {
  using i18n::Subst;
  using i18n::Tr;
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
    out << (enr.ok() ? Subst(Tr("Enrolled to {1} as device {2}; no check has run yet."),
                             {enr->server, enr->device_id})
                     : std::string(Tr("This PC is not enrolled and has not been checked yet.")))
        << "\n";
    return 0;
  }
  auto v = json::parse(*text);
  if (!v.ok()) {
    err << "hearth-agent: " << Subst(Tr("{1} is unreadable: {2}"), {p.status, v.status().message()})
        << "\n";
    return 1;
  }
  if (as_json) {
    out << *text;
    return 0;
  }
  auto str = [&](const char* k) {
    const json::Value* f = v->find(k);
    return f != nullptr && f->isString() ? f->asString() : std::string(Tr("never"));
  };
  // A time as the person reads it; a value that is not RFC 3339 as it is.
  auto when = [&](const char* k) {
    const json::Value* f = v->find(k);
    if (f == nullptr || !f->isString()) return std::string(Tr("never"));
    auto t = parseRfc3339(f->asString());
    return t.ok() ? PersonTime(*t, now) : f->asString();
  };
  out << Subst(Tr("Enrolled to {1} as device {2}"), {str("server"), str("device_id")}) << "\n";
  if (const json::Value* r = v->find("retired"); r != nullptr && r->isBool() && r->asBool()) {
    out << Tr("RETIRED: the company retired this PC in Hearth; nothing is sent any more. If that "
              "is a mistake, ask IT for a new enrolment (`hearth-agent enroll`).")
        << "\n";
  }
  const json::Value* pv = v->find("policy_version");
  out << Subst(Tr("Security level: {1} (policy version {2})"),
               {str("level"), std::to_string(pv != nullptr && pv->isInt() ? pv->asInt() : 0)})
      << "\n";
  if (std::string d = CompanyDescription(*v); !d.empty()) {
    out << Subst(Tr("About this level: {1}"), {d}) << "\n";
  }
  const json::Value* c = v->find("compliant");
  out << Subst(Tr("Last check: {1} - {2}"),
               {when("last_check"), c != nullptr && c->isBool() && c->asBool()
                                        ? Tr("meets the agreed level")
                                        : Tr("does not meet the agreed level")})
      << "\n";
  bool any_advice = false;
  if (const json::Value* checks = v->find("checks"); checks != nullptr && checks->isArray()) {
    for (const auto& ch : checks->asArray()) {
      auto field = [&](const char* k) {
        const json::Value* f = ch.find(k);
        return f != nullptr && f->isString() ? f->asString() : std::string();
      };
      auto verdict = parseVerdict(field("verdict"));
      out << "  " << CheckDisplayName(field("id")) << ": "
          << (verdict.ok() ? VerdictLabel(*verdict) : field("verdict").c_str()) << " - "
          << LocalSummary(ch) << "\n";
      if (field("verdict") == "fail" || field("verdict") == "unknown") {
        std::vector<std::string> lines = LocalAdviceLines(ch);
        if (lines.empty()) continue;
        any_advice = true;
        out << "      " << Tr("What to do:") << "\n";
        for (const auto& line : lines) {
          for (const auto& l : text::splitLines(line)) out << "        " << l << "\n";
        }
        // The check's help page (the helpdesk follows once, below).
        for (const auto& l : CompanyHelpLines(json::Value::object(), ch)) {
          out << "        " << l << "\n";
        }
      }
    }
  }
  if (any_advice) {
    for (const auto& l : CompanyHelpLines(*v, json::Value::object())) out << l << "\n";
  }
  if (const json::Value* view = v->find("server_view"); view != nullptr) {
    PrintServerView(*view, out, now);
  }
  out << Subst(Tr("Last delivery to the company: {1}"), {when("last_delivery")}) << "\n";
  const json::Value* depth = v->find("spool_depth");
  out << Subst(Tr("Reports waiting to be sent: {1}"),
               {std::to_string(depth != nullptr && depth->isInt() ? depth->asInt() : 0)})
      << "\n";
  if (const json::Value* n = v->find("next_check"); n != nullptr && n->isString()) {
    out << Subst(Tr("Next check: {1}"), {when("next_check")}) << "\n";
  }
  if (const json::Value* e = v->find("delivery_error"); e != nullptr && e->isString()) {
    out << Subst(Tr("Last delivery problem: {1}"), {e->asString()}) << "\n";
  }
  if (const json::Value* x = v->find("certificate_expires"); x != nullptr && x->isString()) {
    out << Subst(Tr("Certificate valid until: {1} (renewed automatically from {2})"),
                 {when("certificate_expires"), when("certificate_renewal")})
        << "\n";
  }
  if (const json::Value* cp = v->find("certificate_problem"); cp != nullptr && cp->isString()) {
    out << Subst(Tr("CERTIFICATE: {1}"), {cp->asString()}) << "\n";
  }
  if (const json::Value* pp = v->find("policy_problem"); pp != nullptr && pp->isString()) {
    out << Subst(Tr("POLICY: {1}"), {pp->asString()}) << "\n";
  }
  return 0;
}

int PrintLastReport(const std::string& state_dir, std::ostream& out, std::ostream& err) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = ReadFileBounded(p.last_report, protocol::kMaxBodyBytes);
  if (!text.ok()) {
    err << "hearth-agent: "
        << i18n::Subst(i18n::Tr("no report has been delivered yet ({1})"), {p.last_report}) << "\n";
    return 1;
  }
  out << *text;  // exactly the bytes sent
  return 0;
}

namespace {

// Device-supplied text never drives the terminal.
std::string plain(const std::string& s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  return out;
}

std::string scalarText(const json::Value& v) {
  if (v.isString()) return plain(v.asString());
  if (v.isNull()) return "-";
  return plain(json::write(v));
}

// The evidence as "path: value" lines, at most `max` of them.
void flatten(const json::Value& v, const std::string& path, std::vector<std::string>& lines,
             size_t max) {
  if (lines.size() > max) return;
  if (v.isObject()) {
    for (const auto& [k, e] : v.asObject())
      flatten(e, path.empty() ? k : path + "." + k, lines, max);
  } else if (v.isArray()) {
    if (v.size() == 0) lines.push_back(path + ": []");
    for (size_t i = 0; i < v.size(); ++i) {
      flatten(v.asArray()[i], path + "[" + std::to_string(i + 1) + "]", lines, max);
    }
  } else {
    lines.push_back(path + ": " + scalarText(v));
  }
}

}  // namespace

std::string FormatReportPretty(const std::string& envelope) {
  using i18n::Subst;
  using i18n::Tr;
  auto doc = json::parse(envelope);
  if (!doc.ok() || !doc->isObject()) {
    return Subst(Tr("The last report is unreadable: {1}"),
                 {doc.ok() ? std::string("not a JSON object") : doc.status().message()}) +
           "\n";
  }
  const json::Value& e = *doc;
  const json::Value empty = json::Value::object();
  const json::Value* found = e.find("result");
  const json::Value& r = found != nullptr && found->isObject() ? *found : empty;
  auto field = [](const json::Value& o, const char* k) {
    const json::Value* v = o.find(k);
    std::string text = v == nullptr ? std::string() : scalarText(*v);
    return text.empty() ? std::string("-") : text;
  };
  auto when = [&](const json::Value& o, const char* k) {
    const json::Value* v = o.find(k);
    if (v != nullptr && v->isString()) {
      if (auto t = parseRfc3339(v->asString()); t.ok()) return PersonDate(*t);
    }
    return field(o, k);
  };
  std::string o;
  // One field: its name for people, the value as sent, and what it means.
  auto line = [&](const char* label, const std::string& value, const char* meaning) {
    o += std::string("  ") + Tr(label) + ": " + value + "\n";
    if (meaning != nullptr) o += std::string("      ") + Tr(meaning) + "\n";
  };
  o += std::string(Tr("The last report this PC sent to the company, as a person reads it.")) + "\n";
  o += std::string(Tr("The exact bytes: hearth-agent show-report. Values are as sent (in English);"
                      " usernames were replaced by \"person 1\", \"person 2\"... before "
                      "sending.")) +
       "\n\n";
  o += std::string(Tr("The report")) + "\n";
  line(N_("Number"), field(e, "sequence"),
       N_("reports are numbered, so the company notices one that went missing"));
  line(N_("Sent"), when(e, "sent_at"), nullptr);
  line(N_("Report id"), field(e, "report_id"),
       N_("a random name for this report, so the company stores it only once"));
  line(N_("PC identity"), field(e, "machine_id"),
       N_("this PC's machine id, scrambled (hashed): it tells PCs apart without revealing the "
          "id itself"));
  line(N_("Hearth version"), field(e, "agent_version"), nullptr);
  if (const json::Value* d = e.find("dropped"); d != nullptr) {
    line(N_("Reports lost"), scalarText(*d),
         N_("older reports that could not be kept while the company could not be reached"));
  }
  o += "\n" + std::string(Tr("The result")) + "\n";
  const json::Value* compliant = r.find("compliant");
  line(N_("Meets the agreed level"),
       compliant != nullptr && compliant->isBool() ? (compliant->asBool() ? Tr("yes") : Tr("no"))
                                                   : "-",
       N_("yes only when every required check passes or does not apply"));
  line(N_("Security level"),
       Subst(Tr("{1} (policy version {2})"), {field(r, "level"), field(r, "policy_version")}),
       N_("the company's agreed level this PC is held to"));
  line(N_("Checked"), when(r, "evaluated_at"), nullptr);
  const json::Value* host = r.find("host");
  if (host != nullptr && host->isObject()) {
    line(N_("PC name"), field(*host, "hostname"), nullptr);
    std::vector<std::string> system;
    for (const char* k : {"os", "kernel"}) {
      if (std::string f = field(*host, k); f != "-") system.push_back(f);
    }
    line(N_("System"), system.empty() ? std::string("-") : text::join(system, ", "),
         N_("the operating system and its kernel, to judge the updates"));
  }
  const json::Value* checks = r.find("checks");
  if (checks != nullptr && checks->isArray()) {
    o += "\n" + std::string(Tr("The checks (each verdict, the summary, and the facts behind it)")) +
         "\n";
    for (const auto& c : checks->asArray()) {
      const json::Value* verdict = c.find("verdict");
      auto v = parseVerdict(verdict != nullptr && verdict->isString() ? verdict->asString() : "");
      const json::Value* required = c.find("required");
      o += "  " + CheckDisplayName(field(c, "id")) + ": " +
           (v.ok() ? std::string(VerdictLabel(*v)) : field(c, "verdict")) +
           (required != nullptr && required->isBool() && !required->asBool()
                ? std::string(Tr(" (informational: not required)"))
                : std::string()) +
           "\n";
      o += "      " + field(c, "summary") + "\n";
      std::vector<std::string> facts;
      constexpr size_t kMaxFacts = 40;
      if (const json::Value* ev = c.find("evidence")) flatten(*ev, "", facts, kMaxFacts);
      if (!facts.empty()) {
        o += std::string("      ") + Tr("Facts sent:") + "\n";
        for (size_t i = 0; i < facts.size() && i < kMaxFacts; ++i)
          o += "        " + facts[i] + "\n";
        if (facts.size() > kMaxFacts) o += "        ...\n";
      }
      if (const json::Value* advice = c.find("advice"); advice != nullptr && advice->isArray()) {
        std::vector<std::string> codes;
        for (const auto& a : advice->asArray()) codes.push_back(field(a, "code"));
        if (!codes.empty()) {
          o += "      " + Subst(Tr("Advice given (its code): {1}"), {text::join(codes, ", ")}) +
               "\n";
        }
      }
    }
  }
  return o;
}

int PrintLastReportPretty(const std::string& state_dir, std::ostream& out, std::ostream& err) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = ReadFileBounded(p.last_report, protocol::kMaxBodyBytes);
  if (!text.ok()) {
    err << "hearth-agent: "
        << i18n::Subst(i18n::Tr("no report has been delivered yet ({1})"), {p.last_report}) << "\n";
    return 1;
  }
  out << FormatReportPretty(*text);
  return 0;
}

}  // namespace hearth::agent
