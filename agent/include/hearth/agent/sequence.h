// Report sequence numbers: 1, 2, 3, ... with neither gaps nor reuse, across crashes and power
// cuts, kept in state_dir/sequence. NextSequence only reads: the successor of the last committed
// number, or of the highest sequence still in the spool (`highest_spooled`, 0 for none) if that is
// higher. The caller spools the report under that number and then calls CommitSequence, which
// writes the successor durably (temp + fsync + rename + fsync dir of state_dir/sequence). A crash
// before the report is spooled hands the same number out again (nothing used it: the server never
// sees a gap that it would count as a missing report); a crash after it is spooled but before the
// commit is covered by `highest_spooled` (the report is still in the spool: delivery comes later).
// DataLoss if the file is corrupt. Single writer, like the spool.
#pragma once

#include <cstdint>
#include <string>

#include "hearth/file_layer.h"
#include "hearth/status.h"

namespace hearth::agent {

StatusOr<int64_t> NextSequence(const std::string& state_dir, int64_t highest_spooled);
StatusOr<int64_t> NextSequence(const std::string& state_dir, int64_t highest_spooled,
                               FileLayer& files);
Status CommitSequence(const std::string& state_dir, int64_t used);
Status CommitSequence(const std::string& state_dir, int64_t used, FileLayer& files);

}  // namespace hearth::agent
