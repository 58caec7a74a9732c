// The test marker's policy part: its id, wording and settings (all a server needs of it).
#include <iostream>

#include "test_marker.h"

namespace hearth::testing {

namespace {

Status readSettings(const json::ObjectReader& section, TestMarkerSettings& s) {
  HEARTH_RETURN_IF_ERROR(section.readString("marker_file", s.marker_file, {.max_bytes = 4096}));
  if (!s.marker_file.empty() && s.marker_file[0] != '/') {
    return section.invalid("marker_file", "an absolute path");
  }
  return OkStatus();
}

}  // namespace

CheckSpec TestMarkerCheckEntry(PolicyPart) {
  return {.id = kTestMarkerCheckId,
          .wording = {"Test marker", "The test marker is missing"},
          .settings = SettingsOf({"marker_file"}, readSettings)};
}

int RunIfAdded(const Status& added, int (*program)(int, char**), int argc, char** argv) {
  if (!added.ok()) {
    std::cerr << added.message() << "\n";
    return 70;
  }
  return program(argc, argv);
}

int RunWithTestMarkerPolicy(int (*program)(int, char**), int argc, char** argv) {
  return RunIfAdded(AddPolicyCheck(TestMarkerCheckEntry(kPolicyPart)), program, argc, argv);
}

}  // namespace hearth::testing
