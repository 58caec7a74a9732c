// Delivering the spool: in sequence order, each report removed only after the server acknowledged
// it, stopping at the first failure (so order is kept and nothing is skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "hearth/agent/sent_history.h"
#include "hearth/agent/slow_reports.h"
#include "hearth/agent/spool.h"
#include "hearth/agent/transport.h"
#include "hearth/log.h"

namespace hearth::agent {

struct DeliveryOutcome {
  size_t delivered = 0;
  bool emptied = false;         // the spool is empty now
  PostResult last;              // the failure that stopped delivery (kind kAccepted when emptied)
  int64_t failed_sequence = 0;  // the report whose sending failed (0 if none, or a local error)
  int64_t last_sequence = 0;    // the last sequence acknowledged (0 if none)
  std::string last_delivered;   // its bytes, for last-report.json (empty if none)
  // The "fleet" of the latest acknowledgement that carried one (PostResult::fleet_json), for
  // STATE_DIR/fleet.json; empty if none did.
  std::string fleet_json;
  // The company's view of the device from the latest acknowledgement that carried one
  // (PostResult::server_view_json), for status.json; empty if none did.
  std::string server_view_json;
  // Set when delivery stopped at a report that can never be read (not a regular file, larger
  // than any report can be, an I/O error): the caller moves it aside so that it does not block
  // the reports behind it for ever (runtime.cc keeps it in rejected/).
  std::optional<int64_t> unreadable;
  // Reports put back into the spool from the sent history because the server lacked them (see
  // SentHistory::requeue): they were not in this round's list; the caller runs another round.
  int64_t requeued = 0;
};

// `should_stop` is polled between reports (SIGTERM); when it says stop, delivery ends with
// last.kind == kRetryLater ("delivery interrupted"). Local spool errors end delivery with
// last.kind == kNetwork and the error text; a report listed but gone by the time it is read
// (dropped from a full spool) is skipped. `log` gets one line per failure; report contents are
// never logged.
//
// With `slow`, a report whose upload timed out on a connected link (PostResult::timed_out) for
// the SlowReports::kParkAfter-th time in a row is parked: delivery goes on with the reports
// behind it, and parked reports are sent after all others, each with the patient timeout (see
// slow_reports.h; the caller saves `slow`). Without it, every failure stops delivery.
//
// With a `history`, each acknowledged report is kept there (SentHistory::keep) before it leaves
// the spool, and an acknowledgement whose previous_sequence is below reports the history holds
// puts them back into the spool (logged once per acknowledgement that reveals the loss).
DeliveryOutcome DeliverSpool(Spool& spool, Transport& transport, Logger& log,
                             const std::function<bool()>& should_stop = nullptr,
                             SentHistory* history = nullptr, SlowReports* slow = nullptr);

}  // namespace hearth::agent
