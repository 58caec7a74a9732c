// The report envelope the spool crash helper writes for each sequence, shared with the test that
// kills it, so every byte of a surviving report can be checked (a torn report cannot match).
#pragma once

#include <cstdint>
#include <string>

namespace hearth::testing {

// Every third report holds all four checks, the others only vpn (network changes); sizes vary
// from about 150 bytes to 3 KB. `dropped` > 0 adds the field, as the agent does.
inline std::string SpoolCrashEnvelope(int64_t seq, int64_t dropped) {
  std::string checks =
      seq % 3 == 0
          ? R"([{"id":"disk_encryption","verdict":"pass"},{"id":"os_patches","verdict":"pass"},)"
            R"({"id":"screen_lock","verdict":"pass"},{"id":"vpn","verdict":"pass"}])"
          : R"([{"id":"vpn","verdict":"fail"}])";
  std::string s = "{\"report_id\":\"report-" + std::to_string(seq) +
                  "\",\"sequence\":" + std::to_string(seq) + ",\"result\":{\"checks\":" + checks +
                  "}";
  if (dropped > 0) s += ",\"dropped\":" + std::to_string(dropped);
  s += ",\"pad\":\"" + std::string(static_cast<size_t>(100 + (seq * 37) % 3000), 'x') + "\"}";
  return s;
}

}  // namespace hearth::testing
