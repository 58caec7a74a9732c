// The four verdicts of a check and their names in reports and the API (ARCHITECTURE.md "Verdicts
// and results"). In base because the agent, the wire protocol and the server all read and write
// them, and none of the three may depend on another's library for a vocabulary of four words.
#pragma once

#include <string_view>

#include "hearth/status.h"

namespace hearth {

enum class Verdict { kPass, kFail, kUnknown, kNotApplicable };

// "pass", "fail", "unknown", "not_applicable".
std::string_view verdictName(Verdict v);
// The verdict named `name`; InvalidArgument for any other text.
StatusOr<Verdict> parseVerdict(std::string_view name);

}  // namespace hearth
