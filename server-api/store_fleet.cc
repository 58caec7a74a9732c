// The SQL store's fleet first-seen dates (issue 14 item 6): for each pending security update
// (name, candidate version) any approved device reported, the received_at of the first report
// that named it (a device awaiting approval reads the dates and writes none). Kept at ingest, in
// the batch's transaction; a date only ever moves earlier. This process remembers what it
// committed, so a report whose updates are all known costs no statement.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

// Past this many remembered updates the memory starts afresh (each miss is two statements).
constexpr size_t kMaxKnown = 100000;
// last_seen is written again once it is this old (retention keeps an update seen within its
// window; a day's lag is nothing against a window of months).
constexpr std::chrono::hours kLastSeenEvery{24};

// The (name, candidate) of each pending security update in os_patches' evidence of `result`, in
// order, without repeats, bounded (store.h).
std::vector<std::pair<std::string, std::string>> pendingSecurity(const json::Value& result) {
  std::vector<std::pair<std::string, std::string>> out;
  const json::Value* checks = result.find("checks");
  if (checks == nullptr || !checks->isArray()) return out;
  for (const auto& ch : checks->asArray()) {
    const json::Value* id = ch.find("id");
    if (id == nullptr || !id->isString() || id->asString() != "os_patches") continue;
    const json::Value* evidence = ch.find("evidence");
    const json::Value* pending = evidence != nullptr ? evidence->find("pending") : nullptr;
    if (pending == nullptr || !pending->isArray()) return out;
    for (const auto& p : pending->asArray()) {
      if (out.size() >= kMaxFleetUpdatesPerReport) break;
      const json::Value* sec = p.find("security");
      const json::Value* name = p.find("name");
      const json::Value* candidate = p.find("candidate");
      if (sec == nullptr || !sec->isBool() || !sec->asBool() || name == nullptr ||
          !name->isString() || candidate == nullptr || !candidate->isString()) {
        continue;
      }
      const std::string& n = name->asString();
      const std::string& c = candidate->asString();
      if (n.empty() || c.empty() || n.size() > kMaxFleetFieldBytes ||
          c.size() > kMaxFleetFieldBytes) {
        continue;
      }
      auto key = std::make_pair(n, c);
      if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(std::move(key));
    }
    return out;
  }
  return out;
}

}  // namespace

std::vector<FleetFirstSeen> SqlStore::noteFleetPending(const NewReport& r, bool write) {
  std::vector<FleetFirstSeen> out;
  auto updates = pendingSecurity(r.result);
  if (updates.empty()) return out;
  const std::string received = fmt(r.received_at);
  const std::string last_seen_due = fmt(r.received_at - kLastSeenEvery);
  for (auto& key : updates) {
    const FleetKnown* known = nullptr;
    if (auto it = fleet_staged_.find(key); it != fleet_staged_.end()) {
      known = &it->second;
    } else if (auto k = fleet_known_.find(key); k != fleet_known_.end()) {
      known = &k->second;
    }
    std::string first_seen;
    if (known != nullptr && known->first_seen <= received && known->last_seen > last_seen_due) {
      first_seen = known->first_seen;
    } else if (!write) {
      // Read only: the date other (approved) devices gave it, if any; this report dates nothing.
      std::string name = key.first, candidate = key.second;
      db_.exec("SELECT first_seen FROM fleet_pending WHERE package = ? AND candidate = ?",
               [&](Statement& st) { st, use(name), use(candidate), into(first_seen); });
      if (first_seen.empty()) continue;
    } else {
      // Earliest wins (a server whose clock was behind, another server); last_seen moves on.
      std::string name = key.first, candidate = key.second, at = received;
      db_.exec(
          "INSERT INTO fleet_pending(package, candidate, first_seen, last_seen) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (package, candidate) DO UPDATE SET "
          "first_seen = CASE WHEN excluded.first_seen < fleet_pending.first_seen "
          "THEN excluded.first_seen ELSE fleet_pending.first_seen END, "
          "last_seen = CASE WHEN excluded.last_seen > fleet_pending.last_seen "
          "THEN excluded.last_seen ELSE fleet_pending.last_seen END",
          [&](Statement& st) { st, use(name), use(candidate), use(at), use(at); });
      db_.exec("SELECT first_seen FROM fleet_pending WHERE package = ? AND candidate = ?",
               [&](Statement& st) { st, use(name), use(candidate), into(first_seen); });
      if (first_seen.empty()) first_seen = received;
      fleet_staged_[key] = FleetKnown{first_seen, received};
    }
    if (first_seen < received) {
      out.push_back(
          FleetFirstSeen{std::move(key.first), std::move(key.second), parseTime(first_seen)});
    }
  }
  return out;
}

void SqlStore::fleetTransactionEnded(bool committed) {
  if (committed) {
    if (fleet_known_.size() + fleet_staged_.size() > kMaxKnown) fleet_known_.clear();
    for (auto& [key, known] : fleet_staged_) fleet_known_[key] = std::move(known);
  }
  fleet_staged_.clear();
}

StatusOr<std::vector<FleetFirstSeen>> SqlStore::fleetFirstSeen(
    const std::vector<std::pair<std::string, std::string>>& updates) {
  std::vector<FleetFirstSeen> out;
  for (const auto& [n, c] : updates) {
    std::string name = n, candidate = c;
    HEARTH_ASSIGN_OR_RETURN(
        auto rows,
        db_.readRows(
            "read fleet first-seen dates",
            "SELECT package, candidate, first_seen FROM fleet_pending WHERE package = ? AND "
            "candidate = ?",
            [](RecordSet& rs) {
              return FleetFirstSeen{str(rs, "package"), str(rs, "candidate"),
                                    parseTime(str(rs, "first_seen"))};
            },
            name, candidate));
    for (auto& row : rows) out.push_back(std::move(row));
  }
  return out;
}

}  // namespace hearth::server::sql
