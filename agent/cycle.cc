// One agent cycle, `hearth-agent run --once` (see cycle.h).
#include "hearth/agent/cycle.h"

#include "hearth/agent/enrollment.h"
#include "hearth/agent/preseed.h"
#include "hearth/agent/runtime.h"
#include "hearth/agent/state_dir.h"
#include "hearth/fd.h"
#include "hearth/log.h"

namespace hearth::agent {

StatusOr<CycleOutcome> RunCycle(const CycleOptions& o, std::ostream& log_stream) {
  Logger log(log_stream, o.config.log_level, LogFormat::Terminal("hearth-agent"));
  if (!LoadEnrollment(o.state_dir).ok()) {
    // A company preseed file enrols this PC on its first cycle, as the daemon does.
    auto preseed = EnrollFromPreseed(o.config.enroll_file, o.state_dir, o.config.proxy,
                                     o.config.service_user, log);
    if (!preseed.ok()) return preseed.status();
    HEARTH_RETURN_IF_ERROR(LoadEnrollment(o.state_dir).status());
  }
  HEARTH_ASSIGN_OR_RETURN(int lock, LockStateDir(o.state_dir));
  Fd held(lock);
  RuntimeOptions ro;
  ro.state_dir = o.state_dir;
  ro.config = o.config;
  ro.isolate_checks = o.isolate_checks;
  HEARTH_ASSIGN_OR_RETURN(auto rt, AgentRuntime::open(ro, log));
  if (rt->retired()) {
    return FailedPreconditionError(
        "this PC was retired by the company's server; nothing is sent until `hearth-agent "
        "enroll` is run again");
  }
  // 0. The certificate: renewed at half of its life (failures are logged; the cycle goes on).
  (void)rt->maybeRenewCertificate();
  // 1. The policy: the server's newest, verified; else the last good one; else the local file.
  HEARTH_RETURN_IF_ERROR(rt->refreshPolicy());
  // 2. Check, filter, spool (durably, before any sending). --once always spools a report.
  HEARTH_ASSIGN_OR_RETURN(json::Value local, rt->runChecks({}));
  CycleOutcome out;
  if (!rt->retired()) {
    HEARTH_ASSIGN_OR_RETURN(auto seq, rt->spoolIfNeeded(local, true));
    out.checked = true;
    out.sequence = seq.value_or(0);
  }
  // 3. Deliver the whole spool in sequence order; stop at the first failure.
  DeliveryOutcome d = rt->deliver();
  out.delivered = d.delivered;
  out.spool_depth = rt->spoolDepth();
  if (!d.emptied) out.delivery_error = d.last.error;
  out.retired = rt->retired();
  // 4. Status for the person at the PC (names kept: this stays local).
  HEARTH_RETURN_IF_ERROR(rt->writeStatus());
  return out;
}

}  // namespace hearth::agent
