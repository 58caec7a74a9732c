// `hearth-server serve`: two Poco HTTPS listeners over one Store.
//  - devices (mutual TLS against the device CA; only POST /api/v1/enroll works without a client
//    certificate): enrol, policy, reports. Reports are acknowledged only after a durable commit;
//    concurrent reports share one transaction (group commit, see Ingestor).
//  - IT (TLS with the server certificate, bearer tokens hashed at rest): devices, history, feed,
//    CSV, retire, /healthz, /metrics.
// Poco exceptions are caught in every handler and never escape; every request gets a response.
#include "hearth/server/serve.h"

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <Poco/AutoPtr.h>
#include <Poco/ErrorHandler.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/text.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/server/rate_limit.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPRequestHandler;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using Clock = std::chrono::steady_clock;

constexpr auto kBodyDeadline = std::chrono::seconds(10);
constexpr auto kBodyIdleTimeout = std::chrono::seconds(2);

// One line per event, safe for journald: device-supplied text is JSON-escaped.
class Log {
 public:
  explicit Log(std::ostream& out) : out_(out) {}
  void info(const std::string& line) { write("<6>", line); }
  void warn(const std::string& line) { write("<4>", line); }
  void error(const std::string& line) { write("<3>", line); }

 private:
  void write(const char* prio, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    out_ << prio << "hearth-server: " << line << std::endl;
  }
  std::ostream& out_;
  std::mutex mu_;
};

// Prometheus counters and a latency histogram; no per-device labels.
class Metrics {
 public:
  static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1.0,  2.5};
  void request(const std::string& listener, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_[listener + "\",code=\"" + std::to_string(status / 100) + "xx"];
    if (status >= 500) ++errors_;
  }
  void ingest(double seconds, bool stored) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < std::size(kBuckets); ++i) {
      if (seconds <= kBuckets[i]) ++buckets_[i];
    }
    ++ingest_count_;
    ingest_sum_ += seconds;
    ++(stored ? stored_ : duplicates_);
  }
  // A connection the worker pool could not take, answered 503 by the overflow responder.
  void overloaded(const std::string& listener) {
    std::lock_guard<std::mutex> lock(mu_);
    ++overloaded_[listener];
  }
  // A connection closed unanswered: even the overflow responder was saturated.
  void rejected(const std::string& listener) {
    std::lock_guard<std::mutex> lock(mu_);
    ++rejected_[listener];
  }
  void enrollRateLimited(const std::string& scope) {
    std::lock_guard<std::mutex> lock(mu_);
    ++rate_limited_[scope];
  }
  void reportsDropped(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    reports_dropped_ += n;
  }
  std::string render(const std::vector<std::pair<std::string, int64_t>>& devices) {
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
  int64_t reports_dropped_ = 0;
};

// Group commit: handlers enqueue a report and wait; one writer thread commits everything that is
// queued in one durable transaction, then answers them all. While a commit (fsync) runs, the next
// batch gathers, so throughput grows with concurrency instead of fsyncs per report.
class Ingestor {
 public:
  static constexpr size_t kMaxBatch = 512;
  static constexpr size_t kMaxQueue = 4096;

  explicit Ingestor(Store& store) : store_(store), thread_([this] { loop(); }) {}
  ~Ingestor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Blocks until the report is durably stored (or refused). ResourceExhausted when the queue is
  // full: the caller answers 503 with Retry-After.
  StatusOr<IngestResult> submit(NewReport report) {
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

 private:
  struct Item {
    NewReport report;
    std::promise<StatusOr<IngestResult>> promise;
  };

  void loop() {
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

  Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

struct App {
  ServeOptions options;
  std::unique_ptr<Store> store;
  ServerKeys keys;
  Log* log = nullptr;
  Metrics metrics;
  std::unique_ptr<Ingestor> ingestor;
  std::unique_ptr<RateLimiter> enroll_limiter;
  // What agents should trust next (PolicyAnnouncement), sent with every policy: its bytes
  // (base64) and their signature by the current and by the next policy-signing key. Empty when
  // nothing is announced.
  std::string announcement_b64;
  std::string announcement_sig_current, announcement_sig_next;
  // For the connection gauges in /metrics; set while serving.
  const Poco::Net::TCPServer* device_server = nullptr;
  const Poco::Net::TCPServer* admin_server = nullptr;
};

// --- HTTP helpers ----------------------------------------------------------------------------

// A refusal: the status, a message for people, and a stable machine-readable code (see
// errorCode; the agent stops reporting on "retired").
struct HttpError {
  int status;
  std::string message;
  std::string code = "";    // "" = the default code of the status
  int retry_after = 0;      // seconds, for 429 and 503; 0 = the default (5 s for 503)
  bool close = false;       // close the connection after the answer
  std::string reason = "";  // a finer code beside `code` (enrolment refusals), "" = none
};

// The default code of an error status. Stable: clients match on these, never on messages.
const char* errorCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "timeout";
    case 413:
      return "too_large";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

constexpr int kDefaultRetryAfterSeconds = 5;

// The JSON body of every error: {"error": MESSAGE, "code": CODE, "reason"?: REASON}.
std::string errorBody(const std::string& message, const std::string& code,
                      const std::string& reason = "") {
  json::Value body = json::Value::object();
  body.set("error", message);
  body.set("code", code);
  if (!reason.empty()) body.set("reason", reason);
  return json::write(body);
}

void sendJson(HTTPServerResponse& resp, int status, const json::Value& body) {
  std::string text = json::write(body);
  resp.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
  resp.setContentType("application/json");
  resp.set("Cache-Control", "no-store");
  resp.set("X-Content-Type-Options", "nosniff");
  resp.setContentLength(static_cast<std::streamsize>(text.size()));
  resp.send() << text;
}

void sendError(HTTPServerResponse& resp, const HttpError& e) {
  if (e.status == 503 || e.status == 429) {
    resp.set("Retry-After",
             std::to_string(e.retry_after > 0 ? e.retry_after : kDefaultRetryAfterSeconds));
  }
  if (e.close) resp.setKeepAlive(false);
  std::string text = errorBody(e.message, e.code.empty() ? errorCode(e.status) : e.code, e.reason);
  resp.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(e.status));
  resp.setContentType("application/json");
  resp.set("Cache-Control", "no-store");
  resp.set("X-Content-Type-Options", "nosniff");
  resp.setContentLength(static_cast<std::streamsize>(text.size()));
  resp.send() << text;
}

// Reads the body: at most protocol::kMaxBodyBytes, within kBodyDeadline, and no pause longer
// than kBodyIdleTimeout between its parts. A Content-Length larger than the body that follows can
// only be told from a slow client by waiting: after kBodyIdleTimeout without a byte the answer is
// 408 (DeadlineExceeded) and the connection is closed.
StatusOr<std::string> readBody(HTTPServerRequest& req) {
  auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket();
  Poco::Timespan per_read;
  try {
    per_read = socket.getReceiveTimeout();
    // Poco's TLS read waits the receive timeout twice (SO_RCVTIMEO, then a poll): half of it.
    socket.setReceiveTimeout(Poco::Timespan(
        std::chrono::duration_cast<std::chrono::microseconds>(kBodyIdleTimeout).count() / 2));
  } catch (const Poco::Exception&) {
    return InvalidArgumentError("the connection broke before the body");
  }
  struct RestoreTimeout {
    Poco::Net::StreamSocket& socket;
    Poco::Timespan timeout;
    ~RestoreTimeout() {
      try {
        socket.setReceiveTimeout(timeout);
      } catch (...) {
      }
    }
  } restore{socket, per_read};

  std::istream& in = req.stream();
  in.exceptions(std::ios::badbit);  // the stream rethrows what Poco threw (timeouts)
  auto deadline = Clock::now() + kBodyDeadline;
  try {
    if (req.hasContentLength() &&
        req.getContentLength64() > static_cast<Poco::Int64>(protocol::kMaxBodyBytes)) {
      // Poco has already sent "100 Continue" to a client that asked for it, so the body is on
      // its way: read and discard a moderately oversized body (within the deadline) so the
      // client gets the 413 instead of a reset connection; a huge one is cut off.
      constexpr Poco::Int64 kDrainLimit = 16 << 20;
      if (req.getContentLength64() <= kDrainLimit) {
        char sink[65536];
        while (in && Clock::now() < deadline) in.read(sink, sizeof sink);
      }
      return ResourceExhaustedError("body larger than 1 MiB");
    }
    std::string body;
    char buf[16384];
    while (in) {
      in.read(buf, sizeof buf);
      body.append(buf, static_cast<size_t>(in.gcount()));
      if (body.size() > protocol::kMaxBodyBytes) {
        return ResourceExhaustedError("body larger than 1 MiB");
      }
      if (Clock::now() > deadline) return DeadlineExceededError("request body too slow");
    }
    if (req.hasContentLength() &&
        static_cast<Poco::Int64>(body.size()) != req.getContentLength64()) {
      return InvalidArgumentError("body shorter than its Content-Length");
    }
    return body;
  } catch (const Poco::TimeoutException&) {
    return DeadlineExceededError(
        "no part of the request body arrived for " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kBodyIdleTimeout).count()) +
        " s (is Content-Length larger than the body?)");
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("reading the request body: " + e.displayText());
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("reading the request body: ") + e.what());
  }
}

