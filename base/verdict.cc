#include "hearth/verdict.h"

#include <string>

namespace hearth {

std::string_view verdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kUnknown:
      return "unknown";
    case Verdict::kNotApplicable:
      return "not_applicable";
  }
  return "unknown";
}

StatusOr<Verdict> parseVerdict(std::string_view name) {
  for (Verdict v : {Verdict::kPass, Verdict::kFail, Verdict::kUnknown, Verdict::kNotApplicable}) {
    if (verdictName(v) == name) return v;
  }
  return InvalidArgumentError("unknown verdict \"" + std::string(name) + "\"");
}

}  // namespace hearth
