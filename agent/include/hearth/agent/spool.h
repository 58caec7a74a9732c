// The agent's durable report queue (the spool) and the report sequence counter. The on-disk
// format, the crash guarantees and how the "dropped" count reaches the server are described for
// operators in docs/agent-spool.md.
//
// Layout of the spool directory (mode 0700):
//   NNNNNNNNNNNNNNNNNNNN.json   one report envelope, byte for byte as it is sent; the name is its
//                               sequence, zero-padded to 20 digits (mode 0600)
//   dropped.json                the drop counter (see "Dropped reports" below)
//   .tmp-*                      a write in progress; removed by recover() after a crash
// Anything else is ignored (never listed, never removed).
//
// Guarantees, with any crash or power cut at any point:
//   - once append() returns OK, the report is listed and readable, byte for byte, until remove()
//     or a drop (a drop is always counted);
//   - a listed report is always complete: no torn or partial report is ever listed;
//   - a sequence is listed at most once; order is by sequence, never by wall clock;
//   - once remove() returns OK, the report never comes back.
// An operation that returns an error may or may not have taken effect (the report may be there).
//
// Bounds: at most `max_reports` reports and `max_bytes` bytes of reports. When an append takes
// the spool over either bound, the oldest reports are dropped, except the newest report and, for
// each check id found in the reports (result.checks[].id), the newest report holding that check:
// so the latest verdict of every check always survives, even when recent reports (a network change
// re-runs only the vpn check) hold just one check. If those protected reports alone exceed a bound,
// nothing more is dropped. A single report larger than max_bytes is refused (ResourceExhausted)
// and not written. After a crash the spool can hold one report over its bound until the next
// append.
//
// Dropped reports: every drop is counted durably in dropped.json. The count reaches the server in
// the optional "dropped" field of a later report envelope, exactly once:
//   int64_t n = takeDroppedForReport(seq);  // before building envelope `seq`
//   if (n > 0) envelope "dropped" = n;      // the drops not yet reported
//   append(seq, envelope);  ...  remove(seq) once the server acknowledged it
// takeDroppedForReport() durably assigns the unreported drops to report `seq` (a "claim"). The
// claim ends only when remove(seq) is called (acknowledged): if report `seq` is instead dropped,
// or never spooled (the append failed or the agent crashed first), its count returns to the
// unreported pool and is handed to a later report. A crash never loses the number and never
// counts it twice: the server receives each drop in exactly one acknowledged report (a report
// sent twice is stored once, by report_id). The server sums the "dropped" fields it stores.
//
// Thread-safety: none. One writer at a time: the daemon and `run --once` must not write to the
// spool (or call NextSequence) at the same moment; the caller serialises them (a lock). Writers
// may take turns: each mutating call re-reads the directory and dropped.json. Readers in other
// processes (status) may call list(), read(), depth() and drops() at any time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/status.h"

namespace hearth::agent {

struct SpoolOptions {
  size_t max_reports = 10000;
  size_t max_bytes = 20u << 20;
  FileLayer* files = nullptr;  // nullptr: PosixFileLayer(). Not owned; must outlive the Spool.
};

// Drop counts, from dropped.json.
struct SpoolDrops {
  int64_t total = 0;       // reports ever dropped from this spool
  int64_t unreported = 0;  // dropped, and not in any report acknowledged by the server yet
};

class Spool {
 public:
  // `dir` is created (0700) by the first append.
  explicit Spool(std::string dir, size_t max_reports = 10000, size_t max_bytes = 20u << 20);
  Spool(std::string dir, const SpoolOptions& options);

  // Finishes what a crash interrupted: removes temporary files and completes an interrupted drop.
  // Called by the first append(), remove(), discard() or takeDroppedForReport() of this object;
  // call it directly to do it at start-up. Never called by the read-only methods.
  Status recover();

  // Stores `envelope` (its bytes exactly as they will be sent) as report `sequence`, durably, and
  // then enforces the bounds (see above). Replaces a report already stored under `sequence`.
  // Errors: ResourceExhausted "disk full: ..." naming the spool directory when the disk or quota
  // is full (nothing partial is left behind); ResourceExhausted when the report alone is larger
  // than max_bytes (not written); others name the failing file operation. An error that starts
  // "report N is spooled in ..., but dropping old ones failed" means the report is stored.
  Status append(int64_t sequence, const std::string& envelope);

