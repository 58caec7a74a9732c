// Preseeded enrolment: a company ships /etc/hearth/enroll.conf (server URL, CA file or pin,
// enrolment secret, optional owner) in its package; on first start the agent enrols itself from it
// and then deletes the secret from the file system. See docs/rollout.md.
#pragma once

#include <string>

#include "hearth/log.h"
#include "hearth/status.h"

namespace hearth::agent {

struct PreseedOutcome {
  bool attempted = false;  // a preseed file was present and this PC was not enrolled yet
  bool enrolled = false;
};

// Enrols from `preseed_path` when the PC is not enrolled yet. A missing file is not an error.
// Bad content names the file and key. On success the secret is removed (the secret line or
// the secret file named by `secret_file =`), the rest of the file is kept.
// The enrolment's network exchange runs as `service_user` (agent.conf), like the uploader.
StatusOr<PreseedOutcome> EnrollFromPreseed(const std::string& preseed_path,
                                           const std::string& state_dir, const std::string& proxy,
                                           const std::string& service_user, Logger& log);

}  // namespace hearth::agent
