// A small, valid report envelope for tests and benchmarks that post reports as a device (one
// failing required check), so that each does not carry its own copy of the JSON.
#pragma once

#include <cstdint>
#include <string>

namespace hearth::testing {

inline std::string MinimalReportBody(const std::string& report_id, int64_t sequence) {
  return R"({"report_id":")" + report_id + R"(","sequence":)" + std::to_string(sequence) +
         R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
         R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)"
         R"("result":{"compliant":false,"level":"standard","policy_version":1,)"
         R"("evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc"},"checks":[)"
         R"({"id":"disk_encryption","verdict":"fail","required":true,"summary":"not encrypted",)"
         R"("evidence":{},"remediation":"r","duration_ms":3}]}})";
}

}  // namespace hearth::testing
