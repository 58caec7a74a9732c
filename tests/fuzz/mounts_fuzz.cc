// Fuzzes disk_encryption's mount tables (checks/disk_encryption/disk_encryption.cc): one input
// read as /proc/self/mountinfo (a malformed line is refused naming its line number; fields come
// back octal-decoded, never longer than written) and as /proc/swaps; the visible mounts are the
// last entry of each mount point, once each, in order.
#include <cstdint>
#include <set>
#include <string>

#include "disk_encryption/disk_encryption.h"
#include "fuzz_assert.h"

using namespace hearth::checks::disk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  auto mounts = parseMountInfo(text);
  if (!mounts.ok()) {
    FUZZ_ASSERT(mounts.status().code() == hearth::StatusCode::kInvalidArgument);
    FUZZ_ASSERT(hearth::fuzz::StartsWith(mounts.status().message(), "mountinfo line "));
  } else {
    for (const auto& m : *mounts) {
      FUZZ_ASSERT(m.mount_point.size() <= size && m.source.size() <= size);
      FUZZ_ASSERT(!m.fstype.empty());
    }
    auto visible = visibleMounts(*mounts);
    std::set<std::string> points;
    for (const auto& v : visible) FUZZ_ASSERT(points.insert(v.mount_point).second);
    std::set<std::string> all;
    for (const auto& m : *mounts) all.insert(m.mount_point);
    FUZZ_ASSERT(points == all);
    for (const auto& v : visible) {
      // The entry kept is the last one of its mount point.
      const MountEntry* last = nullptr;
      for (const auto& m : *mounts) {
        if (m.mount_point == v.mount_point) last = &m;
      }
      FUZZ_ASSERT(last != nullptr && last->mount_id == v.mount_id && last->source == v.source);
    }
  }
  for (const auto& s : parseProcSwaps(text)) {
    FUZZ_ASSERT(!s.filename.empty() && !s.type.empty() && s.filename != "Filename");
  }
  return 0;
}