std::map<std::string, std::string> queryParams(const Poco::URI& uri) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : uri.getQueryParameters()) out[k] = v;
  return out;
}

int parseLimit(const std::map<std::string, std::string>& q, int fallback) {
  auto it = q.find("limit");
  if (it == q.end()) return fallback;
  auto v = text::parseInt(it->second);
  if (!v || *v < 1 || *v > 1000)
    throw HttpError{400, "limit must be a whole number from 1 to 1000"};
  return static_cast<int>(*v);
}

json::Value deviceJson(const DeviceRecord& d, bool full) {
  json::Value o = json::Value::object();
  o.set("device_id", d.device_id);
  o.set("hostname", d.hostname);
  o.set("owner", d.owner ? json::Value(*d.owner) : json::Value());
  o.set("level", d.level);
  o.set("status", d.retired_at         ? std::string("retired")
                  : d.pending_approval ? std::string("pending")
                                       : d.status);
  o.set("pending_approval", d.pending_approval);
  o.set("duplicate_machine_id", d.duplicate_machine_id);
  // Self-attested: the person at the PC is usually root on it. Never "verified".
  o.set("reported_by", "device");
  o.set("last_seen", d.last_seen ? json::Value(formatRfc3339(*d.last_seen)) : json::Value());
  o.set("agent_version", d.agent_version);
  o.set("enrolled_at", formatRfc3339(d.enrolled_at));
  o.set("reports_dropped", d.reports_dropped);
  json::Value checks = json::Value::array();
  if (d.latest_result) {
    if (const json::Value* cs = d.latest_result->find("checks"); cs != nullptr && cs->isArray()) {
      for (const auto& c : cs->asArray()) {
        json::Value e = json::Value::object();
        for (const char* k : {"id", "verdict", "summary"}) {
          if (const json::Value* v = c.find(k)) e.set(k, *v);
        }
        checks.push(std::move(e));
      }
    }
  }
  o.set("checks", std::move(checks));
  if (full) {
    o.set("machine_id", d.machine_id);
    o.set("last_sequence", d.last_sequence);
    o.set("retired_at", d.retired_at ? json::Value(formatRfc3339(*d.retired_at)) : json::Value());
    o.set("result", d.latest_result ? *d.latest_result : json::Value());
    o.set("attestation", "reported by the device");
  }
  return o;
}

// CSV cell: quoted when needed; a cell that a spreadsheet would run as a formula gets a leading
// apostrophe inside quotes.
std::string csvCell(const std::string& s) {
  bool formula = !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                                s[0] == '\t' || s[0] == '\r');
  bool quote = formula || s.find_first_of(",\"\r\n") != std::string::npos;
  std::string body = formula ? "'" + s : s;
  if (!quote) return body;
  std::string out = "\"";
  for (char c : body) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Per-connection deadline. Poco's timeouts are per read, so a client that trickles a byte every
// few seconds (slowloris) would hold a worker thread forever. Every connection must complete a
// request within `deadline` of being accepted or of its previous request; past it, its socket is
// shut down (the blocked read returns and the worker is free). Keep-alive idle time counts too.
class ConnectionWatchdog {
 public:
  explicit ConnectionWatchdog(std::chrono::milliseconds deadline)
      : deadline_(deadline), thread_([this] { loop(); }) {}
  ~ConnectionWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void add(int fd) { touch(fd); }
  void touch(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    since_[fd] = Clock::now();
  }
  void remove(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    since_.erase(fd);
  }
  // Ends every connection now (shutdown).
  void closeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [fd, t] : since_) ::shutdown(fd, SHUT_RDWR);
  }
  int64_t expired() const { return expired_.load(); }

 private:
  void loop() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; });
      auto now = Clock::now();
      for (auto& [fd, t] : since_) {
        if (now - t > deadline_) {
          ::shutdown(fd, SHUT_RDWR);         // thread-safe at the OS level, unlike SSL_shutdown
          t = now + std::chrono::hours(24);  // once
          ++expired_;
        }
      }
    }
  }

  std::chrono::milliseconds deadline_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Clock::time_point> since_;
  bool stop_ = false;
  std::atomic<int64_t> expired_{0};
  std::thread thread_;
};

ConnectionWatchdog* g_watchdog_devices = nullptr;
ConnectionWatchdog* g_watchdog_admin = nullptr;

// Answers the connections the worker pool cannot take. Poco's TCPServerDispatcher closes a new
// connection without a word when every worker thread is busy and its queue is full; a client
// cannot tell that from a crash. OverloadFilter (below) hands those connections here instead:
// a few threads of its own complete the TLS handshake, read the request head, answer 503 with
// Retry-After and a JSON error, and close, all within kDeadline. The acceptor thread only queues
// (no TLS work, no waiting). Bounded itself: when its queue is full too, the connection is
// closed at once and counted in hearth_connections_rejected_total.
class OverflowResponder {
 public:
  static constexpr int kThreads = 2;
  static constexpr size_t kMaxQueue = 32;
  static constexpr auto kDeadline = std::chrono::seconds(2);
  static constexpr size_t kMaxHead = 16 * 1024;
  static constexpr size_t kMaxDrain = 64 * 1024;

