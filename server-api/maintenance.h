// The upkeep `hearth-server serve` does in the background while it serves: staleness (a `stale`
// feed event when a device falls silent for longer than --stale-after; checked every minute, with
// certificate expiry: a `certificate_expiring` event per certificate within
// --cert-expiry-warn-days of its end and not renewed; an `exemption_expiring` event per exemption
// within --exemption-expiry-warn-days of its end; the IT console's ended sessions deleted) and
// retention (Store::prune at start and then every prune_every, in batches so ingest goes on) and
// the store's health probe (Store::probe every kProbeEvery: an idle server finds out that its
// database stopped working, or works again, within about kProbeEvery plus the lock wait).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "hearth/log.h"
#include "hearth/server/serve.h"
#include "hearth/server/store.h"

namespace hearth::server {

// Starts its three threads when made; stop() (or destruction) wakes and joins them. `store` and
// `log` must outlive it.
class MaintenanceThreads {
 public:
  static constexpr std::chrono::seconds kProbeEvery{5};

  MaintenanceThreads(Store& store, Logger& log, const ServeOptions& options);
  ~MaintenanceThreads();
  MaintenanceThreads(const MaintenanceThreads&) = delete;
  MaintenanceThreads& operator=(const MaintenanceThreads&) = delete;

  // Returns once the threads have ended; a check or prune under way finishes first.
  void stop();

 private:
  void markStaleLoop();
  // One round of markStaleLoop's jobs (staleness, expiry, deadlines, daily counts, sessions).
  void staleRound();
  void pruneLoop();
  void probeLoop();

  Store& store_;
  Logger& log_;
  std::chrono::seconds stale_after_;
  std::chrono::seconds cert_expiry_warning_;
  std::chrono::seconds exemption_expiry_warning_;
  std::chrono::seconds history_retention_;
  std::chrono::seconds retired_retention_;
  std::chrono::seconds prune_every_;
  std::chrono::seconds console_idle_, console_lifetime_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread stale_thread_;
  std::thread prune_thread_;
  std::thread probe_thread_;
};

}  // namespace hearth::server
