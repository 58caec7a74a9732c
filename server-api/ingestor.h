// Group commit of reports. Handlers submit a report and wait; one writer thread commits
// everything that is queued in one durable transaction (Store::ingestReports), then answers them
// all. While a commit (fsync) runs, the next batch gathers, so throughput grows with concurrency
// instead of fsyncs per report.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "hearth/server/store.h"

namespace hearth::server {

// Owns its writer thread; destroying it drains the queue (every accepted report is committed)
// and joins the thread. `store` must outlive it. submit() is thread-safe.
class Ingestor {
 public:
  static constexpr size_t kMaxBatch = 512;
  static constexpr size_t kMaxQueue = 4096;

  explicit Ingestor(Store& store);
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Blocks until the report is durably stored (or refused). ResourceExhausted when the queue is
  // full: the caller answers 503 with Retry-After. Unavailable while the server stops.
  StatusOr<IngestResult> submit(NewReport report);

 private:
  struct Item {
    NewReport report;
    std::promise<StatusOr<IngestResult>> promise;
  };

  void loop();

  Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hearth::server
