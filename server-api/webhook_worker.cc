// The webhook delivery worker and one delivery's attempt.
#include "webhook_worker.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <curl/curl.h>

namespace hearth::server {

namespace {

double jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.0)(rng);
}

// For the log: never the URL (it may be a credential), only its endpoint.
std::string describe(const DueDelivery& due) {
  return "webhook " + std::to_string(due.webhook.id) + " (" + WebhookEndpoint(due.webhook.url) +
         ") delivery " + std::to_string(due.delivery.id) + " (" + due.delivery.event + ")";
}

}  // namespace

DeliveryAttempt AttemptDelivery(WebhookClient& client, const DueDelivery& due, bool retry,
                                Logger& log) {
  DeliveryAttempt attempt;
  if (due.event.isNull()) {
    // Retention removed the feed event before it could be delivered.
    attempt.at = std::chrono::system_clock::now();
    attempt.error = "the event is no longer stored (retention)";
  } else {
    std::string body = WebhookBody(due.webhook.format, due.event);
    attempt = client.send(due.webhook.url, due.webhook.secret, due.delivery.id, body);
    if (!attempt.delivered && retry) {
      attempt.retry_at = RetrySchedule::next(due.delivery.attempts + 1, due.delivery.created_at,
                                             attempt.at, jitter());
    }
  }
  if (!attempt.delivered) {
    std::string next =
        attempt.retry_at ? "tried again at " + formatRfc3339(*attempt.retry_at) : "given up";
    log.warning(describe(due) + " failed: " + attempt.error.value_or("?") + "; " + next);
  }
  return attempt;
}

DeliveryAttempt DeliverOnce(Store& store, const WebhookSenderOptions& options,
                            const DueDelivery& due, bool retry, Logger& log) {
  WebhookClient client(options);
  DeliveryAttempt attempt = AttemptDelivery(client, due, retry, log);
  if (Status s = store.recordDeliveryAttempt(due.delivery.id, attempt); !s.ok()) {
    log.error(describe(due) + ": the attempt cannot be recorded: " + s.message());
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
    bool more = round();
    if (std::chrono::steady_clock::now() - last_prune > std::chrono::hours(1)) {
      last_prune = std::chrono::steady_clock::now();
      // One server at a time (Store::runExclusive); the deliveries themselves are claimed per
      // row (Store::claimDeliveryRuns), so every server's worker sends.
      StatusOr<int64_t> pruned = int64_t{0};
      auto ran = store_.runExclusive("webhook-log-retention", [&] {
        pruned = store_.pruneDeliveries(std::chrono::system_clock::now() - retention_);
      });
      if (!ran.ok()) pruned = ran.status();
      if (!pruned.ok()) log_.error("webhook delivery log retention: " + pruned.status().message());
    }
    lock.lock();
    // After a round with a full run, the next one goes at once (a backlog drains at the
    // receivers' pace, not one run per poll); otherwise wait, so that the events of a busy fleet
    // go out in runs, not one claim and one record per event.
    if (!more) cv_.wait_for(lock, kPollEvery, [&] { return stopping_; });
  }
}

// One round: a run of due deliveries of each webhook (up to kBatch webhooks), each webhook on
// its own thread, so a slow receiver holds up only its own events.
bool WebhookWorker::round() {
  // Claimed for longer than an attempt can take: no second sender takes it meanwhile. A run
  // sends no attempt that could outlast the claim (sendRun).
  auto claim_for = options_.timeout + std::chrono::seconds(10);
  TimePoint now = std::chrono::system_clock::now();
  auto due = store_.claimDeliveryRuns(now, claim_for, kBatch, kRun);
  if (!due.ok()) {
    log_.error("webhooks: " + due.status().message() + " (tried again shortly)");
    return false;
  }
  // The claimed deliveries come grouped by webhook, each run in order.
  std::vector<std::vector<DueDelivery>> runs;
  for (auto& d : *due) {
    if (runs.empty() || runs.back().front().webhook.id != d.webhook.id) runs.emplace_back();
    runs.back().push_back(std::move(d));
  }
  auto steady = std::chrono::steady_clock::now();
  std::vector<WebhookClient*> clients;
  bool full = false;
  for (const auto& run : runs) {
    Client& c = clients_[run.front().webhook.id];
    if (!c.client) c.client = std::make_unique<WebhookClient>(options_);
    c.used = steady;
    clients.push_back(c.client.get());
    full = full || static_cast<int>(run.size()) == kRun;
  }
  // Connections of webhooks idle for a while (or removed) are closed.
  std::erase_if(clients_, [&](const auto& entry) {
    return steady - entry.second.used > std::chrono::minutes(1);
  });
  std::vector<std::thread> senders;
  senders.reserve(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    senders.emplace_back([this, &runs, &clients, i, until = now + claim_for] {
      sendRun(*clients[i], runs[i], until);
    });
  }
  for (auto& t : senders) t.join();
  return full;
}

void WebhookWorker::sendRun(WebhookClient& client, const std::vector<DueDelivery>& run,
                            TimePoint claimed_until) {
  std::vector<std::pair<int64_t, DeliveryAttempt>> attempts;
  std::vector<int64_t> released;
  for (const auto& d : run) {
    bool stop =
        !attempts.empty() && (!attempts.back().second.delivered ||
                              std::chrono::system_clock::now() + options_.timeout > claimed_until);
    if (stop) {
      released.push_back(d.delivery.id);  // waits behind the failure, or for the next round
      continue;
    }
    attempts.emplace_back(d.delivery.id, AttemptDelivery(client, d, /*retry=*/true, log_));
  }
  if (Status s = store_.recordDeliveryAttempts(attempts, released); !s.ok()) {
    log_.error("webhook " + std::to_string(run.front().webhook.id) + ": " +
               std::to_string(attempts.size()) +
               " delivery attempts cannot be recorded: " + s.message());
  }
}

}  // namespace hearth::server