  OverflowResponder(std::string listener, Metrics& metrics)
      : listener_(std::move(listener)),
        metrics_(metrics),
        watchdog_(std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline)) {
    for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~OverflowResponder() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      queue_.clear();  // closes them
    }
    cv_.notify_all();
    watchdog_.closeAll();
    for (auto& t : threads_) t.join();
  }
  OverflowResponder(const OverflowResponder&) = delete;
  OverflowResponder& operator=(const OverflowResponder&) = delete;

  // Called by the acceptor thread; never blocks on the client. False when the queue is full.
  bool offer(const Poco::Net::StreamSocket& socket) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ || queue_.size() >= kMaxQueue) return false;
      queue_.emplace_back(socket, Clock::now());
    }
    cv_.notify_one();
    return true;
  }

 private:
  void loop() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    while (true) {
      std::pair<Poco::Net::StreamSocket, Clock::time_point> item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      // Waited too long in the queue: the client has likely given up; do not spend a handshake.
      if (Clock::now() - item.second > kDeadline) {
        metrics_.rejected(listener_);
        continue;
      }
      answer(item.first);
    }
  }

  // How much body follows a request head: its Content-Length, or 0 when it has none, cannot be
  // read, or the client waits for "100 Continue" before sending the body (it never gets one).
  static size_t bodyToDrain(const std::string& head) {
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("\r\nexpect: 100-continue") != std::string::npos) return 0;
    size_t p = lower.find("\r\ncontent-length:");
    if (p == std::string::npos) return 0;
    p += 17;
    while (p < lower.size() && lower[p] == ' ') ++p;
    size_t n = 0;
    while (p < lower.size() && lower[p] >= '0' && lower[p] <= '9' && n <= kMaxDrain) {
      n = n * 10 + static_cast<size_t>(lower[p++] - '0');
    }
    return n;
  }

  void answer(Poco::Net::StreamSocket& raw) {
    int fd = static_cast<int>(raw.impl()->sockfd());
    watchdog_.add(fd);
    bool answered = false;
    try {
      Poco::Net::SecureStreamSocket s(raw);
      Poco::Timespan step(std::chrono::duration_cast<std::chrono::microseconds>(kDeadline).count());
      s.setReceiveTimeout(step);
      s.setSendTimeout(step);
      s.completeHandshake();
      // Read the request (a small body too): closing a socket with unread data resets the
      // connection, and the client might lose the answer with it.
      std::string head;
      char buf[4096];
      size_t end = std::string::npos;
      while (head.size() < kMaxHead && end == std::string::npos) {
        int n = s.receiveBytes(buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
        end = head.find("\r\n\r\n");
      }
      if (end != std::string::npos) {
        size_t have = head.size() - (end + 4);
        size_t want = bodyToDrain(head.substr(0, end + 2));
        size_t left = want > have ? want - have : 0;
        while (left > 0 && left <= kMaxDrain) {
          int n = s.receiveBytes(buf, static_cast<int>(std::min(left, sizeof buf)));
          if (n <= 0) break;
          left -= static_cast<size_t>(n);
        }
      }
      std::string body = errorBody("the server is overloaded; retry later", "overloaded");
      std::string out =
          "HTTP/1.1 503 Service Unavailable\r\n"
          "Content-Type: application/json\r\n"
          "Cache-Control: no-store\r\n"
          "Retry-After: " +
          std::to_string(kDefaultRetryAfterSeconds) +
          "\r\n"
          "Connection: close\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      size_t sent = 0;
      while (sent < out.size()) {
        int n = s.sendBytes(out.data() + sent, static_cast<int>(out.size() - sent));
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      answered = sent == out.size();
      s.shutdown();  // close_notify, then the socket closes
    } catch (...) {
      // Handshake failed, the client went away, or the deadline cut it: nothing more to do.
    }
    watchdog_.remove(fd);
    if (answered) {
      metrics_.overloaded(listener_);
      metrics_.request(listener_, 503);
    } else {
      metrics_.rejected(listener_);
    }
  }

  std::string listener_;
  Metrics& metrics_;
  ConnectionWatchdog watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Poco::Net::StreamSocket, Clock::time_point>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Runs in the acceptor thread for each new connection, before Poco's dispatcher: the dispatcher
// would drop the connection when its queue is full, so such a connection goes to the overflow
// responder instead. Only the acceptor thread adds to the queue, so a queue found below the
// limit here is still below it when the dispatcher looks.
class OverloadFilter final : public Poco::Net::TCPServerConnectionFilter {
 public:
  OverloadFilter(int max_queued, OverflowResponder& overflow, Metrics& metrics,
                 std::string listener)
      : max_queued_(max_queued),
        overflow_(overflow),
        metrics_(metrics),
        listener_(std::move(listener)) {}
  void setServer(const Poco::Net::TCPServer* server) { server_ = server; }
  bool accept(const Poco::Net::StreamSocket& socket) override {
    if (server_ == nullptr || server_->queuedConnections() < max_queued_) return true;
    if (!overflow_.offer(socket)) metrics_.rejected(listener_);
    return false;  // Poco closes its copy; the overflow responder holds its own
  }

 private:
  int max_queued_;
  OverflowResponder& overflow_;
  Metrics& metrics_;
  std::string listener_;
  const Poco::Net::TCPServer* server_ = nullptr;
};

class GuardedConnection final : public Poco::Net::HTTPServerConnection {
 public:
  GuardedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, ConnectionWatchdog& watchdog)
      : HTTPServerConnection(socket, params, factory), watchdog_(watchdog) {}
  void run() override {
    int fd = static_cast<int>(socket().impl()->sockfd());
    watchdog_.add(fd);
    try {
      HTTPServerConnection::run();
    } catch (...) {
      // A connection cut by the watchdog or the peer: nothing to answer any more.
    }
    watchdog_.remove(fd);
  }

 private:
  ConnectionWatchdog& watchdog_;
};

class GuardedConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  GuardedConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                           Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                           ConnectionWatchdog& watchdog)
      : params_(params), factory_(factory), watchdog_(watchdog) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new GuardedConnection(socket, params_, factory_, watchdog_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  ConnectionWatchdog& watchdog_;
};

// Runs a route; every outcome is answered (HttpError with its status, anything else 500 and a
// log line), counted in the metrics, and no exception reaches Poco.
template <typename Route>
void Dispatch(App& app, const std::string& listener, HTTPServerRequest& req,
              HTTPServerResponse& resp, Route&& route) {
  int status = 500;
  try {
    status = route();
  } catch (const HttpError& e) {
    status = e.status;
    if (e.status == 401 && listener == "admin") resp.set("WWW-Authenticate", "Bearer");
    if (!resp.sent()) sendError(resp, e);
  } catch (const Poco::Exception& e) {
    app.log->error(listener + " request " + json::escape(req.getURI()) + ": " + e.displayText());
    if (!resp.sent()) sendError(resp, HttpError{500, "internal error"});
  } catch (const std::exception& e) {
    app.log->error(listener + " request " + json::escape(req.getURI()) + ": " + e.what());
    if (!resp.sent()) sendError(resp, HttpError{500, "internal error"});
  }
  app.metrics.request(listener, status);
  // A completed request gives a keep-alive connection a fresh deadline.
  ConnectionWatchdog* w = listener == "admin" ? g_watchdog_admin : g_watchdog_devices;
  if (w != nullptr) {
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
    w->touch(static_cast<int>(impl.socket().impl()->sockfd()));
  }
}

// --- Device listener -------------------------------------------------------------------------

// A body that could not be read whole leaves the connection out of step (the rest of a body
// that lied about its length would be read as the next request): answer and close.
HttpError bodyError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kResourceExhausted:
      return HttpError{413, s.message(), "too_large", 0, true};
    case StatusCode::kDeadlineExceeded:
      return HttpError{408, s.message(), "timeout", 0, true};
    default:
      return HttpError{400, s.message(), "bad_request", 0, true};
  }
}

