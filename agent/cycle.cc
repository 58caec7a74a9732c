// One agent cycle, `hearth-agent run --once` (see cycle.h).
#include "hearth/agent/cycle.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "hearth/agent/enrollment.h"
#include "hearth/agent/preseed.h"
#include "hearth/agent/runtime.h"
#include "hearth/agent/state_dir.h"
#include "hearth/fd.h"
#include "hearth/log.h"

namespace hearth::agent {

namespace {

// Waits a random time up to start_jitter (HEARTH_START_JITTER overrides it; bounded to 300 s).
void startJitter(const AgentConfig& config, Logger& log) {
  std::chrono::seconds bound = config.start_jitter;
  if (const char* env = std::getenv("HEARTH_START_JITTER"); env != nullptr) {
    auto d = ParseDuration(env);
    if (d.ok()) bound = std::min<std::chrono::seconds>(*d, std::chrono::seconds(300));
  }
  if (bound.count() <= 0) return;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> pick(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(bound).count());
  const std::chrono::milliseconds wait(pick(rng));
  log.debug("waiting " + std::to_string(wait.count()) +
            " ms before the first request (start_jitter)");
  std::this_thread::sleep_for(wait);
}

}  // namespace

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
  // 0. Many PCs started at the same instant spread out before their first request.
  startJitter(o.config, log);
  // 1. The policy: the server's newest, verified; else the last good one; else the local file.
  // Its answer also tells the server's clock (Date), against which renewal is judged.
  Status policy = rt->refreshPolicy();
  // 1b. The certificate: renewed at half of its life (failures are logged; the cycle goes on).
  (void)rt->maybeRenewCertificate();
  HEARTH_RETURN_IF_ERROR(policy);
  // 2. Check, filter, spool (durably, before any sending). --once always spools a report.
  HEARTH_ASSIGN_OR_RETURN(json::Value local, rt->runChecks({}));
  CycleOutcome out;
  if (!rt->retired()) {
    // A report that cannot be spooled (disk full) is logged; the reports already spooled are
    // still delivered, which frees space (docs/agent-spool.md "A full disk").
    auto seq = rt->spoolIfNeeded(local, true);
    out.checked = true;
    out.sequence = seq.ok() ? seq->value_or(0) : 0;
  }
  // 3. Deliver the whole spool in sequence order; stop at the first failure.
  DeliveryOutcome d = rt->deliver();
  out.delivered = d.delivered;
  out.spool_depth = rt->spoolDepth();
  if (!d.emptied) out.delivery_error = d.last.error;
  out.retired = rt->retired();
  // 4. Status for the person at the PC (names kept: this stays local). Unwritable (disk full),
  // it is logged: the run did its work.
  (void)rt->writeStatus();
  return out;
}

}  // namespace hearth::agent
