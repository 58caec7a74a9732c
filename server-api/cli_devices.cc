// `hearth-server device` (list, approve, reject, owner, retire, level), `hearth-server
// exemption` (add, list, revoke) and `hearth-server audit list`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "cli_commands.h"
#include "exemption_api.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::server::cli {

namespace {

// The filters of `device list`: --pending, --status, --check, --failing-for DAYS, --owner,
// --level, --sort device_id|failing_since. False (said on `err`) when one is wrong.
bool listFilter(const ParsedFlags& a, std::ostream& err, DeviceFilter& f) {
  if (a.has("--pending")) f.status = "pending";
  if (a.has("--status")) {
    const std::string& s = a.get("--status");
    constexpr const char* kStatuses[] = {"compliant", "at_risk", "noncompliant", "unknown",
                                         "stale",     "pending", "retired"};
    if (std::find_if(std::begin(kStatuses), std::end(kStatuses),
                     [&](const char* k) { return s == k; }) == std::end(kStatuses)) {
      err << "hearth-server: --status must be compliant, at_risk, noncompliant, unknown, stale, "
             "pending or retired\n";
      return false;
    }
    f.status = s;
  }
  if (a.has("--check")) f.check = a.get("--check");
  if (a.has("--owner")) f.owner = a.get("--owner");
  if (a.has("--level")) f.level = a.get("--level");
  if (a.has("--failing-for")) {
    auto days = text::parseInt(a.get("--failing-for"));
    if (!days || *days < 0 || *days > 36500) {
      err << "hearth-server: --failing-for expects a number of days (0 or more)\n";
      return false;
    }
    f.failing_for = std::chrono::hours(24 * *days);
  }
  if (a.has("--sort")) {
    if (a.get("--sort") != "device_id" && a.get("--sort") != "failing_since") {
      err << "hearth-server: --sort must be device_id or failing_since\n";
      return false;
    }
    f.sort_failing_since = a.get("--sort") == "failing_since";
  }
  return true;
}

// hearth-server exemption add|list|revoke.
int exemption(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "add") {
    auto spec = NewExemptionSpec(a.get("--device"), a.get("--owner"), a.get("--check"),
                                 a.get("--until"), a.get("--reason"), CliEntry("", "").actor, now);
    if (!spec.ok()) {
      env.err << "hearth-server: exemption add (--device ID | --owner OWNER) --check ID --until "
                 "DATE --reason TEXT: "
              << spec.status().message() << "\n";
      return kExitUsage;
    }
    AuditEntry entry = CliEntry("exemption.create", "exemption:", ExemptionAuditDetail(*spec));
    auto made = store.createExemption(*spec, &entry);
    if (!made.ok()) return Fail(env.err, made.status());
    if (a.has("--json")) {
      env.out << json::write(ExemptionJson(*made, now)) << "\n";
    } else {
      env.out << made->id << "\n";
    }
    env.err << "exemption " << made->id << ": " << made->check << " until "
            << formatRfc3339(made->until) << "\n";
    return kExitOk;
  }
  if (sub == "list") {
    // Every exemption, a page at a time (the store gives at most kMaxExemptionPage at once).
    std::vector<ExemptionRecord> all;
    for (int64_t before = 0;;) {
      auto page = store.listExemptions(false, now, before, kMaxExemptionPage);
      if (!page.ok()) return Fail(env.err, page.status());
      all.insert(all.end(), page->begin(), page->end());
      if (static_cast<int>(page->size()) < kMaxExemptionPage) break;
      before = page->back().id;
    }
    const std::vector<ExemptionRecord>* list = &all;
    if (a.has("--json")) {
      json::Value arr = json::Value::array();
      for (const auto& e : *list) arr.push(ExemptionJson(e, now));
      json::Value o = json::Value::object();
      o.set("exemptions", std::move(arr));
      env.out << json::write(o) << "\n";
      return kExitOk;
    }
    Table table(env.out, {"ID", "DEVICE", "OWNER", "CHECK", "UNTIL", "STATE", "REASON"});
    for (const auto& e : *list) {
      std::string state = e.revoked_at                     ? "revoked"
                          : e.expired_at || e.until <= now ? "expired"
                                                           : "active";
      table.row({std::to_string(e.id), OrDash(e.device_id), OrDash(e.owner), e.check,
                 formatRfc3339(e.until), state, e.reason});
    }
    return kExitOk;
  }
  if (sub == "revoke") {
    auto id = a.positional().size() == 3 ? text::parseInt(a.positional()[2]) : std::nullopt;
    if (!id || *id < 1) {
      env.err << "hearth-server: exemption revoke needs the exemption's ID (see exemption list)\n";
      return kExitUsage;
    }
    AuditEntry entry = CliEntry("exemption.revoke", "exemption:" + std::to_string(*id));
    if (Status s = store.revokeExemption(*id, now, &entry); !s.ok()) return Fail(env.err, s);
    env.err << "exemption " << *id << " revoked\n";
    return kExitOk;
  }
  env.err << "hearth-server: exemption needs add, list or revoke\n";
  return kExitUsage;
}

}  // namespace

