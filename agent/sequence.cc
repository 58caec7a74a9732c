// The report sequence counter (see sequence.h).
#include "hearth/agent/sequence.h"

#include <algorithm>

#include "hearth/agent/state_dir.h"
#include "hearth/files.h"
#include "hearth/text.h"

namespace hearth::agent {

StatusOr<int64_t> NextSequence(const std::string& state_dir, int64_t highest_spooled) {
  return NextSequence(state_dir, highest_spooled, PosixFileLayer());
}

StatusOr<int64_t> NextSequence(const std::string& state_dir, int64_t highest_spooled,
                               FileLayer& files) {
  const std::string path = AgentPathsFor(state_dir).sequence;
  int64_t next = 1;
  if (auto text = files.readFile(path, 64); text.ok()) {
    auto v = text::parseInt(text::trim(*text));
    if (!v || *v < 1) {
      return DataLossError(path + " is corrupt: expected the next report sequence number, got \"" +
                           text::trim(*text) + "\"");
    }
    next = *v;
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }
  return std::max(next, highest_spooled + 1);
}

Status CommitSequence(const std::string& state_dir, int64_t used) {
  return CommitSequence(state_dir, used, PosixFileLayer());
}

Status CommitSequence(const std::string& state_dir, int64_t used, FileLayer& files) {
  return WriteFileDurably(files, AgentPathsFor(state_dir).sequence, state_dir + "/.tmp-sequence",
                          std::to_string(used + 1) + "\n", 0644);
}

}  // namespace hearth::agent
