// `hearth-server device owners-import FILE.csv [--dry-run] [--json]`: owners in bulk from a
// spreadsheet. The file (RFC 4180 CSV, a header row) names each device by `hostname` or
// `device_id` and gives its `owner`; other columns are ignored. Everything is checked before
// anything changes: a malformed file, a missing column, a hostname shared by several active
// devices, an invalid owner or a device given two different owners is an error naming its line,
// and then nothing changes. The changes are made in one transaction, each audited as
// `device.owner`; a row naming no active device is counted as unknown, not an error.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "cli_commands.h"
#include "hearth/csv.h"
#include "hearth/files.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"

namespace hearth::server::cli {

namespace {

constexpr size_t kMaxFileBytes = 16 << 20;
constexpr size_t kMaxRows = 200000;

struct Row {
  size_t line = 0;
  std::string key;  // the hostname or the device id, as given
  std::string owner;
  const DeviceRecord* device = nullptr;  // nullptr: unknown
  std::string result;                    // changed | unchanged | unknown
};

// The column named `name` (case and surrounding spaces ignored), or nullopt.
std::optional<size_t> column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (text::toLower(text::trim(header[i])) == name) return i;
  }
  return std::nullopt;
}

// The rows of `records` matched against `devices` (the active ones); the problems, each
// "LINE: what", in `errors`.
std::vector<Row> plan(const std::vector<CsvRecord>& records,
                      const std::vector<DeviceRecord>& devices, std::vector<std::string>& errors) {
  std::vector<Row> rows;
  if (records.empty()) {
    errors.emplace_back("1: the file is empty (expected a header row: hostname,owner)");
    return rows;
  }
  const auto& header = records[0].fields;
  auto owner_col = column(header, "owner");
  auto host_col = column(header, "hostname");
  auto id_col = column(header, "device_id");
  std::string head = std::to_string(records[0].line) + ": ";
  if (!owner_col) errors.push_back(head + "the header has no \"owner\" column");
  if (host_col.has_value() == id_col.has_value()) {
    errors.push_back(head + "the header needs one of \"hostname\" or \"device_id\"" +
                     (host_col ? " (not both)" : ""));
  }
  if (!errors.empty()) return rows;
  bool by_host = host_col.has_value();
  size_t key_col = by_host ? *host_col : *id_col;
  std::map<std::string, std::vector<const DeviceRecord*>> by_key;
  for (const auto& d : devices) {
    by_key[by_host ? text::toLower(d.hostname) : d.device_id].push_back(&d);
  }
  std::map<std::string, const Row*> seen;  // device id -> the row that set it first
  rows.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    std::string at = std::to_string(rec.line) + ": ";
    if (rec.fields.size() != header.size()) {
      errors.push_back(at + std::to_string(rec.fields.size()) + " fields, the header has " +
                       std::to_string(header.size()));
      continue;
    }
    Row row;
    row.line = rec.line;
    row.key = text::trim(rec.fields[key_col]);
    row.owner = text::trim(rec.fields[*owner_col]);
    std::string shown = "\"" + text::escapeForDisplay(row.key) + "\"";
    if (row.key.empty()) {
      errors.push_back(at + (by_host ? "the hostname is empty" : "the device_id is empty"));
      continue;
    }
    Status valid = row.owner.empty()
                       ? InvalidArgumentError("is empty")
                       : text::validatePersonText(row.owner, protocol::kMaxOwnerChars);
    if (!valid.ok()) {
      errors.push_back(at + "the owner of " + shown + " " + valid.message());
      continue;
    }
    auto found = by_key.find(by_host ? text::toLower(row.key) : row.key);
    if (found == by_key.end()) {
      row.result = "unknown";
      rows.push_back(std::move(row));
      continue;
    }
    if (found->second.size() > 1) {
      std::vector<std::string> ids;
      for (const auto* d : found->second) ids.push_back(d->device_id);
      errors.push_back(at + "hostname " + shown + " matches " + std::to_string(ids.size()) +
                       " active devices (" + text::join(ids, ", ") +
                       "): name each by device_id in a file with a device_id column, or retire "
                       "the old ones");
      continue;
    }
    row.device = found->second.front();
    row.result = row.device->owner == row.owner ? "unchanged" : "changed";
    rows.push_back(std::move(row));
  }
  for (const auto& row : rows) {
    if (row.device == nullptr) continue;
    auto [first, fresh] = seen.emplace(row.device->device_id, &row);
    if (fresh) continue;
    if (first->second->owner != row.owner) {
      errors.push_back(std::to_string(row.line) + ": device " + row.device->device_id +
                       " was given another owner on line " + std::to_string(first->second->line));
    }
  }
  return rows;
}