int CmdExemption(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  return exemption(a, env, store);
}

// hearth-server device list|approve|reject|owner|retire|level.
int CmdDevice(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "list") {
    DeviceFilter f;
    f.now = now;
    if (!listFilter(a, env.err, f)) return kExitUsage;
    f.limit = 1000;
    json::Value arr = json::Value::array();
    std::optional<Table> table;
    if (!a.has("--json")) {
      table.emplace(env.out, std::vector<std::string>{"DEVICE", "HOSTNAME", "OWNER", "LEVEL",
                                                      "STATUS", "LAST_SEEN", "FLAGS"});
    }
    while (true) {
      auto list = store.listDevices(f);
      if (!list.ok()) return Fail(env.err, list.status());
      for (const auto& d : *list) {
        if (a.has("--json")) {
          json::Value o = json::Value::object();
          o.set("device_id", d.device_id);
          o.set("hostname", d.hostname);
          o.set("owner", OptionalJson(d.owner));
          o.set("level", d.level);
          o.set("status", d.status);
          o.set("last_seen", OptionalJson(d.last_seen));
          o.set("failing_since", OptionalJson(d.failing_since));
          o.set("pending_approval", d.pending_approval);
          o.set("duplicate_machine_id", d.duplicate_machine_id);
          o.set("reported_by", "device");
          arr.push(std::move(o));
          continue;
        }
        std::vector<std::string> flags;
        if (d.pending_approval) flags.emplace_back("pending-approval");
        if (d.duplicate_machine_id) flags.emplace_back("duplicate-machine-id");
        table->row({d.device_id, d.hostname, OrDash(d.owner), d.level, d.status,
                    TimeOrDash(d.last_seen), flags.empty() ? "-" : text::join(flags, ",")});
      }
      if (static_cast<int>(list->size()) < f.limit || list->empty()) break;
      f.after = DeviceCursor(list->back(), f);
    }
    if (a.has("--json")) {
      json::Value o = json::Value::object();
      o.set("devices", std::move(arr));
      env.out << json::write(o) << "\n";
    }
    return kExitOk;
  }
  if (sub == "owners-import") return CmdOwnersImport(a, env, store);
  std::string id = a.positional().size() > 2 ? a.positional()[2] : "";
  if ((sub == "approve" || sub == "reject" || sub == "owner" || sub == "retire" ||
       sub == "level") &&
      id.empty()) {
    env.err << "hearth-server: device " << sub << " needs the device's ID (see device list"
            << (sub == "owner" ? "" : " --pending") << ")\n";
    return kExitUsage;
  }
  if (sub == "approve" || sub == "reject") {
    bool approve = sub == "approve";
    AuditEntry entry = CliEntry(approve ? "device.approve" : "device.reject", "device:" + id);
    Status s = approve ? store.approveDevice(id, now, &entry) : store.rejectDevice(id, now, &entry);
    if (!s.ok()) return Fail(env.err, s);
    env.err << "device " << id << (approve ? " approved" : " rejected (retired)") << "\n";
    return kExitOk;
  }
  if (sub == "owner") {
    if (a.positional().size() != 4) {
      env.err << "hearth-server: device owner needs ID and OWNER (1 to 256 characters)\n";
      return kExitUsage;
    }
    const std::string& owner = a.positional()[3];
    if (!PersonTextOk("OWNER", owner, protocol::kMaxOwnerChars, env.err)) return kExitUsage;
    json::Value detail = json::Value::object();
    detail.set("owner", owner);
    AuditEntry entry = CliEntry("device.owner", "device:" + id, detail);
    Status s = store.setDeviceOwner(id, owner, &entry);
    if (!s.ok()) return Fail(env.err, s);
    env.err << "device " << id << " now belongs to " << text::escapeForDisplay(owner) << "\n";
    return kExitOk;
  }
  if (sub == "retire") {
    AuditEntry entry = CliEntry("device.retire", "device:" + id);
    if (Status s = store.retireDevice(id, now, &entry); !s.ok()) return Fail(env.err, s);
    env.err << "device " << id << " retired: its certificate is refused from now on\n";
    return kExitOk;
  }
  if (sub == "level") {
    if (a.positional().size() != 4) {
      env.err << "hearth-server: device level needs ID and LEVEL\n";
      return kExitUsage;
    }
    const std::string& level = a.positional()[3];
    auto before = store.deviceForAuth(id);
    if (!before.ok()) return Fail(env.err, before.status());
    json::Value detail = json::Value::object();
    detail.set("from", before->level);
    detail.set("to", level);
    AuditEntry entry = CliEntry("device.level", "device:" + id, detail);
    if (Status s = store.setDeviceLevel(id, level, now, &entry); !s.ok()) return Fail(env.err, s);
    env.err << "device " << id << " is held to level " << level << " from its next request on\n";
    return kExitOk;
  }
  env.err << "hearth-server: device needs list, approve, reject, owner, owners-import, retire or "
             "level\n";
  return kExitUsage;
}

