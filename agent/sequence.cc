// The report sequence counter (see sequence.h).
#include "hearth/agent/sequence.h"

#include <algorithm>

#include "hearth/agent/state_dir.h"
#include "hearth/files.h"
#include "hearth/text.h"

namespace hearth::agent {

StatusOr<SequenceChoice> NextSequence(const std::string& state_dir, int64_t highest_known) {
  return NextSequence(state_dir, highest_known, PosixFileLayer());
}

StatusOr<SequenceChoice> NextSequence(const std::string& state_dir, int64_t highest_known,
                                      FileLayer& files) {
  const std::string path = AgentPathsFor(state_dir).sequence;
  SequenceChoice choice;
  if (auto text = files.readFile(path, 64); text.ok()) {
    auto v = text::parseInt(text::trim(*text));
    if (v && *v >= 1) {
      choice.next = *v;
    } else {
      choice.repaired = path + " is corrupt (expected the next report sequence number, got \"" +
                        text::trim(*text) + "\")";
    }
  } else if (text.status().code() == StatusCode::kResourceExhausted) {
    choice.repaired = path + " is corrupt (larger than a sequence number can be)";
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();  // an I/O error: nothing is numbered on a guess
  }
  choice.next = std::max(choice.next, highest_known + 1);
  if (!choice.repaired.empty()) {
    choice.repaired += "; repaired from the spool and the sent history: the next report is " +
                       std::to_string(choice.next);
  }
  return choice;
}

Status CommitSequence(const std::string& state_dir, int64_t used) {
  return CommitSequence(state_dir, used, PosixFileLayer());
}

Status CommitSequence(const std::string& state_dir, int64_t used, FileLayer& files) {
  return WriteFileDurably(files, AgentPathsFor(state_dir).sequence, state_dir + "/.tmp-sequence",
                          std::to_string(used + 1) + "\n", 0644);
}

}  // namespace hearth::agent
