// What the agent keeps track of between check runs: a partial run (only vpn, after a network
// change) merged into the last full result, and the fingerprint that says whether a result
// changed enough to be worth a report.
#pragma once

#include <string>

#include "hearth/json.h"

namespace hearth::agent {

// Replaces the checks of `full` that `partial` holds (by id) and recomputes "compliant".
json::Value MergeCheckResults(const json::Value& full, const json::Value& partial);

// What counts as a change worth a report: level, policy version, and each check's id, verdict,
// required flag and summary (not timings or evidence timestamps).
std::string ResultFingerprint(const json::Value& result);

}  // namespace hearth::agent