class DeviceHandler final : public HTTPRequestHandler {
 public:
  explicit DeviceHandler(App& app) : app_(app) {}

  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    Dispatch(app_, "devices", req, resp, [&] { return route(req, resp); });
  }

 private:
  int route(HTTPServerRequest& req, HTTPServerResponse& resp) {
    Poco::URI uri(req.getURI());
    const std::string& path = uri.getPath();
    const std::string& method = req.getMethod();
    if (path == "/api/v1/enroll") {
      if (method != "POST") throw HttpError{405, "use POST"};
      return enroll(req, resp);
    }
    if (path == "/api/v1/policy") {
      if (method != "GET") throw HttpError{405, "use GET"};
      DeviceRecord d = authenticate(req);
      return policy(d, resp);
    }
    if (path == "/api/v1/reports") {
      if (method != "POST") throw HttpError{405, "use POST"};
      DeviceRecord d = authenticate(req);
      return report(d, req, resp);
    }
    if (path == "/api/v1/renew") {
      if (method != "POST") throw HttpError{405, "use POST"};
      return renew(req, resp);
    }
    throw HttpError{404, "no such endpoint"};
  }

  static Poco::Net::X509Certificate peerCertificate(HTTPServerRequest& req) {
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
    Poco::Net::SecureStreamSocket socket(impl.socket());
    if (!socket.havePeerCertificate()) throw HttpError{401, "client certificate required"};
    return socket.peerCertificate();
  }

  // The device named by the verified client certificate, if enrolled and not retired, and the
  // certificate is its current one or its pending renewed one (which then becomes current: from
  // that request on, the previous certificate is refused). An expired certificate (accepted by
  // the TLS layer only with --reenroll-expired-days) is refused here, except for a renewal
  // (`for_renewal`) within that many days of its expiry.
  DeviceRecord authenticate(HTTPServerRequest& req) {
    return authenticate(peerCertificate(req), false, nullptr);
  }

  DeviceRecord authenticate(const Poco::Net::X509Certificate& peer, bool for_renewal,
                            protocol::CertificateInfo* presented) {
    // Read the name, serial and validity off the verified peer certificate as it is (re-encoding
    // it to PEM and parsing that again cost 70% of the server's CPU per report).
    auto cert = protocol::CertificateIdentity(peer.certificate());
    if (!cert.ok()) throw HttpError{401, "unreadable client certificate"};
    TimePoint now = std::chrono::system_clock::now();
    if (now > cert->not_after) {
      bool allowed = for_renewal && app_.options.reenroll_expired.count() > 0 &&
                     now - cert->not_after <= app_.options.reenroll_expired;
      if (!allowed) {
        throw HttpError{401,
                        "the client certificate expired on " + formatRfc3339(cert->not_after) +
                            "; enrol this PC again (hearth-agent enroll)",
                        "certificate_expired"};
      }
    }
    auto device = app_.store->deviceForAuth(cert->common_name);
    if (!device.ok()) {
      if (device.status().code() == StatusCode::kNotFound) {
        throw HttpError{403, "unknown device", "unknown_device"};
      }
      throw HttpError{503, "database unavailable"};
    }
    if (device->retired_at)
      throw HttpError{403, "device is retired; enrol again to report", "retired"};
    if (device->cert_serial != cert->serial_hex) {
      if (device->pending_cert_serial != cert->serial_hex) {
        throw HttpError{403, "certificate is not the device's current certificate",
                        "certificate_superseded"};
      }
      // The first use of a renewed certificate: it becomes the current one.
      Status promoted =
          app_.store->promotePendingCertificate(device->device_id, cert->serial_hex, now);
      if (!promoted.ok() && promoted.code() != StatusCode::kFailedPrecondition) {
        throw HttpError{503, "database unavailable"};
      }
      if (promoted.ok()) {
        app_.log->info("device " + device->device_id + " now uses its renewed certificate " +
                       cert->serial_hex + "; the previous one is refused from now on");
      }
      // Promoted by another request meanwhile, or superseded: ask the database again.
      device = app_.store->deviceForAuth(cert->common_name);
      if (!device.ok()) throw HttpError{503, "database unavailable"};
      if (device->cert_serial != cert->serial_hex) {
        throw HttpError{403, "certificate is not the device's current certificate",
                        "certificate_superseded"};
      }
    }
    if (presented != nullptr) *presented = *cert;
    return std::move(device).value();
  }

  // POST /api/v1/renew: a new certificate for a new key of the authenticated device. The current
  // certificate stays valid until the new one is first used (see authenticate), so an agent that
  // crashes before storing the answer simply renews again (the new pending certificate replaces
  // the one it never stored).
  int renew(HTTPServerRequest& req, HTTPServerResponse& resp) {
    Poco::Net::X509Certificate peer = peerCertificate(req);
    protocol::CertificateInfo presented;
    DeviceRecord d = authenticate(peer, true, &presented);
    auto body = readBody(req);
    if (!body.ok()) throw bodyError(body.status());
    auto rr = protocol::RenewRequest::parse(*body);
    if (!rr.ok()) throw HttpError{400, rr.status().message()};
    auto csr = protocol::VerifyCsr(rr->csr);
    if (!csr.ok()) throw HttpError{400, "csr: " + csr.status().message()};
    auto current_key = protocol::CertificatePublicKeyPem(peer.certificate());
    if (!current_key.ok()) throw HttpError{401, "unreadable client certificate"};
    if (*current_key == csr->public_key_pem) {
      throw HttpError{400,
                      "the CSR carries the key of the current certificate; a renewal needs a new "
                      "key",
                      "same_key"};
    }
    TimePoint now = std::chrono::system_clock::now();
    protocol::CertificateRequest cr;
    cr.common_name = d.device_id;
    cr.client_auth = true;
    cr.not_before = now - std::chrono::minutes(5);
    cr.not_after = now + app_.options.device_cert_validity;
    auto cert = protocol::IssueCertificate(cr, csr->public_key_pem, app_.keys.device_ca_key,
                                           app_.keys.device_ca_cert);
    if (!cert.ok()) throw HttpError{500, "could not issue a certificate"};
    auto info = protocol::ParseCertificate(*cert);
    if (!info.ok()) throw HttpError{500, "could not issue a certificate"};
    Status s =
        app_.store->setPendingCertificate(d.device_id, presented.serial_hex, info->serial_hex, now);
    if (!s.ok()) {
      if (s.code() == StatusCode::kFailedPrecondition) {
        throw HttpError{403, "certificate is not the device's current certificate",
                        "certificate_superseded"};
      }
      app_.log->error("renewal: " + s.message());
      throw HttpError{503, "database unavailable"};
    }
    app_.log->info("device " + d.device_id + " renewed its certificate: " + info->serial_hex +
                   " valid until " + formatRfc3339(info->not_after) +
                   (now > presented.not_after ? " (its previous one had expired)" : ""));
    protocol::RenewResponse out{*cert, app_.keys.ca_cert, formatRfc3339(info->not_after),
                                app_.keys.device_ca_cert};
    sendJson(resp, 200, out.toJson());
    return 200;
  }

  int enroll(HTTPServerRequest& req, HTTPServerResponse& resp) {
    // Before any work (CSR check, signing, a database write): a storm is shaped here.
    auto admitted = app_.enroll_limiter->admit(req.clientAddress().host().toString(), Clock::now());
    if (!admitted.allowed) {
      app_.metrics.enrollRateLimited(admitted.scope);
      (void)readBody(req);  // the connection stays in step for the client's retry
      throw HttpError{
          429,
          std::string("too many enrolments from ") +
              (std::string_view(admitted.scope) == "address" ? "this address" : "all devices") +
              "; retry in " + std::to_string(admitted.retry_after_seconds) + " s",
          "rate_limited", admitted.retry_after_seconds};
    }
    auto body = readBody(req);
    if (!body.ok()) throw bodyError(body.status());
    auto er = protocol::EnrollRequest::parse(*body);
    if (!er.ok()) throw HttpError{400, er.status().message()};
    auto csr = protocol::VerifyCsr(er->csr);
    if (!csr.ok()) throw HttpError{400, "csr: " + csr.status().message()};
    auto device_id = protocol::RandomUuid();
    if (!device_id.ok()) throw HttpError{500, "no randomness"};
    TimePoint now = std::chrono::system_clock::now();
    protocol::CertificateRequest cr;
    cr.common_name = *device_id;
    cr.client_auth = true;
    cr.not_before = now - std::chrono::minutes(5);
    cr.not_after = now + app_.options.device_cert_validity;
    auto cert = protocol::IssueCertificate(cr, csr->public_key_pem, app_.keys.device_ca_key,
                                           app_.keys.device_ca_cert);
    if (!cert.ok()) throw HttpError{500, "could not issue a certificate"};
    auto info = protocol::ParseCertificate(*cert);
    DeviceRecord d;
    d.device_id = *device_id;
    d.hostname = er->hostname;
    d.owner = er->owner;
    d.cert_serial = info->serial_hex;
    d.enrolled_at = now;
    auto stored =
        app_.store->enrollDevice(HashSecret(er->enroll_secret), d, now, app_.options.enroll_spike);
    if (!stored.ok()) {
      // The code stays enroll_secret_refused (clients match on it); `reason` says which limit.
      const char* reason = nullptr;
      switch (stored.status().code()) {
        case StatusCode::kNotFound:
          reason = "secret_unknown";
          break;
        case StatusCode::kFailedPrecondition:
          reason = "secret_revoked";
          break;
        case StatusCode::kDeadlineExceeded:
          reason = "secret_expired";
          break;
        case StatusCode::kResourceExhausted:
          reason = "secret_used_up";
          break;
        default:
          break;
      }
      if (reason != nullptr) {
        app_.log->warn("enrolment refused for host \"" + json::escape(er->hostname) +
                       "\": " + reason);
        throw HttpError{403, stored.status().message(), "enroll_secret_refused", 0, false, reason};
      }
      app_.log->error("enrolment: " + stored.status().message());
      throw HttpError{503, "database unavailable"};
    }
    app_.log->info("enrolled device " + d.device_id + " host \"" + json::escape(d.hostname) +
                   "\" level " + stored->level);
    protocol::EnrollResponse out{
        d.device_id, *cert, app_.keys.ca_cert,
        signingSwitched() ? app_.keys.next_signing_pub : app_.keys.signing_pub};
    json::Value answer = out.toJson();
    answer.set("pending_approval", stored->pending_approval);
    if (stored->pending_approval) {
      app_.log->info("device " + d.device_id +
                     " waits for approval (hearth-server device approve)");
    }
    sendJson(resp, 201, answer);
    return 201;
  }

  // During a policy-signing key rotation the next key takes over at signing_switch_at.
  bool signingSwitched() const {
    return app_.keys.next_signing_key &&
           std::chrono::system_clock::now() >= app_.keys.signing_switch_at;
  }

  int policy(const DeviceRecord& d, HTTPServerResponse& resp) {
    auto p = app_.store->latestPolicy(d.level);
    if (!p.ok()) {
      throw HttpError{p.status().code() == StatusCode::kNotFound ? 404 : 503, p.status().message()};
    }
    // Signed now, with the key in force (Ed25519 is deterministic: without a rotation this is the
    // signature stored by `policy set`).
    bool switched = signingSwitched();
    auto sig = protocol::SignEd25519(switched ? *app_.keys.next_signing_key : app_.keys.signing_key,
                                     p->body);
    if (!sig.ok()) throw HttpError{500, "could not sign the policy"};
    protocol::SignedPolicy sp;
    sp.level = p->level;
    sp.version = p->version;
    sp.policy_b64 = protocol::Base64Encode(p->body);
    sp.signature_b64 = *sig;
    if (!app_.announcement_b64.empty()) {
      sp.announcement_b64 = app_.announcement_b64;
      sp.announcement_signature_b64 =
          switched ? app_.announcement_sig_next : app_.announcement_sig_current;
    }
    sendJson(resp, 200, sp.toJson());
    return 200;
  }

  int report(const DeviceRecord& d, HTTPServerRequest& req, HTTPServerResponse& resp) {
    auto start = Clock::now();
    auto body = readBody(req);
    if (!body.ok()) throw bodyError(body.status());
    auto env = protocol::ReportEnvelope::parse(*body);
    if (!env.ok()) throw HttpError{400, env.status().message()};
    if (env->device_id && *env->device_id != d.device_id) {
      throw HttpError{403, "the report names another device than its certificate",
                      "device_mismatch"};
    }
    NewReport r;
    r.device_id = d.device_id;
    r.report_id = env->report_id;
    r.sequence = env->sequence;
    r.sent_at = env->sent_at;
    r.agent_version = env->agent_version;
    r.machine_id = env->machine_id;
    r.result = std::move(env->result);
    r.received_at = std::chrono::system_clock::now();
    r.dropped = env->dropped.value_or(0);
    auto outcome = app_.ingestor->submit(std::move(r));
    if (!outcome.ok()) {
      if (outcome.status().code() != StatusCode::kResourceExhausted) {
        app_.log->error("storing a report: " + outcome.status().message());
      }
      bool full = outcome.status().code() == StatusCode::kResourceExhausted;
      throw HttpError{503, "cannot store the report now; retry later",
                      full ? "overloaded" : "unavailable"};
    }
    bool stored = outcome->outcome == IngestOutcome::kStored;
    if (stored && env->dropped.value_or(0) > 0) {
      app_.metrics.reportsDropped(*env->dropped);
      app_.log->warn("device " + d.device_id + " dropped " + std::to_string(*env->dropped) +
                     " report(s) from its spool");
    }
    app_.metrics.ingest(std::chrono::duration<double>(Clock::now() - start).count(), stored);
    json::Value out = json::Value::object();
    out.set("report_id", env->report_id);
    out.set("status", stored ? "stored" : "duplicate");
    // The device's highest sequence before this report: an agent that had reports acknowledged
    // above it sends them again (a server restored from a backup lacks them).
    out.set("previous_sequence", outcome->previous_sequence);
    int code = stored ? 202 : 200;
    sendJson(resp, code, out);
    return code;
  }

  App& app_;
};

