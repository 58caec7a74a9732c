// The upkeep `hearth-server serve` does in the background while it serves: staleness (a `stale`
// feed event when a device falls silent for longer than --stale-after; checked every minute) and
// retention (Store::prune at start and then every prune_every, in batches so ingest goes on).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "hearth/log.h"
#include "hearth/server/serve.h"
#include "hearth/server/store.h"

namespace hearth::server {

// Starts its two threads when made; stop() (or destruction) wakes and joins them. `store` and
// `log` must outlive it.
class MaintenanceThreads {
 public:
  MaintenanceThreads(Store& store, Logger& log, const ServeOptions& options);
  ~MaintenanceThreads();
  MaintenanceThreads(const MaintenanceThreads&) = delete;
  MaintenanceThreads& operator=(const MaintenanceThreads&) = delete;

  // Returns once both threads have ended; a check or prune under way finishes first.
  void stop();

 private:
  void markStaleLoop();
  void pruneLoop();

  Store& store_;
  Logger& log_;
  std::chrono::seconds stale_after_;
  std::chrono::seconds history_retention_;
  std::chrono::seconds retired_retention_;
  std::chrono::seconds prune_every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread stale_thread_;
  std::thread prune_thread_;
};

}  // namespace hearth::server
