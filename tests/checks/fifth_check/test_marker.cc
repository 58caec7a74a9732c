// The test marker check and its agent entry.
#include "test_marker.h"

namespace hearth::testing {

namespace {

class TestMarkerCheck final : public Check {
 public:
  std::string_view id() const override { return kTestMarkerCheckId; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override {
    std::string path = params.policy.settingsOr<TestMarkerSettings>(id()).marker_file;
    CheckResult r;
    r.evidence = json::Value::object();
    r.evidence.set("marker_file", path);
    r.evidence.set("local_note", "seen only on this PC");
    if (path.empty()) {
      r.verdict = Verdict::kUnknown;
      r.summary = "No marker file is configured";
      return r;
    }
    auto info = system.stat(path);
    if (!info.ok() && info.status().code() != StatusCode::kNotFound) return info.status();
    bool found = info.ok() && info->type == FileType::kRegular;
    r.evidence.set("found", found);
    r.verdict = found ? Verdict::kPass : Verdict::kFail;
    r.summary =
        found ? "The marker file " + path + " is there" : "The marker file " + path + " is missing";
    if (!found) r.remediation = "Create " + path + ".";
    return r;
  }
};

void privacyFilter(json::Value& evidence, PersonLabels& /*people*/) {
  evidence.erase("local_note");  // stays on the PC
}

}  // namespace

CheckEntry TestMarkerCheckEntry(AgentPart) {
  return {.spec = TestMarkerCheckEntry(kPolicyPart),
          .make = [] { return std::make_unique<TestMarkerCheck>(); },
          .privacy_filter = privacyFilter};
}

int RunWithTestMarker(int (*program)(int, char**), int argc, char** argv) {
  return RunIfAdded(AddCheck(TestMarkerCheckEntry(kAgentPart)), program, argc, argv);
}

}  // namespace hearth::testing
