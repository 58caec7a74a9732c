// Metrics: the counters and their Prometheus exposition text.
#include "metrics.h"

#include <sstream>

namespace hearth::server {

void Metrics::request(const std::string& listener, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[listener + "\",code=\"" + std::to_string(status / 100) + "xx"];
  if (status >= 500) ++errors_;
}

void Metrics::ingest(double seconds, bool stored) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < std::size(kBuckets); ++i) {
    if (seconds <= kBuckets[i]) ++buckets_[i];
  }
  ++ingest_count_;
  ingest_sum_ += seconds;
  ++(stored ? stored_ : duplicates_);
}

void Metrics::overloaded(const std::string& listener) {
  std::lock_guard<std::mutex> lock(mu_);
  ++overloaded_[listener];
}

void Metrics::unspoken(const std::string& listener, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++unspoken_[{listener, reason}];
}

void Metrics::rejected(const std::string& listener) {
  std::lock_guard<std::mutex> lock(mu_);
  ++rejected_[listener];
}

void Metrics::enrollRateLimited(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  ++rate_limited_[scope];
}

void Metrics::reportsDropped(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  reports_dropped_ += n;
}

std::string Metrics::render(const std::vector<std::pair<std::string, int64_t>>& devices) {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream o;
  o << "# HELP hearth_http_requests_total HTTP requests handled, by listener and status class.\n"
       "# TYPE hearth_http_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    o << "hearth_http_requests_total{listener=\"" << k << "\"} " << v << "\n";
  }
  o << "# HELP hearth_http_errors_total Requests answered with a 5xx status.\n"
       "# TYPE hearth_http_errors_total counter\nhearth_http_errors_total "
    << errors_ << "\n";
  o << "# HELP hearth_reports_total Reports received, by outcome.\n"
       "# TYPE hearth_reports_total counter\n"
       "hearth_reports_total{outcome=\"stored\"} "
    << stored_ << "\nhearth_reports_total{outcome=\"duplicate\"} " << duplicates_ << "\n";
  o << "# HELP hearth_ingest_latency_seconds Time from a report's arrival to its durable "
       "commit.\n# TYPE hearth_ingest_latency_seconds histogram\n";
  for (size_t i = 0; i < std::size(kBuckets); ++i) {
    o << "hearth_ingest_latency_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << buckets_[i]
      << "\n";
  }
  o << "hearth_ingest_latency_seconds_bucket{le=\"+Inf\"} " << ingest_count_ << "\n"
    << "hearth_ingest_latency_seconds_sum " << ingest_sum_ << "\n"
    << "hearth_ingest_latency_seconds_count " << ingest_count_ << "\n";
  auto perListener = [&](const char* name, const char* help,
                         const std::map<std::string, int64_t>& values) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n";
    for (const char* l : {"devices", "admin"}) {
      auto it = values.find(l);
      o << name << "{listener=\"" << l << "\"} " << (it == values.end() ? 0 : it->second) << "\n";
    }
  };
  perListener("hearth_connections_overloaded_total",
              "Connections answered 503 because every worker thread was busy and the queue full.",
              overloaded_);
  perListener("hearth_connections_rejected_total",
              "Connections closed unanswered because even the overload responder was saturated.",
              rejected_);
  o << "# HELP hearth_connections_unspoken_total Connections closed before their client sent a "
       "TLS ClientHello, by reason (handshake_timeout, address_limit, gate_full).\n"
       "# TYPE hearth_connections_unspoken_total counter\n";
  for (const char* l : {"devices", "admin"}) {
    for (const char* reason : {"handshake_timeout", "address_limit", "gate_full"}) {
      auto it = unspoken_.find({l, reason});
      o << "hearth_connections_unspoken_total{listener=\"" << l << "\",reason=\"" << reason
        << "\"} " << (it == unspoken_.end() ? 0 : it->second) << "\n";
    }
  }
  o << "# HELP hearth_enroll_rate_limited_total Enrolments answered 429, by the bucket that "
       "was empty.\n# TYPE hearth_enroll_rate_limited_total counter\n";
  for (const char* scope : {"server", "address"}) {
    auto it = rate_limited_.find(scope);
    o << "hearth_enroll_rate_limited_total{scope=\"" << scope << "\"} "
      << (it == rate_limited_.end() ? 0 : it->second) << "\n";
  }
  o << "# HELP hearth_reports_dropped_total Reports that devices said their spool dropped "
       "(envelope field \"dropped\").\n# TYPE hearth_reports_dropped_total counter\n"
       "hearth_reports_dropped_total "
    << reports_dropped_ << "\n";
  o << "# HELP hearth_devices Devices by compliance status.\n# TYPE hearth_devices gauge\n";
  std::map<std::string, int64_t> by_status = {
      {"compliant", 0}, {"noncompliant", 0}, {"unknown", 0}, {"stale", 0}, {"pending", 0}};
  for (const auto& [s, n] : devices) by_status[s] = n;
  for (const auto& [s, n] : by_status) {
    o << "hearth_devices{status=\"" << s << "\"} " << n << "\n";
  }
  return o.str();
}

}  // namespace hearth::server
