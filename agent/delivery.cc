// Delivering the spool in sequence order (see delivery.h).
#include "hearth/agent/delivery.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace hearth::agent {

namespace {

// Reading again will not help: the file is not a report file, is larger than any report can be,
// or the disk returned an I/O error for it. (Out of descriptors or memory is worth a retry.)
bool permanentlyUnreadable(const Status& s) {
  if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kDataLoss) return true;
  if (s.code() == StatusCode::kResourceExhausted) {
    return s.message().find(" is larger than ") != std::string::npos;
  }
  return s.message().find(std::strerror(EIO)) != std::string::npos;
}

PostResult localError(std::string message) {
  PostResult r;
  r.kind = PostResult::Kind::kNetwork;
  r.error = std::move(message);
  return r;
}

}  // namespace

DeliveryOutcome DeliverSpool(Spool& spool, Transport& transport, Logger& log,
                             const std::function<bool()>& should_stop, SentHistory* history,
                             SlowReports* slow) {
  DeliveryOutcome out;
  bool said_not_kept = false;  // one warning per run when the history cannot be written
  int64_t parked_now = 0;      // a report parked in this run, and why
  PostResult parked_failure;
  auto pending = spool.list();
  if (!pending.ok()) {
    out.last = localError("cannot list the spool: " + pending.status().message());
    log.error(out.last.error);
    return out;
  }
  // Parked reports (a slow uplink timed them out again and again) go after all others.
  std::vector<int64_t> order = *pending;
  if (slow != nullptr) {
    std::stable_partition(order.begin(), order.end(),
                          [slow](int64_t seq) { return !slow->parked(seq); });
  }
  for (int64_t seq : order) {
    if (should_stop && should_stop()) {
      out.last.kind = PostResult::Kind::kRetryLater;
      out.last.error = "delivery interrupted: the agent is stopping";
      return out;
    }
    auto body = spool.read(seq);
    if (!body.ok()) {
      if (body.status().code() == StatusCode::kNotFound) {
        continue;  // dropped from a full spool since it was listed: nothing left to send
      }
      out.last = localError("cannot read report " + std::to_string(seq) +
                            " from the spool: " + body.status().message());
      if (permanentlyUnreadable(body.status())) out.unreadable = seq;
      log.error(out.last.error);
      return out;
    }
    const bool parked = slow != nullptr && slow->parked(seq);
    PostResult r = parked ? transport.postReportPatiently(*body, slow->patientTimeout())
                          : transport.postReport(*body);
    if (r.kind != PostResult::Kind::kAccepted) {
      log.info("report " + std::to_string(seq) + " not delivered (" + PostKindName(r.kind) +
               "): " + r.error);
      if (slow != nullptr && r.timed_out && slow->noteTimeout(seq) == SlowReports::kParkAfter) {
        // It is parked from now on; the reports behind it need not wait for it.
        log.warning("report " + std::to_string(seq) + " timed out " +
                    std::to_string(SlowReports::kParkAfter) +
                    " times in a row (a slow uplink?); the reports behind it go first from now "
                    "on, and it is tried after them with a timeout of " +
                    std::to_string(slow->patientTimeout().count() / 1000) +
                    " s; it stays in the spool until the server has it");
        parked_now = seq;
        parked_failure = std::move(r);
        continue;
      }
      out.last = std::move(r);
      out.failed_sequence = seq;
      return out;
    }
    // Acknowledged: stored, or stored before (the server keeps each report_id once). Only now
    // may it leave the spool; if removing fails it is sent again later and stored once anyway.
    if (slow != nullptr) slow->clear(seq);
    out.last_sequence = seq;
    out.last_delivered = std::move(body).value();
    if (!r.fleet_json.empty()) out.fleet_json = r.fleet_json;
    if (!r.server_view_json.empty()) out.server_view_json = r.server_view_json;
    ++out.delivered;
    if (history != nullptr) {
      // What the server lacks goes back into the spool first (durably), while the history still
      // holds every copy; a crash before the report leaves the spool sends it again, and the
      // server's answer to the duplicate reveals the same loss again.
      if (r.previous_sequence) {
        auto back = history->requeue(spool, *r.previous_sequence, seq);
        if (!back.ok()) {
          // Report `seq` stays spooled: sent again, the server's answer says the same again.
          out.last = localError(
              "the server lacks reports below " + std::to_string(seq) +
              " but putting them back into the spool failed: " + back.status().message());
          log.error(out.last.error);
          return out;
        }
        if (back->lacked_to != 0) {
          std::string line = "the server lacked reports " + std::to_string(back->lacked_from) +
                             ".." + std::to_string(back->lacked_to) +
                             " (restored from a backup?); re-sending " +
                             std::to_string(back->requeued) + " of them";
          if (back->not_kept > 0) {
            line += "; " + std::to_string(back->not_kept) +
                    " cannot be re-sent (no longer in the sent history, or never acknowledged: "
                    "dropped from a full spool or refused)";
          }
          log.warning(line);
          out.requeued += back->requeued;
        }
      }
      // Then the copy, before the report leaves the spool: a crash between the two leaves it in
      // both (sent again, stored once). A copy that cannot be written only costs the chance to
      // re-send it after a restore.
      if (Status kept = history->keep(seq, out.last_delivered); !kept.ok() && !said_not_kept) {
        said_not_kept = true;
        log.warning(kept.message() + " (delivery goes on; said once per run)");
      }
    }
    out.last = std::move(r);
    if (Status removed = spool.remove(seq); !removed.ok()) {
      out.last = localError(
          "report " + std::to_string(seq) +
          " was delivered but could not be removed from the spool: " + removed.message());
      log.error(out.last.error);
      return out;
    }
  }
  out.emptied = spool.depth() == 0;
  if (!out.emptied && parked_now != 0) {
    // The report parked in this run is still waiting: a failure (the daemon backs off).
    out.last = std::move(parked_failure);
    out.failed_sequence = parked_now;
    return out;
  }
  out.last.kind = PostResult::Kind::kAccepted;
  out.last.error.clear();
  return out;
}

}  // namespace hearth::agent
