// test_marker: a fifth check that exists only for tests. It proves that a check is added by its
// own files and one list: nothing outside this folder names it, yet it goes through policy
// parsing, `hearth-agent check --json`, the daemon's report and the server's stored result.
//
// It passes when the file its policy names (`checks.test_marker.marker_file`, an absolute path)
// exists, looked up through the SystemView (under `check --root DIR`, inside DIR). Its evidence
// holds a `local_note` that its privacy filter keeps on the PC.
#pragma once

#include <string>

#include "hearth/check_registry.h"

namespace hearth::testing {

inline constexpr char kTestMarkerCheckId[] = "test_marker";

// The policy's `checks.test_marker` settings (besides `required`).
struct TestMarkerSettings : CheckSettings {
  std::string marker_file;  // absolute; empty: the check cannot tell (unknown)
};

// Its policy part (test_marker_spec.cc), which a test server adds with AddPolicyCheck(), and its
// agent entry (test_marker.cc), which a test agent adds with AddCheck(), before running the real
// program.
CheckSpec TestMarkerCheckEntry(PolicyPart);
CheckEntry TestMarkerCheckEntry(AgentPart);

// main() of an agent with the fifth check: adds its entry to Checks() (and so its policy part to
// PolicyChecks()), then returns `program(argc, argv)` (70 when the entry cannot be added).
int RunWithTestMarker(int (*program)(int, char**), int argc, char** argv);
// main() of a server with the fifth check: adds its policy part to PolicyChecks() only, then as
// RunWithTestMarker.
int RunWithTestMarkerPolicy(int (*program)(int, char**), int argc, char** argv);
// `program(argc, argv)` when `added` is OK; otherwise prints it and returns 70.
int RunIfAdded(const Status& added, int (*program)(int, char**), int argc, char** argv);

}  // namespace hearth::testing
