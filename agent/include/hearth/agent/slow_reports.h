// Reports whose upload keeps timing out on a link that is up but too slow for them (a slow
// uplink), so that one report does not hold every report behind it for ever. Kept in
// state_dir/slow-reports.json ({"timeouts": {"17": 2}}) across runs; see docs/agent-delivery.md
// "Slow uplinks".
//
// After kParkAfter timeouts in a row of the same report it is *parked*: delivery sends the
// reports behind it first and then tries the parked ones, each with the longer patient timeout.
// A parked report stays in the spool until the server acknowledges it (it is never dropped for
// being slow); an acknowledgement ends its count. Single writer, like the spool.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth::agent {

class SlowReports {
 public:
  static constexpr int kParkAfter = 3;

  // `path` is read now (missing or unreadable: no counts); `patient_timeout` is the total
  // timeout for a parked report's upload.
  SlowReports(std::string path, std::chrono::milliseconds patient_timeout);

  int timeouts(int64_t sequence) const;
  bool parked(int64_t sequence) const { return timeouts(sequence) >= kParkAfter; }
  std::chrono::milliseconds patientTimeout() const { return patient_timeout_; }
  // One more timeout of `sequence`; returns its count.
  int noteTimeout(int64_t sequence);
  // Acknowledged (or gone): its count ends.
  void clear(int64_t sequence);
  // Forgets every count but those of `spooled` (reports that left the spool some other way).
  void keepOnly(const std::vector<int64_t>& spooled);
  // Writes the file durably when a count changed since it was read or saved (removes it when no
  // count is left). The caller logs a failure: the counts stay in memory.
  Status save();

 private:
  std::string path_;
  std::chrono::milliseconds patient_timeout_;
  std::map<int64_t, int> timeouts_;
  bool changed_ = false;
};

}  // namespace hearth::agent