// hearth-server audit list: the audit log, oldest first.
int CmdAudit(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  if (sub != "list") {
    env.err << "hearth-server: audit needs list\n";
    return kExitUsage;
  }
  int64_t after = 0;
  if (a.has("--after")) {
    auto v = text::parseInt(a.get("--after"));
    if (!v || *v < 0) {
      env.err << "hearth-server: --after \"" << a.get("--after")
              << "\": expected a cursor (a whole number from a previous listing)\n";
      return kExitUsage;
    }
    after = *v;
  }
  bool bad = false;
  auto limit = PositiveInt(a, "--limit", env.err, bad);
  if (bad) return kExitUsage;
  int64_t left = limit.value_or(INT64_MAX);
  json::Value arr = json::Value::array();
  std::optional<Table> table;
  if (!a.has("--json")) {
    table.emplace(env.out,
                  std::vector<std::string>{"CURSOR", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL"});
  }
  while (left > 0) {
    auto page = store.listAudit(after, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (!page.ok()) return Fail(env.err, page.status());
    for (const auto& e : *page) {
      if (a.has("--json")) {
        arr.push(AuditEntryJson(e));
      } else {
        table->row({std::to_string(e.id), formatRfc3339(e.at), e.actor, e.action,
                    e.target.empty() ? "-" : e.target, e.detail.value_or("-")});
      }
    }
    left -= static_cast<int64_t>(page->size());
    if (page->size() < 1000) break;
    after = page->back().id;
  }
  if (a.has("--json")) {
    json::Value o = json::Value::object();
    o.set("entries", std::move(arr));
    env.out << json::write(o) << "\n";
  }
  return kExitOk;
}

}  // namespace hearth::server::cli
