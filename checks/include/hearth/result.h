// The result model: a verdict per check and the report of one evaluation, with their JSON form
// (ARCHITECTURE.md "Verdicts and results"; fields may be added, never removed).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json.h"
#include "hearth/status.h"
#include "hearth/verdict.h"

namespace hearth {

struct CheckResult {
  std::string id;  // the check's, e.g. disk_encryption
  Verdict verdict = Verdict::kUnknown;
  bool required = true;
  std::string summary;  // one line for a person: "Root filesystem / is not encrypted"
  json::Value evidence = json::Value::object();  // structured facts that led to the verdict
  std::string remediation;  // what the person at the PC should do; empty only for pass/n-a
  int64_t duration_ms = 0;

  json::Value toJson() const;
};

struct HostInfo {
  std::string hostname;
  std::string os;      // PRETTY_NAME from os-release
  std::string kernel;  // uname -r
};

struct Report {
  bool compliant = false;
  std::string level;
  int64_t policy_version = 0;
  std::chrono::system_clock::time_point evaluated_at;
  HostInfo host;
  std::vector<CheckResult> checks;

  json::Value toJson() const;
};

// A device is compliant only when every required check passes or does not apply.
bool isCompliant(const std::vector<CheckResult>& checks);

}  // namespace hearth
