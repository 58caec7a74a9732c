// Report file names (see report_files.h).
#include "report_files.h"

#include <algorithm>
#include <cstdio>

#include "hearth/text.h"

namespace hearth::agent {

namespace {

constexpr size_t kNameDigits = 20;
constexpr std::string_view kReportSuffix = ".json";

}  // namespace

std::string ReportFileName(int64_t sequence) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(sequence));
  return name;
}

std::optional<int64_t> ParseReportFileName(std::string_view name) {
  if (name.size() != kNameDigits + kReportSuffix.size()) return std::nullopt;
  if (name.substr(kNameDigits) != kReportSuffix) return std::nullopt;
  std::string_view digits = name.substr(0, kNameDigits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto v = text::parseInt(digits);
  if (!v || *v < 0) return std::nullopt;
  return v;
}

bool IsTempFileName(std::string_view name) {
  return name.starts_with(kTempPrefix) || name.find(".json.tmp-") != std::string_view::npos;
}

}  // namespace hearth::agent
