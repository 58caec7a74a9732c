// The fleet's first-seen dates of pending updates: read from STATE_DIR/fleet.json (the agent
// writes it from the server's answer to a report) and applied to this PC's pending updates.
//
// {"os_patches": {"first_seen": [{"name", "candidate", "first_seen": RFC 3339}]}}
#include <algorithm>
#include <chrono>

#include "hearth/files.h"
#include "hearth/time.h"
#include "os_patches/os_patches.h"

namespace hearth::checks::os_patches {

namespace {
constexpr size_t kMaxFleetBytes = 1024 * 1024;
constexpr size_t kMaxFleetEntries = 4096;
// The fleet's date counts only when older than this PC's first sight by more than this: the
// server's clock dates a PC's own report a little after the PC saw the update (and clocks differ),
// which must not turn "first seen on this PC" into a date from the fleet.
constexpr std::chrono::hours kFleetMargin{1};
}  // namespace

FleetFirstSeen fleetFromJson(const json::Value& doc) {
  FleetFirstSeen out;
  const json::Value* part = doc.isObject() ? doc.find(kOsPatchesCheckId) : nullptr;
  const json::Value* list =
      part != nullptr && part->isObject() ? part->find("first_seen") : nullptr;
  if (list == nullptr || !list->isArray()) return out;
  for (const auto& e : list->asArray()) {
    if (out.size() >= kMaxFleetEntries) break;
    const json::Value* name = e.find("name");
    const json::Value* candidate = e.find("candidate");
    const json::Value* at = e.find("first_seen");
    if (name == nullptr || !name->isString() || candidate == nullptr || !candidate->isString() ||
        at == nullptr || !at->isString()) {
      continue;
    }
    auto t = parseRfc3339(at->asString());
    if (!t.ok()) continue;
    auto key = std::make_pair(name->asString(), candidate->asString());
    auto it = out.find(key);
    if (it == out.end() || *t < it->second) out[key] = *t;
  }
  return out;
}

FleetFirstSeen loadFleetFirstSeen(const std::string& dir) {
  if (dir.empty()) return {};
  auto content =
      ReadFileBounded(dir + "/" + kFleetFileName, kMaxFleetBytes, {.follow_symlinks = false});
  if (!content.ok()) return {};
  auto doc = json::parse(*content, {.max_depth = 8, .max_bytes = kMaxFleetBytes});
  if (!doc.ok()) return {};
  return fleetFromJson(*doc);
}

void applyFleetFirstSeen(std::vector<PendingUpdate>& pending, const FleetFirstSeen& fleet,
                         std::optional<TimePoint> watching_since) {
  for (auto& p : pending) {
    p.fleet_first_seen.reset();
    TimePoint own = p.security_since.value_or(p.first_seen);
    auto it = fleet.find({p.name, p.candidate});
    if (it != fleet.end() && it->second + kFleetMargin < own) {
      p.fleet_first_seen = it->second;
      p.age_source = AgeSource::kFleet;
    } else if (watching_since && p.first_seen <= *watching_since) {
      p.age_source = AgeSource::kUnknown;
    } else {
      p.age_source = AgeSource::kThisPc;
    }
  }
}

}  // namespace hearth::checks::os_patches
