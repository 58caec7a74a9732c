// The check run on Windows (check_process.h): there is no fork, so the checks run in the agent's
// own process, each under its timeout in a thread of its own. A check that does not finish is
// reported unknown and its thread is left behind (detached) until the process ends.
#include "hearth/agent/check_process.h"

namespace hearth::agent {

StatusOr<json::Value> RunChecksInChild(const Policy& policy, const CheckProcessOptions& o,
                                       Logger& log) {
  if (o.make_view) {
    // Leaked on purpose, as on Linux: a timed-out check's thread may still use it.
    return RunChecksWithTimeouts(*o.make_view().release(), policy, o, log);
  }
  // One live view for the life of the process (SystemView is safe for concurrent use): the
  // service runs a cycle every few minutes and must not leak one per cycle.
  static SystemView* live = NewLiveSystemView().release();
  return RunChecksWithTimeouts(*live, policy, o, log);
}

}  // namespace hearth::agent
