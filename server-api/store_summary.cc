// What the SQL store keeps beside each stored result (schema 7): the checks summary lists show
// without parsing a report, the SHA-256 of the stored text, filling both for rows stored before
// them, and verifying the text against its SHA-256 (check-db).
#include <string>
#include <utility>
#include <vector>

#include "hearth/protocol/crypto.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

// Rows per batch when filling or verifying: old rows were not bounded in size (up to 4 MiB
// each before schema 7), so a batch holds few.
constexpr int kBatchRows = 64;

}  // namespace

std::string ChecksSummaryText(const json::Value& result) {
  return json::write(ChecksSummary(result));
}

json::Value ChecksSummary(const json::Value& result) {
  json::Value out = json::Value::array();
  const json::Value* checks = result.find("checks");
  if (checks != nullptr && checks->isArray()) {
    for (const auto& c : checks->asArray()) {
      json::Value e = json::Value::object();
      for (const char* k : {"id", "verdict", "summary", "required"}) {
        if (const json::Value* v = c.find(k)) e.set(k, *v);
      }
      out.push(std::move(e));
    }
  }
  return out;
}

json::Value ParseChecksSummary(const std::optional<std::string>& text) {
  if (!text) return json::Value::array();
  // At most 64 checks of bounded fields (protocol::ReportEnvelope::parse) at ingest.
  auto v = json::parse(*text, {.max_depth = 4, .max_bytes = 1 << 20});
  if (!v.ok() || !v->isArray()) return json::Value::array();
  return std::move(v).value();
}

bool SchemaHasChecksums(SqlSession& db) {
  Poco::Int64 n = 0;
  db.exec("SELECT COUNT(*) FROM schema_migrations WHERE version = 7",
          [&](Statement& st) { st, into(n); });
  return n > 0;
}

Status SqlStore::backfill() {
  // Reports: the SHA-256 of the text as it is now (what was changed before cannot be known).
  std::string after;  // by primary key: each batch is found without a scan
  while (true) {
    std::vector<std::string> ids, bodies;
    db_.exec("SELECT report_id, body FROM reports WHERE report_id > ? ORDER BY report_id LIMIT " +
                 std::to_string(kBatchRows),
             [&](Statement& st) { st, use(after), into(ids), into(bodies); });
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string hash = protocol::Sha256Hex(bodies[i]), id = ids[i];
      db_.exec("UPDATE reports SET body_sha256 = ? WHERE report_id = ?",
               [&](Statement& st) { st, use(hash), use(id); });
    }
    if (static_cast<int>(ids.size()) < kBatchRows) break;
    after = ids.back();
  }
  // Devices: the latest result's SHA-256 and its checks summary.
  after.clear();
  while (true) {
    std::vector<std::string> ids, results;
    db_.exec(
        "SELECT device_id, COALESCE(latest_result, '') FROM devices WHERE device_id > ? "
        "ORDER BY device_id LIMIT " +
            std::to_string(kBatchRows),
        [&](Statement& st) { st, use(after), into(ids), into(results); });
    for (size_t i = 0; i < ids.size(); ++i) {
      if (results[i].empty()) continue;  // no report yet
      std::string hash = protocol::Sha256Hex(results[i]), id = ids[i];
      auto parsed = json::parse(results[i], {.max_depth = 64, .max_bytes = 4 << 20});
      std::string summary = ChecksSummaryText(parsed.ok() ? *parsed : json::Value::object());
      db_.exec("UPDATE devices SET latest_sha256 = ?, checks_summary = ? WHERE device_id = ?",
               [&](Statement& st) { st, use(hash), use(summary), use(id); });
    }
    if (static_cast<int>(ids.size()) < kBatchRows) break;
    after = ids.back();
  }
  return OkStatus();
}

std::vector<std::string> SqlStore::verifyChecksums() {
  std::vector<std::string> damaged;
  if (!SchemaHasChecksums(db_)) return damaged;  // an older schema (check-db migrates nothing)
  std::string after;
  while (true) {
    std::vector<std::string> ids, devices, bodies, hashes;
    db_.exec(
        "SELECT report_id, device_id, body, COALESCE(body_sha256, '') FROM reports "
        "WHERE report_id > ? "
        "ORDER BY report_id LIMIT " +
            std::to_string(kBatchRows),
        [&](Statement& st) {
          st, use(after), into(ids), into(devices), into(bodies), into(hashes);
        });
    for (size_t i = 0; i < ids.size(); ++i) {
      if (hashes[i].empty()) {
        damaged.push_back("report " + ids[i] + " of device " + devices[i] +
                          ": no SHA-256 stored for its body");
      } else if (protocol::Sha256Hex(bodies[i]) != hashes[i]) {
        damaged.push_back("report " + ids[i] + " of device " + devices[i] +
                          ": its stored body does not match its SHA-256 (changed after it was "
                          "stored)");
      }
    }
    if (static_cast<int>(ids.size()) < kBatchRows) break;
    after = ids.back();
  }
  after.clear();
  while (true) {
    std::vector<std::string> ids, results, hashes;
    db_.exec(
        "SELECT device_id, COALESCE(latest_result, ''), COALESCE(latest_sha256, '') FROM devices "
        "WHERE device_id > ? "
        "ORDER BY device_id LIMIT " +
            std::to_string(kBatchRows),
        [&](Statement& st) { st, use(after), into(ids), into(results), into(hashes); });
    for (size_t i = 0; i < ids.size(); ++i) {
      if (results[i].empty()) continue;  // no report yet
      if (protocol::Sha256Hex(results[i]) != hashes[i]) {
        damaged.push_back("device " + ids[i] +
                          ": its latest result does not match its SHA-256 (changed after it was "
                          "stored)");
      }
    }
    if (static_cast<int>(ids.size()) < kBatchRows) break;
    after = ids.back();
  }
  return damaged;
}

}  // namespace hearth::server::sql
