// The staleness (with deadlines and exemptions), retention and health-probe threads of `serve`.
#include "maintenance.h"

#include <string>

namespace hearth::server {

MaintenanceThreads::MaintenanceThreads(Store& store, Logger& log, const ServeOptions& options)
    : store_(store),
      log_(log),
      stale_after_(options.stale_after),
      cert_expiry_warning_(options.cert_expiry_warning),
      exemption_expiry_warning_(options.exemption_expiry_warning),
      history_retention_(options.history_retention),
      retired_retention_(options.retired_retention),
      prune_every_(options.prune_every),
      console_idle_(options.console_idle),
      console_lifetime_(options.console_lifetime),
      stale_thread_([this] { markStaleLoop(); }),
      prune_thread_([this] { pruneLoop(); }),
      probe_thread_([this] { probeLoop(); }) {}

MaintenanceThreads::~MaintenanceThreads() { stop(); }

void MaintenanceThreads::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (stale_thread_.joinable()) stale_thread_.join();
  if (prune_thread_.joinable()) prune_thread_.join();
  if (probe_thread_.joinable()) probe_thread_.join();
}

// Staleness: a feed event when a device falls silent for longer than the window; certificate
// expiry: one when a certificate nears its end without a renewal; deadlines passed and
// exemptions lapsed (Store::expireDeadlines), on the same round.
void MaintenanceThreads::markStaleLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    // One server at a time on a shared database (Store::runExclusive): two rounds at once would
    // each find a silent device without a stale event and both raise one.
    auto ran = store_.runExclusive("staleness", [this] { staleRound(); });
    if (!ran.ok()) {
      log_.error("staleness: " + ran.status().message() + " (tried again in a minute)");
    } else if (!*ran) {
      log_.info("staleness: another server on this database is running it; this one skips a round");
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return stopping_; });
  }
}

void MaintenanceThreads::staleRound() {
  auto marked = store_.markStale(std::chrono::system_clock::now(), stale_after_);
  if (!marked.ok()) {
    log_.error("staleness: " + marked.status().message() + " (tried again in a minute)");
  } else if (*marked > 0) {
    log_.info(std::to_string(*marked) + " device(s) went stale");
  }
  auto expiring =
      store_.markExpiringCertificates(std::chrono::system_clock::now(), cert_expiry_warning_);
  if (!expiring.ok()) {
    log_.error("certificate expiry: " + expiring.status().message() + " (tried again in a minute)");
  } else if (*expiring > 0) {
    log_.warning(std::to_string(*expiring) +
                 " device certificate(s) expire soon without a renewal (certificate_expiring)");
  }
  // Exemptions about to lapse: one exemption_expiring each (before they lapse below).
  auto warned =
      store_.markExpiringExemptions(std::chrono::system_clock::now(), exemption_expiry_warning_);
  if (!warned.ok()) {
    log_.error("exemption expiry: " + warned.status().message() + " (tried again in a minute)");
  } else if (*warned > 0) {
    log_.info(std::to_string(*warned) + " exemption_expiring event(s)");
  }
  // Time passing on the server: deadlines and exemptions that lapsed (issue 14).
  auto passed = store_.expireDeadlines(std::chrono::system_clock::now());
  if (!passed.ok()) {
    log_.error("deadlines: " + passed.status().message() + " (tried again in a minute)");
  } else if (*passed > 0) {
    log_.info(std::to_string(*passed) + " deadline or exemption event(s)");
  }
  // The IT console's sessions that ended unused or too old (console_session.h).
  TimePoint now = std::chrono::system_clock::now();
  // Today's device counts by status, for the console's trend (a day's last count stays).
  if (Status recorded = store_.recordDailyStatus(now, stale_after_); !recorded.ok()) {
    log_.error("daily status counts: " + recorded.message() + " (tried again in a minute)");
  }
  auto ended = store_.pruneSessions(now - console_idle_, now - console_lifetime_);
  if (!ended.ok()) log_.error("console sessions: " + ended.status().message());
}

// Retention: at start and then every prune_every, in batches (ingest goes on in between).
void MaintenanceThreads::pruneLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    PruneOptions p;
    p.now = std::chrono::system_clock::now();
    p.history_window = history_retention_;
    p.retired_window = retired_retention_;
    // A backlog (a first start on a large old database) takes minutes: stopping does not wait
    // for it, and the rest is pruned at the next start.
    p.should_stop = [this] {
      std::lock_guard<std::mutex> stopping(mu_);
      return stopping_;
    };
    // One server at a time (Store::runExclusive): two would delete the same rows at once, each
    // waiting on the other's row locks.
    StatusOr<PruneResult> pruned = PruneResult{};
    auto ran = store_.runExclusive("retention", [&] { pruned = store_.prune(p); });
    if (!ran.ok()) {
      log_.error("retention: " + ran.status().message());
    } else if (!*ran) {
      log_.info("retention: another server on this database is running it; this one skips a round");
    } else if (!pruned.ok()) {
      log_.error("retention: " + pruned.status().message());
    } else if (pruned->reports + pruned->events > 0 || !pruned->retired_devices.empty()) {
      log_.info("retention: deleted " + std::to_string(pruned->reports) + " report(s) and " +
                std::to_string(pruned->events) + " feed event(s) older than the window, and " +
                std::to_string(pruned->retired_devices.size()) +
                " retired device(s) with all their data" +
                (pruned->stopped ? " before stopping (the rest at the next start)" : ""));
    }
    lock.lock();
    cv_.wait_for(lock, prune_every_, [&] { return stopping_; });
  }
}

// The store's health: a probe when nothing else read or wrote lately; the log says when it
// starts failing and when it works again.
void MaintenanceThreads::probeLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  bool was_ok = true;
  while (!stopping_) {
    lock.unlock();
    Status health = store_.probe(2 * kProbeEvery);
    if (was_ok && !health.ok()) log_.error("database: " + health.message());
    if (!was_ok && health.ok()) log_.info("database: reads and writes work again");
    was_ok = health.ok();
    lock.lock();
    cv_.wait_for(lock, kProbeEvery, [&] { return stopping_; });
  }
}

}  // namespace hearth::server
