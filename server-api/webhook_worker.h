// The webhook delivery worker of `serve`: a thread that claims a run of due deliveries of each
// webhook from the outbox (Store::claimDeliveryRuns: the first pending one and those behind it)
// every kPollEvery, sends the runs of different webhooks side by side, each run in order on a
// connection kept open for its receiver, and records each run's attempts in one transaction
// (delivered; or pending again after the retry schedule; or failed). A run stops at its first
// failure: a webhook's later deliveries wait behind it, so each receiver gets its events in
// order. After a round in which a run came back full (a backlog) the next one starts at once.
// Delivered or failed rows older than the history retention go hourly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hearth/log.h"
#include "hearth/server/store.h"
#include "hearth/server/webhooks.h"

namespace hearth::server {

// Renders `due` in its webhook's format, signs and sends it with `client`; with `retry`, a
// failure gets its next attempt from RetrySchedule, else it is final (a test). A failure is
// logged on `log`. The attempt, not recorded.
DeliveryAttempt AttemptDelivery(WebhookClient& client, const DueDelivery& due, bool retry,
                                Logger& log);

// AttemptDelivery on a connection of its own, then records the attempt; a store that cannot
// record it is logged on `log`. The attempt as recorded.
DeliveryAttempt DeliverOnce(Store& store, const WebhookSenderOptions& options,
                            const DueDelivery& due, bool retry, Logger& log);

class WebhookWorker {
 public:
  static constexpr std::chrono::milliseconds kPollEvery{500};
  static constexpr int kBatch = 16;  // webhooks served per round
  static constexpr int kRun = 128;   // deliveries of one webhook per round, at most

  // Starts the thread. `store` and `log` must outlive it.
  WebhookWorker(Store& store, Logger& log, WebhookSenderOptions options,
                std::chrono::seconds retention);
  ~WebhookWorker();
  WebhookWorker(const WebhookWorker&) = delete;
  WebhookWorker& operator=(const WebhookWorker&) = delete;

  // Returns once the thread ended; deliveries under way finish first (at most their timeout).
  void stop();

 private:
  struct Client {
    std::unique_ptr<WebhookClient> client;
    std::chrono::steady_clock::time_point used;
  };

  void loop();
  // One round; whether a webhook may have more due at once (its run came back full).
  bool round();
  // Sends `run` (one webhook's, in order) until the first failure or until a next attempt
  // could outlast the claim (`claimed_until`), then records the attempts and releases the rest.
  void sendRun(WebhookClient& client, const std::vector<DueDelivery>& run, TimePoint claimed_until);

  Store& store_;
  Logger& log_;
  WebhookSenderOptions options_;
  std::chrono::seconds retention_;
  std::map<int64_t, Client> clients_;  // by webhook id; only the worker thread touches it
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hearth::server
