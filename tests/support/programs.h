// The programs the tests run: hearth-agent, hearth-upload, hearth-notify, hearth-server and test
// helpers. By default those of this build tree. With HEARTH_TEST_PROGRAMS_FROM=<another build tree>
// they come from that tree instead (same layout): the sanitizer pass runs the integration tests of
// the plain build against the programs of the sanitized build (scripts/test). A program missing
// there ends the test program with a message rather than quietly testing the plain one.
#pragma once

#include <string>

namespace hearth::testing {

const std::string& AgentProgram();
const std::string& UploadProgram();
const std::string& NotifyProgram();
const std::string& ServerProgram();
// `built_path`: a program's path in this build tree (e.g. $<TARGET_FILE:...>); the same program
// in HEARTH_TEST_PROGRAMS_FROM's tree when that is set.
std::string BuiltProgram(const std::string& built_path);
// The compiled translations of this build tree (po/CMakeLists.txt: <tree>/locale), or of
// HEARTH_TEST_PROGRAMS_FROM's tree: for HEARTH_LOCALEDIR.
std::string BuiltLocaleDir();

}  // namespace hearth::testing