// --- Admin listener --------------------------------------------------------------------------

class AdminHandler final : public HTTPRequestHandler {
 public:
  explicit AdminHandler(App& app) : app_(app) {}

  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    Dispatch(app_, "admin", req, resp, [&] { return route(req, resp); });
  }

 private:
  int route(HTTPServerRequest& req, HTTPServerResponse& resp) {
    Poco::URI uri(req.getURI());
    std::string path = uri.getPath();
    const std::string& method = req.getMethod();
    auto q = queryParams(uri);
    if (path == "/healthz") {
      json::Value o = json::Value::object();
      o.set("status", "ok");
      sendJson(resp, 200, o);
      return 200;
    }
    if (path == "/metrics") {
      auto counts =
          app_.store->deviceCounts(std::chrono::system_clock::now(), app_.options.stale_after);
      std::string text = app_.metrics.render(
          counts.ok() ? *counts : std::vector<std::pair<std::string, int64_t>>{});
      text += connectionGauges();
      resp.setStatus(HTTPResponse::HTTP_OK);
      resp.setContentType("text/plain; version=0.0.4");
      resp.setContentLength(static_cast<std::streamsize>(text.size()));
      resp.send() << text;
      return 200;
    }
    TokenRecord token = authenticate(req);
    // A read-only token reads the devices, their history, the feed and the CSV, nothing else.
    // Checked before routing, so every write path (POST, PUT, DELETE, ...), including ones added
    // later, is refused the same way.
    if (token.scope != "admin" && (method != "GET" || path == "/api/v1/audit")) {
      throw HttpError{403,
                      "this token may only read (devices, history, feed, CSV); this needs a token "
                      "with scope admin",
                      "read_only_token"};
    }
    const std::string prefix = "/api/v1/devices/";
    if (path == "/api/v1/devices" && method == "GET") return devices(q, resp);
    if (path == "/api/v1/devices.csv" && method == "GET") return csv(q, token, resp);
    if (path == "/api/v1/feed" && method == "GET") return feed(q, resp);
    if (path == "/api/v1/audit" && method == "GET") return auditLog(q, resp);
    if (path.rfind(prefix, 0) == 0) {
      std::string rest = path.substr(prefix.size());
      std::string id = rest.substr(0, rest.find('/'));
      std::string tail = rest.size() > id.size() ? rest.substr(id.size()) : "";
      if (id.empty() || id.size() > 64) throw HttpError{404, "no such device"};
      if (tail.empty() && method == "GET") return device(id, resp);
      if (tail == "/history" && method == "GET") return history(id, q, resp);
      if (tail == "/retire" && method == "POST") return retire(id, token, resp);
      if (tail == "/approve" && method == "POST") return decide(id, true, token, resp);
      if (tail == "/reject" && method == "POST") return decide(id, false, token, resp);
      if (tail == "/owner" && method == "POST") return owner(id, req, token, resp);
      bool known = tail.empty() || tail == "/history" || tail == "/retire" || tail == "/approve" ||
                   tail == "/reject" || tail == "/owner";
      throw HttpError{known ? 405 : 404, "no such endpoint"};
    }
    if (path == "/api/v1/devices" || path == "/api/v1/devices.csv" || path == "/api/v1/feed" ||
        path == "/api/v1/audit") {
      throw HttpError{405, "use GET"};
    }
    throw HttpError{404, "no such endpoint"};
  }

  // The audit entry of an action by this token (the store records it with the action, in one
  // transaction).
  static AuditEntry auditEntry(const TokenRecord& token, const std::string& action,
                               const std::string& target,
                               json::Value detail = json::Value::object()) {
    detail.set("token_id", token.id);
    AuditEntry e;
    e.at = std::chrono::system_clock::now();
    e.actor = token.name;
    e.action = action;
    e.target = target;
    e.detail = json::write(detail);
    return e;
  }

  int auditLog(const std::map<std::string, std::string>& q, HTTPServerResponse& resp) {
    int64_t after = 0;
    if (auto it = q.find("after"); it != q.end()) {
      auto v = text::parseInt(it->second);
      if (!v || *v < 0) throw HttpError{400, "after must be a cursor from a previous page"};
      after = *v;
    }
    auto entries = app_.store->listAudit(after, parseLimit(q, 500));
    if (!entries.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& e : *entries) arr.push(AuditEntryJson(e));
    json::Value o = json::Value::object();
    o.set("next", std::to_string(entries->empty() ? after : entries->back().id));
    o.set("entries", std::move(arr));
    sendJson(resp, 200, o);
    return 200;
  }

  int decide(const std::string& id, bool approve, const TokenRecord& token,
             HTTPServerResponse& resp) {
    TimePoint now = std::chrono::system_clock::now();
    AuditEntry entry =
        auditEntry(token, approve ? "device.approve" : "device.reject", "device:" + id);
    Status s = approve ? app_.store->approveDevice(id, now, &entry)
                       : app_.store->rejectDevice(id, now, &entry);
    if (!s.ok()) throw HttpError{s.code() == StatusCode::kNotFound ? 404 : 503, s.message()};
    app_.log->info("device " + id + (approve ? " approved" : " rejected") + " by token \"" +
                   json::escape(token.name) + "\"");
    json::Value o = json::Value::object();
    o.set("device_id", id);
    o.set("status", approve ? "approved" : "rejected");
    sendJson(resp, 200, o);
    return 200;
  }

  int owner(const std::string& id, HTTPServerRequest& req, const TokenRecord& token,
            HTTPServerResponse& resp) {
    auto body = readBody(req);
    if (!body.ok()) throw bodyError(body.status());
    auto v = json::parse(*body);
    if (!v.ok() || !v->isObject()) throw HttpError{400, "expected a JSON object {\"owner\": ...}"};
    for (const auto& [k, unused] : v->asObject()) {
      if (k != "owner") throw HttpError{400, "unknown field \"" + k + "\" (expected owner)"};
    }
    const json::Value* o = v->find("owner");
    if (o == nullptr || !(o->isNull() || o->isString())) {
      throw HttpError{400, "field \"owner\" must be a string (or null to clear it)"};
    }
    std::optional<std::string> value;
    if (o->isString()) {
      const std::string& text = o->asString();
      bool control = std::any_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x20; });
      if (text.empty() || text.size() > 256 || control) {
        throw HttpError{400, "field \"owner\" must be 1 to 256 printable characters"};
      }
      value = text;
    }
    json::Value detail = json::Value::object();
    detail.set("owner", value ? json::Value(*value) : json::Value());
    AuditEntry entry = auditEntry(token, "device.owner", "device:" + id, detail);
    Status s = app_.store->setDeviceOwner(id, value, &entry);
    if (!s.ok()) throw HttpError{s.code() == StatusCode::kNotFound ? 404 : 503, s.message()};
    json::Value out = json::Value::object();
    out.set("device_id", id);
    out.set("owner", value ? json::Value(*value) : json::Value());
    sendJson(resp, 200, out);
    return 200;
  }

  // Worker threads in use and connections waiting for one, per listener.
  std::string connectionGauges() const {
    std::ostringstream o;
    std::pair<const char*, const Poco::Net::TCPServer*> servers[] = {
        {"devices", app_.device_server}, {"admin", app_.admin_server}};
    o << "# HELP hearth_connections_active Connections being served by a worker thread.\n"
         "# TYPE hearth_connections_active gauge\n";
    for (const auto& [name, server] : servers) {
      if (server != nullptr) {
        o << "hearth_connections_active{listener=\"" << name << "\"} "
          << server->currentConnections() << "\n";
      }
    }
    o << "# HELP hearth_connections_queued Accepted connections waiting for a worker thread.\n"
         "# TYPE hearth_connections_queued gauge\n";
    for (const auto& [name, server] : servers) {
      if (server != nullptr) {
        o << "hearth_connections_queued{listener=\"" << name << "\"} "
          << server->queuedConnections() << "\n";
      }
    }
    return o.str();
  }

  TokenRecord authenticate(HTTPServerRequest& req) {
    std::string auth = req.get("Authorization", "");
    const std::string bearer = "Bearer ";
    if (auth.rfind(bearer, 0) != 0 || auth.size() == bearer.size() || auth.size() > 512) {
      throw HttpError{401, "missing or malformed bearer token"};
    }
    auto token = app_.store->findToken(HashSecret(auth.substr(bearer.size())),
                                       std::chrono::system_clock::now());
    if (!token.ok()) {
      if (token.status().code() == StatusCode::kNotFound) {
        throw HttpError{401, "invalid, expired or revoked token"};
      }
      throw HttpError{503, "database unavailable"};
    }
    return std::move(token).value();
  }

  DeviceFilter filterFrom(const std::map<std::string, std::string>& q, int default_limit) {
    DeviceFilter f;
    f.now = std::chrono::system_clock::now();
    f.stale_after = app_.options.stale_after;
    f.limit = parseLimit(q, default_limit);
    if (auto it = q.find("status"); it != q.end()) {
      const std::string& s = it->second;
      if (s != "compliant" && s != "noncompliant" && s != "unknown" && s != "stale" &&
          s != "pending") {
        throw HttpError{400, "status must be compliant, noncompliant, unknown, stale or pending"};
      }
      f.status = s;
    }
    if (auto it = q.find("level"); it != q.end()) f.level = it->second;
    if (auto it = q.find("after"); it != q.end()) f.after = it->second;
    return f;
  }

  int devices(const std::map<std::string, std::string>& q, HTTPServerResponse& resp) {
    DeviceFilter f = filterFrom(q, 100);
    auto list = app_.store->listDevices(f);
    if (!list.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& d : *list) arr.push(deviceJson(d, false));
    json::Value o = json::Value::object();
    o.set("devices", std::move(arr));
    o.set("next", static_cast<int>(list->size()) == f.limit && !list->empty()
                      ? json::Value(list->back().device_id)
                      : json::Value());
    sendJson(resp, 200, o);
    return 200;
  }

  int csv(const std::map<std::string, std::string>& q, const TokenRecord& token,
          HTTPServerResponse& resp) {
    DeviceFilter f = filterFrom(q, 1000);
    std::string out =
        "device_id,hostname,owner,level,status,last_seen,agent_version,failing_checks,"
        "pending_approval,duplicate_machine_id,reported_by\r\n";
    while (true) {
      auto list = app_.store->listDevices(f);
      if (!list.ok()) throw HttpError{503, "database unavailable"};
      for (const auto& d : *list) {
        std::vector<std::string> failing;
        if (d.latest_result) {
          if (const json::Value* cs = d.latest_result->find("checks"); cs && cs->isArray()) {
            for (const auto& c : cs->asArray()) {
              const json::Value* v = c.find("verdict");
              const json::Value* id = c.find("id");
              if (v && v->isString() && v->asString() != "pass" &&
                  v->asString() != "not_applicable" && id && id->isString()) {
                failing.push_back(id->asString() + ":" + v->asString());
              }
            }
          }
        }
        out += csvCell(d.device_id) + "," + csvCell(d.hostname) + "," +
               csvCell(d.owner.value_or("")) + "," + csvCell(d.level) + "," +
               csvCell(d.pending_approval ? "pending" : d.status) + "," +
               csvCell(d.last_seen ? formatRfc3339(*d.last_seen) : "") + "," +
               csvCell(d.agent_version) + "," + csvCell(text::join(failing, " ")) + "," +
               (d.pending_approval ? "true" : "false") + "," +
               (d.duplicate_machine_id ? "true" : "false") + ",device\r\n";
      }
      if (static_cast<int>(list->size()) < f.limit || list->empty()) break;
      f.after = list->back().device_id;
      if (out.size() > (256u << 20)) throw HttpError{413, "export too large; filter it"};
    }
    // Recorded before a byte is sent: an export that cannot be recorded does not happen.
    json::Value detail = json::Value::object();
    for (const auto& [k, v] : q) detail.set(k, v);
    if (Status s = app_.store->appendAudit(auditEntry(token, "export.csv", "devices", detail));
        !s.ok()) {
      app_.log->error("audit log: " + s.message());
      throw HttpError{503, "the export cannot be recorded in the audit log now; retry later"};
    }
    resp.setStatus(HTTPResponse::HTTP_OK);
    resp.setContentType("text/csv; charset=utf-8");
    resp.set("Content-Disposition", "attachment; filename=\"hearth-devices.csv\"");
    resp.setContentLength(static_cast<std::streamsize>(out.size()));
    resp.send() << out;
    return 200;
  }

  int device(const std::string& id, HTTPServerResponse& resp) {
    auto d = app_.store->getDevice(id);
    if (!d.ok()) {
      throw HttpError{d.status().code() == StatusCode::kNotFound ? 404 : 503, d.status().message()};
    }
    TimePoint seen = d->last_seen.value_or(d->enrolled_at);
    if (!d->retired_at && seen < std::chrono::system_clock::now() - app_.options.stale_after) {
      d->status = "stale";
    }
    if (d->pending_approval) d->status = "pending";
    json::Value out = deviceJson(*d, true);
    auto missing = app_.store->missingReports(id);
    out.set("reports_missing", missing.ok() ? json::Value(*missing) : json::Value());
    sendJson(resp, 200, out);
    return 200;
  }

  int history(const std::string& id, const std::map<std::string, std::string>& q,
              HTTPServerResponse& resp) {
    if (!app_.store->getDevice(id).ok()) throw HttpError{404, "no such device"};
    auto reports = app_.store->deviceHistory(id, parseLimit(q, 100));
    if (!reports.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& r : *reports) {
      json::Value o = json::Value::object();
      o.set("report_id", r.report_id);
      o.set("sequence", r.sequence);
      o.set("sent_at", r.sent_at);
      o.set("received_at", formatRfc3339(r.received_at));
      o.set("compliant", r.compliant);
      o.set("result", r.result);
      arr.push(std::move(o));
    }
    json::Value o = json::Value::object();
    o.set("reports", std::move(arr));
    sendJson(resp, 200, o);
    return 200;
  }

  int feed(const std::map<std::string, std::string>& q, HTTPServerResponse& resp) {
    int64_t after = 0;
    if (auto it = q.find("after"); it != q.end()) {
      auto v = text::parseInt(it->second);
      if (!v || *v < 0) throw HttpError{400, "after must be a cursor from a previous page"};
      after = *v;
    }
    auto events = app_.store->feed(after, parseLimit(q, 500));
    if (!events.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& e : *events) {
      json::Value o = json::Value::object();
      o.set("cursor", std::to_string(e.cursor));
      o.set("at", formatRfc3339(e.at));
      o.set("device_id", e.device_id);
      o.set("type", e.type);
      if (e.check) o.set("check", *e.check);
      if (e.type == "verdict_changed") {
        o.set("from", e.from ? json::Value(*e.from) : json::Value());
        o.set("to", e.to ? json::Value(*e.to) : json::Value());
      }
      if (e.detail) {
        auto detail = json::parse(*e.detail);
        if (detail.ok() && detail->isObject()) {
          for (const auto& [k, v] : detail->asObject()) o.set(k, v);
        }
      }
      arr.push(std::move(o));
    }
    json::Value o = json::Value::object();
    // `next` is where to continue; the same cursor again when there is nothing new yet.
    o.set("next", std::to_string(events->empty() ? after : events->back().cursor));
    o.set("events", std::move(arr));
    sendJson(resp, 200, o);
    return 200;
  }

  int retire(const std::string& id, const TokenRecord& token, HTTPServerResponse& resp) {
    AuditEntry entry = auditEntry(token, "device.retire", "device:" + id);
    Status s = app_.store->retireDevice(id, std::chrono::system_clock::now(), &entry);
    if (!s.ok()) {
      throw HttpError{s.code() == StatusCode::kNotFound ? 404 : 503, s.message()};
    }
    app_.log->info("device " + id + " retired by token \"" + json::escape(token.name) + "\"");
    json::Value o = json::Value::object();
    o.set("device_id", id);
    o.set("status", "retired");
    sendJson(resp, 200, o);
    return 200;
  }

  App& app_;
};

