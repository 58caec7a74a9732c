#include "test_marker.h"

#include <iostream>

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

Status readSettings(const json::ObjectReader& section, TestMarkerSettings& s) {
  HEARTH_RETURN_IF_ERROR(section.readString("marker_file", s.marker_file, {.max_bytes = 4096}));
  if (!s.marker_file.empty() && s.marker_file[0] != '/') {
    return section.invalid("marker_file", "an absolute path");
  }
  return OkStatus();
}

void privacyFilter(json::Value& evidence, PersonLabels& /*people*/) {
  evidence.erase("local_note");  // stays on the PC
}

}  // namespace

CheckEntry TestMarkerCheckEntry() {
  return {.id = kTestMarkerCheckId,
          .wording = {"Test marker", "The test marker is missing"},
          .make = [] { return std::make_unique<TestMarkerCheck>(); },
          .settings = SettingsOf({"marker_file"}, readSettings),
          .privacy_filter = privacyFilter};
}

int RunWithTestMarker(int (*program)(int, char**), int argc, char** argv) {
  if (Status s = AddCheck(TestMarkerCheckEntry()); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 70;
  }
  return program(argc, argv);
}

}  // namespace hearth::testing