json::Value rowJson(const Row& row) {
  json::Value o = json::Value::object();
  o.set("line", static_cast<int64_t>(row.line));
  o.set("key", row.key);
  o.set("device_id", row.device ? json::Value(row.device->device_id) : json::Value());
  o.set("hostname", row.device ? json::Value(row.device->hostname) : json::Value());
  o.set("previous_owner", row.device ? OptionalJson(row.device->owner) : json::Value());
  o.set("owner", row.owner);
  o.set("result", row.result);
  return o;
}

}  // namespace

int CmdOwnersImport(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  if (a.positional().size() != 3) {
    env.err << "hearth-server: device owners-import needs FILE.csv (or - for standard input)\n";
    return kExitUsage;
  }
  const std::string& path = a.positional()[2];
  auto content = path == "-" ? ReadFdBounded(STDIN_FILENO, kMaxFileBytes, "standard input",
                                             ReadOptions{.regular_only = false})
                             : ReadFileBounded(path, kMaxFileBytes);
  if (!content.ok()) {
    env.err << "hearth-server: " << content.status().message() << "\n";
    return kExitUsage;
  }
  auto records = ParseCsv(*content, kMaxRows + 1);
  if (!records.ok()) {
    env.err << "hearth-server: " << path << ": " << records.status().message()
            << "; nothing was changed\n";
    return kExitUsage;
  }
  // The active devices (pending approval included), all of them: a hostname is matched against
  // every one.
  std::vector<DeviceRecord> devices;
  DeviceFilter f;
  f.now = std::chrono::system_clock::now();
  f.limit = 1000;
  while (true) {
    auto page = store.listDevices(f);
    if (!page.ok()) return Fail(env.err, page.status());
    devices.insert(devices.end(), page->begin(), page->end());
    if (static_cast<int>(page->size()) < f.limit) break;
    f.after = page->back().device_id;
  }
  std::vector<std::string> errors;
  std::vector<Row> rows = plan(*records, devices, errors);
  if (!errors.empty()) {
    for (const auto& e : errors) env.err << "hearth-server: " << path << ":" << e << "\n";
    env.err << "hearth-server: " << errors.size() << " problem(s) in " << path
            << "; nothing was changed\n";
    return kExitUsage;
  }
  bool dry_run = a.has("--dry-run");
  std::vector<OwnerChange> changes;
  std::map<std::string, bool> planned;  // a device listed twice (same owner) changes once
  int changed = 0, unchanged = 0, unknown = 0;
  for (auto& row : rows) {
    if (row.result == "changed" && planned.emplace(row.device->device_id, true).second) {
      json::Value detail = json::Value::object();
      detail.set("owner", row.owner);
      detail.set("previous_owner", OptionalJson(row.device->owner));
      detail.set("import_line", static_cast<int64_t>(row.line));
      changes.push_back({row.device->device_id, row.owner,
                         CliEntry("device.owner", "device:" + row.device->device_id, detail)});
    } else if (row.result == "changed") {
      row.result = "unchanged";  // its earlier row changes it
    }
    changed += row.result == "changed" ? 1 : 0;
    unchanged += row.result == "unchanged" ? 1 : 0;
    unknown += row.result == "unknown" ? 1 : 0;
  }
  if (!dry_run) {
    if (Status s = store.setDeviceOwners(changes); !s.ok()) {
      env.err << "hearth-server: " << s.message() << " (nothing was changed)\n";
      return s.code() == StatusCode::kNotFound ? kExitUsage : kExitFailure;
    }
  }
  if (a.has("--json")) {
    json::Value o = json::Value::object();
    o.set("dry_run", dry_run);
    o.set("changed", changed);
    o.set("unchanged", unchanged);
    o.set("unknown", unknown);
    json::Value list = json::Value::array();
    for (const auto& row : rows) list.push(rowJson(row));
    o.set("rows", std::move(list));
    env.out << json::write(o) << "\n";
  } else {
    Table table(env.out, {"LINE", "KEY", "DEVICE", "OWNER_BEFORE", "OWNER", "RESULT"});
    for (const auto& row : rows) {
      table.row({std::to_string(row.line), row.key, row.device ? row.device->device_id : "-",
                 row.device ? OrDash(row.device->owner) : "-", row.owner, row.result});
    }
  }
  env.err << changed << " changed, " << unchanged << " unchanged, " << unknown << " unknown"
          << (dry_run ? " (dry run: nothing was changed)" : "") << "\n";
  return kExitOk;
}

}  // namespace hearth::server::cli
