// The webhook delivery worker of `serve`: a thread that claims the first due delivery of each
// webhook from the outbox (Store::claimDueDeliveries) every kPollEvery, sends those of different
// webhooks side by side, and records each attempt (delivered; or pending again after the retry
// schedule; or failed); after a round that delivered something the next one starts at once. A
// webhook's later deliveries wait behind its first, so each receiver gets its events in order.
// Delivered or failed rows older than the history retention go hourly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "hearth/log.h"
#include "hearth/server/store.h"
#include "hearth/server/webhooks.h"

namespace hearth::server {

// Sends `due` (rendered in its webhook's format, signed) and records the attempt; with `retry`,
// a failure is scheduled again by RetrySchedule, else it is final (a test). The attempt as
// recorded; a store that cannot record it is logged on `log`.
DeliveryAttempt DeliverOnce(Store& store, const WebhookSenderOptions& options,
                            const DueDelivery& due, bool retry, Logger& log);

class WebhookWorker {
 public:
  static constexpr std::chrono::milliseconds kPollEvery{500};
  static constexpr int kBatch = 16;  // webhooks served per round

  // Starts the thread. `store` and `log` must outlive it.
  WebhookWorker(Store& store, Logger& log, WebhookSenderOptions options,
                std::chrono::seconds retention);
  ~WebhookWorker();
  WebhookWorker(const WebhookWorker&) = delete;
  WebhookWorker& operator=(const WebhookWorker&) = delete;

  // Returns once the thread ended; deliveries under way finish first (at most their timeout).
  void stop();

 private:
  void loop();
  bool round();

  Store& store_;
  Logger& log_;
  WebhookSenderOptions options_;
  std::chrono::seconds retention_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hearth::server
