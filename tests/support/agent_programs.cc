// The test programs do not live beside hearth-upload (as hearth-agent does): tell the agent
// library where the build put it, before any test runs.
#include "hearth/agent/uploader.h"

namespace {

const bool kUploaderProgramSet = [] {
  hearth::agent::SetUploaderProgram(HEARTH_UPLOAD_BINARY);
  return true;
}();

}  // namespace
