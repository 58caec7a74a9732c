// Ingestor: the queue and the writer thread of the group commit.
#include "ingestor.h"

#include <signal.h>
#include <utility>
#include <vector>

namespace hearth::server {

Ingestor::Ingestor(Store& store) : store_(store), thread_([this] { loop(); }) {}

Ingestor::~Ingestor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

StatusOr<IngestResult> Ingestor::submit(NewReport report) {
  std::promise<StatusOr<IngestResult>> promise;
  auto future = promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return UnavailableError("server is stopping");
    if (queue_.size() >= kMaxQueue) return ResourceExhaustedError("ingest queue is full");
    queue_.push_back(Item{std::move(report), std::move(promise)});
  }
  cv_.notify_one();
  return future.get();
}

void Ingestor::loop() {
  // This thread must never take process-directed signals (the main thread sigwaits).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  while (true) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<NewReport> reports;
    reports.reserve(batch.size());
    for (auto& item : batch) reports.push_back(item.report);
    auto outcomes = store_.ingestReports(reports);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (outcomes.ok()) {
        batch[i].promise.set_value((*outcomes)[i]);
      } else {
        batch[i].promise.set_value(outcomes.status());
      }
    }
  }
}

}  // namespace hearth::server