  // The file that holds report `sequence` (whether or not it exists).
  std::string reportPath(int64_t sequence) const { return pathFor(sequence); }

  // Sequences in the spool, ascending. Empty if the directory does not exist yet.
  StatusOr<std::vector<int64_t>> list() const;
  // The envelope stored as `sequence`. NotFound if it is not (or no longer) in the spool.
  StatusOr<std::string> read(int64_t sequence) const;
  // Removes report `sequence` once the server acknowledged it; ends its drop-count claim. OK if it
  // is not in the spool.
  Status remove(int64_t sequence);
  // Removes report `sequence` that the server will never accept (refused for good), without
  // counting it as acknowledged: the drop count it carried goes back to the unreported pool for
  // a later report. Not counted as a drop either (the caller keeps the report elsewhere). OK if
  // it is not in the spool.
  Status discard(int64_t sequence);
  // Number of reports in the spool (0 if it cannot be listed).
  size_t depth() const;

  // Reports ever dropped from this spool (from dropped.json; 0 if it cannot be read).
  int64_t dropped() const;
  // Both counts; NotFound never (a missing file means zeros), DataLoss if dropped.json is corrupt.
  StatusOr<SpoolDrops> drops() const;
  // The number to put in envelope `sequence`'s "dropped" field (0: leave the field out), durably
  // claimed for that report as described above. Idempotent for the same `sequence`. REQUIRES:
  // sequences are taken in increasing order (NextSequence), and `sequence` is not yet spooled.
  StatusOr<int64_t> takeDroppedForReport(int64_t sequence);

  const std::string& dir() const { return dir_; }

 private:
  struct Counter {
    int64_t total = 0;
    int64_t unreported = 0;
    std::map<int64_t, int64_t> claims;  // sequence -> count carried by that report
    std::vector<int64_t> dropping;      // a drop in progress (intent, completed by recover())
  };
  struct Entry {
    uint64_t size = 0;
    std::optional<std::vector<std::string>> checks;  // check ids; read lazily
  };

  std::string pathFor(int64_t sequence) const;
  std::string counterPath() const;
  StatusOr<Counter> loadCounter() const;
  Status saveCounter(const Counter& c);
  Status ensureRecovered();
  Status finishDrop(Counter& c);
  // Claims of reports that will never be spooled go back to the unreported pool.
  Status releaseOrphanClaims(int64_t below_sequence);
  Status refreshIndex();
  const std::vector<std::string>& checksOf(int64_t sequence);
  std::vector<int64_t> chooseVictims();
  Status enforceBounds();

  std::string dir_;
  size_t max_reports_;
  size_t max_bytes_;
  FileLayer* files_;
  bool recovered_ = false;
  bool dir_ready_ = false;
  std::optional<Counter> counter_;  // as of the last mutating call
  std::map<int64_t, Entry> index_;  // the reports, refreshed from the directory by append()
};

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

  const std::string& dir() const { return dir_; }

 private:
  std::string pathFor(int64_t sequence) const;
  Status trim(std::vector<int64_t> held);

  std::string dir_;
  SentHistoryOptions options_;
  FileLayer* files_;
  bool dir_ready_ = false;
};

// Report sequence numbers: 1, 2, 3, ... with neither gaps nor reuse, across crashes and power
// cuts. NextSequence only reads: the successor of the last committed number, or of the highest
// sequence still in the spool (`highest_spooled`, 0 for none) if that is higher. The caller
// spools the report under that number and then calls CommitSequence, which writes the successor
// durably (temp + fsync + rename + fsync dir of state_dir/sequence). A crash before the report
// is spooled hands the same number out again (nothing used it: the server never sees a gap that
// it would count as a missing report); a crash after it is spooled but before the commit is
// covered by `highest_spooled` (the report is still in the spool: delivery comes later).
// DataLoss if the file is corrupt. Single writer, like the spool.
StatusOr<int64_t> NextSequence(const std::string& state_dir, int64_t highest_spooled);
StatusOr<int64_t> NextSequence(const std::string& state_dir, int64_t highest_spooled,
                               FileLayer& files);
Status CommitSequence(const std::string& state_dir, int64_t used);
Status CommitSequence(const std::string& state_dir, int64_t used, FileLayer& files);

}  // namespace hearth::agent
