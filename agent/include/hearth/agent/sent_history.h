// The sent history (state_dir/sent/, mode 0700): copies of the last reports the server
// acknowledged, byte for byte as they were sent, in the spool's file format (one
// NNNNNNNNNNNNNNNNNNNN.json per report, mode 0600). A server restored from a backup lacks what it
// acknowledged after the backup's snapshot, and the agent has already removed those reports from
// its spool: when an acknowledgement says the server's previous highest sequence is below reports
// this history holds, they go back into the spool and are sent again (same report_id and
// sequence: the server stores each once). See docs/agent-delivery.md "After a server restore".
//
// Bounds: the newest `keep_reports` reports, and none sent (envelope "sent_at") more than
// `keep_for` ago, except that the newest report is always kept. keep_reports 0 turns the history
// off (nothing is kept, nothing can be re-sent).
//
// Crash safety: keep() writes the copy durably (temp + fsync + rename + fsync dir) BEFORE the
// caller removes the report from the spool, and requeue() appends to the spool durably and leaves
// the copy in place; so at every moment a report is in the spool, the history or both, never in
// neither. A report in both is sent again and stored once (the server dedups by report_id).
// Single writer, like the spool (the agent's state-dir lock).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hearth/agent/spool.h"
#include "hearth/file_layer.h"
#include "hearth/status.h"

namespace hearth::agent {

struct SentHistoryOptions {
  size_t keep_reports = 500;
  std::chrono::seconds keep_for{7 * 86400};
  FileLayer* files = nullptr;  // nullptr: PosixFileLayer(). Not owned.
  std::function<std::chrono::system_clock::time_point()> now;  // tests; default system_clock
};

// What requeue() did.
struct Requeued {
  int64_t lacked_from = 0;         // the server lacked reports lacked_from..lacked_to (inclusive)
  int64_t lacked_to = 0;           // (0, 0: nothing was lacking)
  int64_t requeued = 0;            // copies put back into the spool
  int64_t not_kept = 0;            // sequences in that range the history no longer holds
  std::vector<int64_t> sequences;  // the requeued sequences, ascending
};

class SentHistory {
 public:
  SentHistory(std::string dir, SentHistoryOptions options = {});

  // Keeps a copy of acknowledged report `sequence` (its envelope as sent), durably, then trims the
  // history to its bounds. Call it before Spool::remove(sequence).
  Status keep(int64_t sequence, const std::string& envelope);

  // Sequences held, ascending (empty if the directory does not exist).
  StatusOr<std::vector<int64_t>> list() const;
  StatusOr<std::string> read(int64_t sequence) const;

  // An acknowledgement of report `acked` said the server's highest sequence before it was
  // `previous`. If this history holds reports in (previous, acked), the server lost them: they
  // are appended to `spool` (sent again by the next delivery round). The range reported as lacking
  // is previous+1 .. the highest kept sequence below `acked` (every report up to it was delivered
  // before `acked`, or dropped or refused earlier). Nothing to do (the common case) costs one
  // directory listing, only when previous < acked - 1.
  StatusOr<Requeued> requeue(Spool& spool, int64_t previous, int64_t acked);

  // The history belongs to one device (enrolment): when `device_id` differs from the one it was
  // kept for (state_dir/sent/device), the copies are forgotten, so that a new enrolment never
  // re-sends the old device's reports. Called when the agent starts.
  Status bindTo(const std::string& device_id);

 private:
  std::string pathFor(int64_t sequence) const;
  Status trim(std::vector<int64_t> held);

  std::string dir_;
  SentHistoryOptions options_;
  FileLayer* files_;
  bool dir_ready_ = false;
};

}  // namespace hearth::agent
