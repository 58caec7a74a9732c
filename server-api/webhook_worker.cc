// The webhook delivery worker and one delivery's attempt.
#include "webhook_worker.h"

#include <atomic>
#include <random>
#include <string>
#include <vector>

#include <curl/curl.h>

namespace hearth::server {

namespace {

double jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.0)(rng);
}

}  // namespace

DeliveryAttempt DeliverOnce(Store& store, const WebhookSenderOptions& options,
                            const DueDelivery& due, bool retry, Logger& log) {
  DeliveryAttempt attempt;
  if (due.event.isNull()) {
    // Retention removed the feed event before it could be delivered.
    attempt.at = std::chrono::system_clock::now();
    attempt.error = "the event is no longer stored (retention)";
  } else {
    std::string body = WebhookBody(due.webhook.format, due.event);
    attempt = SendWebhook(options, due.webhook.url, due.webhook.secret, due.delivery.id, body);
    if (!attempt.delivered && retry) {
      attempt.retry_at = RetrySchedule::next(due.delivery.attempts + 1, due.delivery.created_at,
                                             attempt.at, jitter());
    }
  }
  std::string what = "webhook " + std::to_string(due.webhook.id) + " (" +
                     WebhookEndpoint(due.webhook.url) + ") delivery " +
                     std::to_string(due.delivery.id) + " (" + due.delivery.event + ")";
  if (!attempt.delivered) {
    std::string next =
        attempt.retry_at ? "tried again at " + formatRfc3339(*attempt.retry_at) : "given up";
    log.warning(what + " failed: " + attempt.error.value_or("?") + "; " + next);
  }
  if (Status s = store.recordDeliveryAttempt(due.delivery.id, attempt); !s.ok()) {
    log.error(what + ": the attempt cannot be recorded: " + s.message());
  }
  return attempt;
}

WebhookWorker::WebhookWorker(Store& store, Logger& log, WebhookSenderOptions options,
                             std::chrono::seconds retention)
    : store_(store), log_(log), options_(std::move(options)), retention_(retention) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  thread_ = std::thread([this] { loop(); });
}

WebhookWorker::~WebhookWorker() { stop(); }

void WebhookWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookWorker::loop() {
  // The delivery log's retention runs hourly, the first time an hour after start (not at start,
  // where the staleness and retention passes already take the writer).
  auto last_prune = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    bool busy = round();
    if (std::chrono::steady_clock::now() - last_prune > std::chrono::hours(1)) {
      last_prune = std::chrono::steady_clock::now();
      auto pruned = store_.pruneDeliveries(std::chrono::system_clock::now() - retention_);
      if (!pruned.ok()) log_.error("webhook delivery log retention: " + pruned.status().message());
    }
    lock.lock();
    // After a round that delivered something, the next deliveries go at once (a backlog drains
    // at the receivers' pace, not one per poll); otherwise wait.
    if (!busy) cv_.wait_for(lock, kPollEvery, [&] { return stopping_; });
  }
}

// One round: the due head of each webhook (up to kBatch), each webhook on its own thread, so a
// slow receiver holds up only its own events. Whether anything was delivered.
bool WebhookWorker::round() {
  // Claimed for longer than an attempt can take: no second sender takes it meanwhile.
  auto claim_for = options_.timeout + std::chrono::seconds(10);
  auto due = store_.claimDueDeliveries(std::chrono::system_clock::now(), claim_for, kBatch);
  if (!due.ok()) {
    log_.error("webhooks: " + due.status().message() + " (tried again shortly)");
    return false;
  }
  std::atomic<bool> delivered{false};
  std::vector<std::thread> senders;
  senders.reserve(due->size());
  for (const auto& d : *due) {
    senders.emplace_back([this, &d, &delivered] {
      if (DeliverOnce(store_, options_, d, /*retry=*/true, log_).delivered) delivered = true;
    });
  }
  for (auto& t : senders) t.join();
  return delivered;
}

}  // namespace hearth::server
