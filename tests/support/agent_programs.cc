// The test programs do not live beside hearth-upload and hearth-notify (as hearth-agent does):
// tell the agent library where the build put them, before any test runs.
#include "hearth/agent/notify.h"
#include "hearth/agent/uploader.h"
#include "support/programs.h"

namespace {

const bool kUploaderProgramSet = [] {
  hearth::agent::SetUploaderProgram(hearth::testing::UploadProgram());
  hearth::agent::SetNotifyProgram(hearth::testing::NotifyProgram());
  return true;
}();

}  // namespace
