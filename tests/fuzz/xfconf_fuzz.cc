// Fuzzes the xfconf per-channel XML reader and the merge of system and user channels (XFCE,
// checks/screen_lock/xfconf.cc): a refusal is InvalidArgument with a reason; a parsed file has
// property paths "/a/b" of non-empty names; what a system file locks for the user, the user's file
// cannot change; the XFCE LockConfig stays within xfce4-screensaver's clamps and keeps the
// assessment's contract.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_assert.h"
#include "screen_lock/screen_lock.h"
#include "screen_lock_contract.h"

using namespace hearth::checks::screen_lock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = parseXfconfXml(hearth::fuzz::AsText(data, size));
  if (!parsed.ok()) {
    FUZZ_ASSERT(parsed.status().code() == hearth::StatusCode::kInvalidArgument);
    FUZZ_ASSERT(!parsed.status().message().empty());
    return 0;
  }
  const XfconfFile& file = *parsed;
  for (const auto& p : file.properties) {
    FUZZ_ASSERT(p.path.size() >= 2 && p.path[0] == '/' && p.path.back() != '/');
    FUZZ_ASSERT(p.path.find("//") == std::string::npos);
  }
  const std::vector<std::string> groups = {"staff"};
  XfconfChannel channel;
  channel.merge(file, true, "system", "alice", groups);
  // Remember what the system file decided, then let the user's file try to override everything.
  std::vector<std::pair<std::string, bool>> locked;
  for (const auto& p : file.properties) {
    if (const auto* v = channel.find(p.path)) locked.emplace_back(p.path, v->locked);
  }
  XfconfFile user;
  user.channel = file.channel;
  for (const auto& p : file.properties) {
    user.properties.push_back({p.path, "string", "user value", "", ""});
  }
  channel.merge(user, false, "user", "alice", groups);
  for (const auto& [path, was_locked] : locked) {
    const auto* v = channel.find(path);
    FUZZ_ASSERT(v != nullptr);
    if (was_locked || channel.channelLocked()) FUZZ_ASSERT(v->source == "system");
  }
  XfconfChannel saver, power;
  saver.merge(file, false, "user", "alice", groups);
  power.merge(file, false, "user", "alice", groups);
  for (bool on_resume : {false, true}) {
    LockConfig c = xfceConfig(saver, power, on_resume);
    FUZZ_ASSERT(c.idle_seconds && *c.idle_seconds >= 60 && *c.idle_seconds <= 480 * 60);
    FUZZ_ASSERT(c.lock_delay_seconds >= 0 && c.lock_delay_seconds <= 480 * 60);
    hearth::fuzz::CheckAssessment(c);
  }
  return 0;
}
