// Fuzzes the report envelope and its result as the server takes them (POST /api/v1/reports:
// protocol::ReportEnvelope::parse, server-api/protocol/wire.cc, which is the ingest validation):
// a refusal is InvalidArgument naming the field or the JSON problem; an accepted envelope holds a
// lower-case UUID, a sequence of at least 1, an RFC 3339 time, a hex SHA-256 machine id, at most 64
// checks each with a known verdict, a dropped count within 0..kMaxDropped; and what the agent would
// send for it (toJson) parses back to the same envelope.
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "hearth/json.h"
#include "hearth/protocol/wire.h"
#include "hearth/time.h"
#include "hearth/verdict.h"

using hearth::protocol::ReportEnvelope;

namespace {

bool sameEnvelope(const ReportEnvelope& a, const ReportEnvelope& b) {
  return a.report_id == b.report_id && a.sequence == b.sequence && a.sent_at == b.sent_at &&
         a.agent_version == b.agent_version && a.machine_id == b.machine_id &&
         a.result == b.result && a.device_id == b.device_id && a.dropped == b.dropped;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = hearth::fuzz::AsText(data, size);
  auto env = ReportEnvelope::parse(body);
  if (!env.ok()) {
    FUZZ_ASSERT(env.status().code() == hearth::StatusCode::kInvalidArgument);
    const std::string m = env.status().message();
    // Names the field ("field \"sequence\" ...", "result.checks[].verdict ..."), the body
    // ("report: unknown field ...") or says the JSON is not an object or not JSON.
    bool names_field = m.find('"') != std::string::npos;
    for (const char* f : {"report_id", "sequence", "sent_at", "agent_version", "machine_id",
                          "result", "device_id", "dropped"}) {
      names_field = names_field || m.find(f) != std::string::npos;
    }
    FUZZ_ASSERT(names_field || hearth::fuzz::StartsWith(m, "invalid JSON: ") ||
                hearth::fuzz::StartsWith(m, "expected a JSON object"));
    return 0;
  }
  FUZZ_ASSERT(hearth::protocol::IsUuid(env->report_id));
  FUZZ_ASSERT(env->sequence >= 1);
  FUZZ_ASSERT(hearth::parseRfc3339(env->sent_at).ok());
  FUZZ_ASSERT(env->machine_id.size() == 64);
  FUZZ_ASSERT(!env->agent_version.empty() && env->agent_version.size() <= 64);
  if (env->dropped) {
    FUZZ_ASSERT(*env->dropped >= 0 && *env->dropped <= hearth::protocol::kMaxDropped);
  }
  if (env->device_id) FUZZ_ASSERT(!env->device_id->empty() && env->device_id->size() <= 64);
  const auto& result = env->result;
  FUZZ_ASSERT(result.isObject());
  const auto* checks = result.find("checks");
  FUZZ_ASSERT(checks != nullptr && checks->isArray() && checks->asArray().size() <= 64);
  for (const auto& c : checks->asArray()) {
    const auto* verdict = c.find("verdict");
    FUZZ_ASSERT(verdict != nullptr && verdict->isString());
    FUZZ_ASSERT(hearth::parseVerdict(verdict->asString()).ok());
  }
  std::string again = hearth::json::write(env->toJson());
  auto back = ReportEnvelope::parse(again);
  FUZZ_ASSERT(back.ok());
  FUZZ_ASSERT(sameEnvelope(*env, *back));
  return 0;
}
