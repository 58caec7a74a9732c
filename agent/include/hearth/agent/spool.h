// The agent's durable report queue (the spool): reports not yet acknowledged by the server, by
// sequence. The on-disk format, the crash guarantees and how the "dropped" count reaches the server
// are described for operators in docs/agent-spool.md.
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

#include <cstddef>
#include <cstdint>
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
  // Unlinks report `sequence` durably (gone already is fine) and forgets it.
  Status unlinkReport(int64_t sequence);

  std::string dir_;
  size_t max_reports_;
  size_t max_bytes_;
  FileLayer* files_;
  bool recovered_ = false;
  bool dir_ready_ = false;
  std::optional<Counter> counter_;  // as of the last mutating call
  std::map<int64_t, Entry> index_;  // the reports, refreshed from the directory by append()
};

}  // namespace hearth::agent
