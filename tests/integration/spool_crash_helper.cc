// Test-only helper for integration/agent_spool_crash_test.cc: runs the agent's spool through the
// real POSIX file layer in an endless loop (sequence, claim the drop count, append, now and then
// remove the oldest as if delivered) until the test SIGKILLs it. Each step is announced on stdout
// with one write(2) (atomic on a pipe): "a N" before append(N), "A N" after it returned OK,
// "r N" before remove(N), "R N" after it returned OK; "s 0" first, once the process is up (the
// test's kill delay counts from there, not from the spawn, whose cost depends on the load).
//
// usage: hearth_spool_crash_helper STATE_DIR MAX_REPORTS REMOVE_EVERY
//   removes the oldest report after every REMOVE_EVERY-th append, and whenever more than 20 wait.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "hearth/agent/sequence.h"
#include "hearth/agent/spool.h"
#include "integration/spool_crash_envelope.h"

namespace {

void emit(char what, int64_t seq) {
  std::string line = std::string(1, what) + " " + std::to_string(seq) + "\n";
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::_Exit(3);
  }
}

int fail(const std::string& what, const hearth::Status& s) {
  std::fprintf(stderr, "hearth_spool_crash_helper: %s: %s\n", what.c_str(), s.toString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: hearth_spool_crash_helper STATE_DIR MAX_REPORTS REMOVE_EVERY\n");
    return 2;
  }
  const std::string state = argv[1];
  const auto max_reports = static_cast<size_t>(std::strtoull(argv[2], nullptr, 10));
  const long remove_every = std::strtol(argv[3], nullptr, 10);
  emit('s', 0);
  hearth::agent::Spool spool(state + "/spool", max_reports);
  for (long i = 1;; ++i) {
    auto spooled = spool.list();
    if (!spooled.ok()) return fail("list", spooled.status());
    auto choice = hearth::agent::NextSequence(state, spooled->empty() ? 0 : spooled->back());
    if (!choice.ok()) return fail("next sequence", choice.status());
    auto seq = &choice->next;
    auto dropped = spool.takeDroppedForReport(*seq);
    if (!dropped.ok()) return fail("take dropped", dropped.status());
    emit('a', *seq);
    if (auto s = spool.append(*seq, hearth::testing::SpoolCrashEnvelope(*seq, *dropped)); !s.ok()) {
      return fail("append", s);
    }
    emit('A', *seq);
    if (auto s = hearth::agent::CommitSequence(state, *seq); !s.ok()) {
      return fail("commit sequence", s);
    }
    auto pending = spool.list();
    if (!pending.ok()) return fail("list", pending.status());
    size_t depth = pending->size();
    for (size_t k = 0; k < pending->size() && (depth > 20 || (k == 0 && i % remove_every == 0));
         ++k, --depth) {
      int64_t oldest = (*pending)[k];
      emit('r', oldest);
      if (auto s = spool.remove(oldest); !s.ok()) return fail("remove", s);
      emit('R', oldest);
    }
  }
}
