// Report sequence numbers: 1, 2, 3, ... with neither gaps nor reuse, across crashes, power cuts,
// a lost or corrupt state_dir/sequence file and a failed commit. NextSequence only reads: the
// highest of the successor kept in state_dir/sequence and the successor of `highest_known`, the
// highest sequence the agent still holds elsewhere (the spool and the sent history; 0 for none).
// The caller spools the report under that number and then calls CommitSequence, which writes the
// successor durably (temp + fsync + rename + fsync dir of state_dir/sequence). A crash before the
// report is spooled hands the same number out again (nothing used it: the server never sees a gap
// that it would count as a missing report); a crash or a failed commit after it is spooled is
// covered by `highest_known` (the report is in the spool, or in the sent history once delivered).
// A corrupt file (not a positive number, or too large) is repaired from `highest_known` (the
// choice says so, naming the file, for the caller to log); an I/O error reading it is returned;
// only the sent history's bounds limit that repair, and the server refuses a reused number (409
// sequence_reused, docs/agent-delivery.md). Single writer, like the spool.
#pragma once

#include <cstdint>
#include <string>

#include "hearth/file_layer.h"
#include "hearth/status.h"

namespace hearth::agent {

struct SequenceChoice {
  int64_t next = 1;
  // Non-empty when state_dir/sequence was corrupt and the number was taken from
  // `highest_known` instead: a warning for the log, naming the file and what was wrong.
  std::string repaired;
};

StatusOr<SequenceChoice> NextSequence(const std::string& state_dir, int64_t highest_known);
StatusOr<SequenceChoice> NextSequence(const std::string& state_dir, int64_t highest_known,
                                      FileLayer& files);
Status CommitSequence(const std::string& state_dir, int64_t used);
Status CommitSequence(const std::string& state_dir, int64_t used, FileLayer& files);

}  // namespace hearth::agent
