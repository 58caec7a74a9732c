// `hearth-server device` (list, approve, reject, owner) and `hearth-server audit list`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "cli_commands.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::server::cli {

// hearth-server device list|approve|reject|owner.
int CmdDevice(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "list") {
    DeviceFilter f;
    f.now = now;
    if (a.has("--pending")) f.status = "pending";
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
      f.after = list->back().device_id;
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
  if ((sub == "approve" || sub == "reject" || sub == "owner") && id.empty()) {
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
  env.err << "hearth-server: device needs list, approve, reject, owner or owners-import\n";
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
