// The server's Prometheus counters and ingest-latency histogram, rendered for GET /metrics. No
// per-device labels. Thread-safe.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hearth::server {

class Metrics {
 public:
  static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1.0,  2.5};
  // A request answered on `listener` ("devices" or "admin") with HTTP `status`.
  void request(const std::string& listener, int status);
  // A report committed (or found to be a duplicate) `seconds` after it arrived.
  void ingest(double seconds, bool stored);
  // A connection the worker pool could not take, answered 503 by the overflow responder.
  void overloaded(const std::string& listener);
  // A connection closed unanswered: even the overflow responder was saturated.
  void rejected(const std::string& listener);
  // A connection closed before its client spoke TLS (listener.h): `reason` is
  // "handshake_timeout", "address_limit" or "gate_full".
  void unspoken(const std::string& listener, const std::string& reason);
  // An enrolment answered 429; `scope` is the bucket that was empty ("server" or "address").
  void enrollRateLimited(const std::string& scope);
  // Reports a device said its spool dropped.
  void reportsDropped(int64_t n);
  // The exposition text; `devices` are the device counts by status (Store::deviceCounts).
  std::string render(const std::vector<std::pair<std::string, int64_t>>& devices);

 private:
  std::mutex mu_;
  std::map<std::string, int64_t> requests_;
  int64_t errors_ = 0;
  int64_t buckets_[std::size(kBuckets)] = {};
  int64_t ingest_count_ = 0;
  double ingest_sum_ = 0;
  int64_t stored_ = 0;
  int64_t duplicates_ = 0;
  std::map<std::string, int64_t> overloaded_, rejected_, rate_limited_;
  std::map<std::pair<std::string, std::string>, int64_t> unspoken_;
  int64_t reports_dropped_ = 0;
};

}  // namespace hearth::server
