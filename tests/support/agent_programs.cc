// The test programs do not live beside hearth-upload (as hearth-agent does): tell the agent
// library where the build put it, before any test runs.
#include "hearth/agent/uploader.h"
#include "support/programs.h"

namespace {

const bool kUploaderProgramSet = [] {
  hearth::agent::SetUploaderProgram(hearth::testing::UploadProgram());
  return true;
}();

}  // namespace