template <typename Handler>
class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(App& app) : app_(app) {}
  HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(app_);
  }

 private:
  App& app_;
};

class LoggingErrorHandler final : public Poco::ErrorHandler {
 public:
  explicit LoggingErrorHandler(Log& log) : log_(log) {}
  void exception(const Poco::Exception& e) override {
    // TLS handshake failures of refused clients land here; they are expected noise at info.
    log_.info("connection: " + e.displayText());
  }
  void exception(const std::exception& e) override {
    log_.warn(std::string("connection: ") + e.what());
  }
  void exception() override { log_.warn("connection: unknown error"); }

 private:
  Log& log_;
};

StatusOr<Poco::Net::SocketAddress> parseListen(const std::string& flag, const std::string& value) {
  try {
    return Poco::Net::SocketAddress(value);
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError(flag + " \"" + value + "\": expected ADDRESS:PORT (" +
                                e.displayText() + ")");
  }
}

}  // namespace

int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& log_stream) {
  Log log(log_stream);
  // Block the termination signals before any thread starts: every thread inherits the mask and
  // only this thread takes them, in sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  App app;
  app.options = options;
  app.log = &log;
  auto keys = LoadServerKeys(options.state_dir);
  if (!keys.ok()) {
    log.error(keys.status().message());
    return 2;
  }
  app.keys = std::move(keys).value();
  if (!app.keys.old_device_ca_cert.empty()) {
    log.info(
        "device CA rollover in progress: certificates of the previous device CA are still "
        "accepted; new ones are issued by the new CA (finish with `hearth-server rotate "
        "device-ca --finish`)");
  }
  if (Status r = RecoverServerCertRotation(options.state_dir); !r.ok()) {
    log.error("finishing an interrupted server certificate rotation: " + r.message());
    return 1;
  }
  {
    protocol::PolicyAnnouncement announce;
    if (app.keys.next_signing_key) {
      announce.next_policy_key = app.keys.next_signing_pub;
      log.info("policy-signing key rotation in progress: policies announce the next key, which " +
               std::string("takes over at ") + formatRfc3339(app.keys.signing_switch_at));
    }
    if (!app.keys.next_server_pin.empty()) {
      announce.server_pins.push_back(app.keys.next_server_pin);
      log.info("server key rotation prepared: policies announce the next server key " +
               app.keys.next_server_pin + " (install it with `hearth-server rotate server-cert`)");
    }
    if (!announce.next_policy_key.empty() || !announce.server_pins.empty()) {
      std::string bytes = json::write(announce.toJson());
      app.announcement_b64 = protocol::Base64Encode(bytes);
      auto cur = protocol::SignEd25519(app.keys.signing_key, bytes);
      auto next = app.keys.next_signing_key
                      ? protocol::SignEd25519(*app.keys.next_signing_key, bytes)
                      : cur;
      if (!cur.ok() || !next.ok()) {
        log.error("cannot sign the key announcement");
        return 1;
      }
      app.announcement_sig_current = *cur;
      app.announcement_sig_next = *next;
    }
  }
  std::string db = DatabaseUri(options.state_dir, options.database);
  if (options.database.empty() && ::access(db.c_str(), F_OK) != 0) {
    log.error(db + " does not exist: create the server with hearth-server init");
    return 2;
  }
  auto store = OpenStore(db);
  if (!store.ok()) {
    log.error("database: " + store.status().message());
    return 1;
  }
  app.store = std::move(store).value();
  auto device_addr = parseListen("--listen", options.listen);
  auto admin_addr = parseListen("--admin-listen", options.admin_listen);
  if (!device_addr.ok() || !admin_addr.ok()) {
    log.error((device_addr.ok() ? admin_addr.status() : device_addr.status()).message());
    return 2;
  }

  LoggingErrorHandler error_handler(log);
  Poco::ErrorHandler::set(&error_handler);
  ServerPaths paths = PathsFor(options.state_dir);
  try {
    Poco::Net::initializeSSL();
    auto makeContext = [&](bool devices) {
      Poco::Net::Context::Params p;
      p.privateKeyFile = paths.server_key;
      p.certificateFile = paths.server_cert;
      p.loadDefaultCAs = false;
      p.cipherList = "HIGH:!aNULL:!MD5:!RC4:!3DES";
      if (devices) {
        p.caLocation = paths.device_ca_cert;
        // Ask for a client certificate and verify any that is sent; enrolment alone works
        // without one (checked per request).
        p.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
        p.verificationDepth = 2;
      } else {
        p.verificationMode = Poco::Net::Context::VERIFY_NONE;
      }
      Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, p);
      ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
      ctx->preferServerCiphers();
      // Poco would match the *client* certificate against the client's address: off (poco#4475).
      ctx->enableExtendedCertificateVerification(false);
      ctx->disableStatelessSessionResumption();
      if (devices && !app.keys.old_device_ca_cert.empty()) {
        // A device CA rollover: certificates of the previous CA are accepted too.
        BIO* bio = BIO_new_mem_buf(app.keys.old_device_ca_cert.data(),
                                   static_cast<int>(app.keys.old_device_ca_cert.size()));
        X509* old_ca = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
        if (old_ca == nullptr ||
            X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->sslContext()), old_ca) != 1) {
          if (old_ca != nullptr) X509_free(old_ca);
          if (bio != nullptr) BIO_free(bio);
          throw Poco::Exception("cannot trust the previous device CA (" + paths.device_ca_old_cert +
                                ")");
        }
        X509_free(old_ca);
        BIO_free(bio);
      }
      if (devices && options.reenroll_expired.count() > 0) {
        // A device certificate that expired is let through the handshake (and only that: any
        // other verification error still fails it) so that POST /api/v1/renew can recover the
        // device; every other path refuses it (authenticate).
        SSL_CTX_set_verify(ctx->sslContext(), SSL_VERIFY_PEER, [](int ok, X509_STORE_CTX* x509) {
          if (ok == 1) return 1;
          return X509_STORE_CTX_get_error(x509) == X509_V_ERR_CERT_HAS_EXPIRED &&
                         X509_STORE_CTX_get_error_depth(x509) == 0
                     ? 1
                     : 0;
        });
      }
      return ctx;
    };
    auto device_ctx = makeContext(true);
    auto admin_ctx = makeContext(false);

    auto makeSocket = [&](const Poco::Net::SocketAddress& addr, Poco::Net::Context::Ptr ctx) {
      Poco::Net::SecureServerSocket s(ctx);
      s.bind(addr, /*reuseAddress=*/true, /*reusePort=*/false);  // a second server must fail
      s.listen(128);
      return s;
    };
    Poco::Net::SecureServerSocket device_socket = makeSocket(*device_addr, device_ctx);
    Poco::Net::SecureServerSocket admin_socket = makeSocket(*admin_addr, admin_ctx);

    app.ingestor = std::make_unique<Ingestor>(*app.store);
    app.enroll_limiter =
        std::make_unique<RateLimiter>(options.enroll_limit, options.enroll_limit_per_address);

    auto makeParams = [&] {
      auto* params = new Poco::Net::HTTPServerParams;
      params->setMaxThreads(options.max_threads);
      params->setMaxQueued(options.max_queued);
      params->setTimeout(Poco::Timespan(5, 0));  // per read: headers and body
      params->setKeepAlive(true);
      params->setKeepAliveTimeout(Poco::Timespan(10, 0));
      params->setMaxKeepAliveRequests(1000);
      params->setSoftwareVersion("");
      return params;
    };
    Poco::ThreadPool device_pool("devices", std::min(2, options.max_threads), options.max_threads);
    Poco::ThreadPool admin_pool("admin", 1, options.max_threads);
    ConnectionWatchdog device_watchdog(options.request_deadline);
    ConnectionWatchdog admin_watchdog(options.request_deadline);
    g_watchdog_devices = &device_watchdog;
    g_watchdog_admin = &admin_watchdog;
    Poco::Net::HTTPServerParams::Ptr device_params = makeParams();
    Poco::Net::HTTPServerParams::Ptr admin_params = makeParams();
    // Declared before the servers: the servers' acceptor threads hand connections to these.
    OverflowResponder device_overflow("devices", app.metrics);
    OverflowResponder admin_overflow("admin", app.metrics);
    Poco::AutoPtr<OverloadFilter> device_filter(
        new OverloadFilter(options.max_queued, device_overflow, app.metrics, "devices"));
    Poco::AutoPtr<OverloadFilter> admin_filter(
        new OverloadFilter(options.max_queued, admin_overflow, app.metrics, "admin"));
    Poco::Net::TCPServer device_server(
        new GuardedConnectionFactory(device_params, new Factory<DeviceHandler>(app),
                                     device_watchdog),
        device_pool, device_socket, device_params);
    Poco::Net::TCPServer admin_server(
        new GuardedConnectionFactory(admin_params, new Factory<AdminHandler>(app), admin_watchdog),
        admin_pool, admin_socket, admin_params);
    device_filter->setServer(&device_server);
    admin_filter->setServer(&admin_server);
    device_server.setConnectionFilter(device_filter);
    admin_server.setConnectionFilter(admin_filter);
    app.device_server = &device_server;
    app.admin_server = &admin_server;
    device_server.start();
    admin_server.start();
    out << "listening devices=" << device_socket.address().toString()
        << " admin=" << admin_socket.address().toString() << std::endl;
    log.info("serving devices on " + device_socket.address().toString() + " and IT on " +
             admin_socket.address().toString());

    // Staleness: a feed event when a device falls silent for longer than the window.
    std::mutex stale_mu;
    std::condition_variable stale_cv;
    bool stopping = false;
    std::thread stale_thread([&] {
      std::unique_lock<std::mutex> lock(stale_mu);
      while (!stopping) {
        auto marked = app.store->markStale(std::chrono::system_clock::now(), options.stale_after);
        if (marked.ok() && *marked > 0) log.info(std::to_string(*marked) + " device(s) went stale");
        stale_cv.wait_for(lock, std::chrono::seconds(60), [&] { return stopping; });
      }
    });
    // Retention: at start and then every prune_every, in batches (ingest goes on in between).
    std::thread prune_thread([&] {
      std::unique_lock<std::mutex> lock(stale_mu);
      while (!stopping) {
        lock.unlock();
        PruneOptions p;
        p.now = std::chrono::system_clock::now();
        p.history_window = options.history_retention;
        p.retired_window = options.retired_retention;
        auto pruned = app.store->prune(p);
        if (!pruned.ok()) {
          log.error("retention: " + pruned.status().message());
        } else if (pruned->reports + pruned->events > 0 || !pruned->retired_devices.empty()) {
          log.info("retention: deleted " + std::to_string(pruned->reports) + " report(s) and " +
                   std::to_string(pruned->events) + " feed event(s) older than the window, and " +
                   std::to_string(pruned->retired_devices.size()) +
                   " retired device(s) with all their data");
        }
        lock.lock();
        stale_cv.wait_for(lock, options.prune_every, [&] { return stopping; });
      }
    });

    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        log.info("SIGHUP: configuration is read at start; restart to apply changes");
        continue;
      }
      log.info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "signal"));
      break;
    }
    {
      std::lock_guard<std::mutex> lock(stale_mu);
      stopping = true;
    }
    stale_cv.notify_all();
    stale_thread.join();
    prune_thread.join();
    device_server.stop();
    admin_server.stop();
    device_watchdog.closeAll();  // in-flight keep-alive connections end now
    admin_watchdog.closeAll();
    device_pool.joinAll();
    admin_pool.joinAll();
    g_watchdog_devices = nullptr;
    g_watchdog_admin = nullptr;
    app.device_server = nullptr;
    app.admin_server = nullptr;
    app.ingestor.reset();  // drains: every accepted report is committed before exit
    Poco::Net::uninitializeSSL();
  } catch (const Poco::Exception& e) {
    log.error("cannot serve: " + e.displayText());
    return 1;
  }
  log.info("stopped");
  return 0;
}

}  // namespace hearth::server
