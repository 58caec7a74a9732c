// `hearth-server serve`: two Poco HTTPS listeners over one Store.
//  - devices (mutual TLS against the device CA; only POST /api/v1/enroll works without a client
//    certificate): enrol, policy, reports. Reports are acknowledged only after a durable commit;
//    concurrent reports share one transaction (group commit, see Ingestor).
//  - IT (TLS with the server certificate, bearer tokens hashed at rest): devices, history, feed,
//    CSV, retire, /healthz, /metrics.
// Poco exceptions are caught in every handler and never escape; every request gets a response.
#include "hearth/server/serve.h"

#include <atomic>
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

#include <Poco/ErrorHandler.h>
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

#include "common/text.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/result.h"
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
    o << "# HELP hearth_devices Devices by compliance status.\n# TYPE hearth_devices gauge\n";
    std::map<std::string, int64_t> by_status = {
        {"compliant", 0}, {"noncompliant", 0}, {"unknown", 0}, {"stale", 0}};
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
  StatusOr<IngestOutcome> submit(NewReport report) {
    std::promise<StatusOr<IngestOutcome>> promise;
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
    std::promise<StatusOr<IngestOutcome>> promise;
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
};

// --- HTTP helpers ----------------------------------------------------------------------------

struct HttpError {
  int status;
  std::string message;
};

void sendJson(HTTPServerResponse& resp, int status, const json::Value& body) {
  std::string text = json::write(body);
  resp.setStatus(static_cast<HTTPResponse::HTTPStatus>(status));
  resp.setContentType("application/json");
  resp.set("Cache-Control", "no-store");
  resp.set("X-Content-Type-Options", "nosniff");
  resp.setContentLength(static_cast<std::streamsize>(text.size()));
  resp.send() << text;
}

void sendError(HTTPServerResponse& resp, int status, const std::string& message) {
  json::Value body = json::Value::object();
  body.set("error", message);
  if (status == 503 || status == 429) resp.set("Retry-After", "5");
  sendJson(resp, status, body);
}

// Reads the body: at most protocol::kMaxBodyBytes, within kBodyDeadline.
StatusOr<std::string> readBody(HTTPServerRequest& req) {
  if (req.hasContentLength() &&
      req.getContentLength64() > static_cast<Poco::Int64>(protocol::kMaxBodyBytes)) {
    // Poco has already sent "100 Continue" to a client that asked for it, so the body is on its
    // way: read and discard a moderately oversized body (within the deadline) so the client gets
    // the 413 instead of a reset connection; a huge one is cut off.
    constexpr Poco::Int64 kDrainLimit = 16 << 20;
    if (req.getContentLength64() <= kDrainLimit) {
      std::istream& in = req.stream();
      char sink[65536];
      auto deadline = Clock::now() + kBodyDeadline;
      while (in && Clock::now() < deadline) in.read(sink, sizeof sink);
    }
    return ResourceExhaustedError("body larger than 1 MiB");
  }
  std::istream& in = req.stream();
  std::string body;
  char buf[16384];
  auto deadline = Clock::now() + kBodyDeadline;
  while (in) {
    in.read(buf, sizeof buf);
    body.append(buf, static_cast<size_t>(in.gcount()));
    if (body.size() > protocol::kMaxBodyBytes) {
      return ResourceExhaustedError("body larger than 1 MiB");
    }
    if (Clock::now() > deadline) return DeadlineExceededError("request body too slow");
  }
  if (req.hasContentLength() && static_cast<Poco::Int64>(body.size()) != req.getContentLength64()) {
    return InvalidArgumentError("body shorter than its Content-Length");
  }
  return body;
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
  o.set("status", d.retired_at ? std::string("retired") : d.status);
  o.set("last_seen", d.last_seen ? json::Value(formatRfc3339(*d.last_seen)) : json::Value());
  o.set("agent_version", d.agent_version);
  o.set("enrolled_at", formatRfc3339(d.enrolled_at));
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
    if (!resp.sent()) sendError(resp, e.status, e.message);
  } catch (const Poco::Exception& e) {
    app.log->error(listener + " request " + json::escape(req.getURI()) + ": " + e.displayText());
    if (!resp.sent()) sendError(resp, 500, "internal error");
  } catch (const std::exception& e) {
    app.log->error(listener + " request " + json::escape(req.getURI()) + ": " + e.what());
    if (!resp.sent()) sendError(resp, 500, "internal error");
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
    throw HttpError{404, "no such endpoint"};
  }

  // The device named by the verified client certificate, if enrolled and not retired.
  DeviceRecord authenticate(HTTPServerRequest& req) {
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
    Poco::Net::SecureStreamSocket socket(impl.socket());
    if (!socket.havePeerCertificate()) throw HttpError{401, "client certificate required"};
    // Read the name and serial off the verified peer certificate as it is (re-encoding it to PEM
    // and parsing that again cost 70% of the server's CPU per report).
    Poco::Net::X509Certificate peer = socket.peerCertificate();
    auto cert = protocol::CertificateIdentity(peer.certificate());
    if (!cert.ok()) throw HttpError{401, "unreadable client certificate"};
    auto device = app_.store->deviceForAuth(cert->common_name);
    if (!device.ok()) {
      if (device.status().code() == StatusCode::kNotFound) {
        throw HttpError{403, "unknown device"};
      }
      throw HttpError{503, "database unavailable"};
    }
    if (device->retired_at) throw HttpError{403, "device is retired; enrol again to report"};
    if (device->cert_serial != cert->serial_hex) {
      throw HttpError{403, "certificate is not the device's current certificate"};
    }
    return std::move(device).value();
  }

  int enroll(HTTPServerRequest& req, HTTPServerResponse& resp) {
    auto body = readBody(req);
    if (!body.ok()) throw HttpError{bodyStatus(body.status()), body.status().message()};
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
    auto stored = app_.store->enrollDevice(HashSecret(er->enroll_secret), d, now);
    if (!stored.ok()) {
      if (stored.status().code() == StatusCode::kPermissionDenied) {
        app_.log->warn("enrolment refused for host \"" + json::escape(er->hostname) +
                       "\": " + stored.status().message());
        throw HttpError{403, stored.status().message()};
      }
      app_.log->error("enrolment: " + stored.status().message());
      throw HttpError{503, "database unavailable"};
    }
    app_.log->info("enrolled device " + d.device_id + " host \"" + json::escape(d.hostname) +
                   "\" level " + stored->level);
    protocol::EnrollResponse out{d.device_id, *cert, app_.keys.ca_cert, app_.keys.signing_pub};
    sendJson(resp, 201, out.toJson());
    return 201;
  }

  int policy(const DeviceRecord& d, HTTPServerResponse& resp) {
    auto p = app_.store->latestPolicy(d.level);
    if (!p.ok()) {
      throw HttpError{p.status().code() == StatusCode::kNotFound ? 404 : 503, p.status().message()};
    }
    protocol::SignedPolicy sp{p->level, p->version, protocol::Base64Encode(p->body), p->signature};
    sendJson(resp, 200, sp.toJson());
    return 200;
  }

  int report(const DeviceRecord& d, HTTPServerRequest& req, HTTPServerResponse& resp) {
    auto start = Clock::now();
    auto body = readBody(req);
    if (!body.ok()) throw HttpError{bodyStatus(body.status()), body.status().message()};
    auto env = protocol::ReportEnvelope::parse(*body);
    if (!env.ok()) throw HttpError{400, env.status().message()};
    if (env->device_id && *env->device_id != d.device_id) {
      throw HttpError{403, "the report names another device than its certificate"};
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
    auto outcome = app_.ingestor->submit(std::move(r));
    if (!outcome.ok()) {
      if (outcome.status().code() != StatusCode::kResourceExhausted) {
        app_.log->error("storing a report: " + outcome.status().message());
      }
      throw HttpError{503, "cannot store the report now; retry later"};
    }
    bool stored = *outcome == IngestOutcome::kStored;
    app_.metrics.ingest(std::chrono::duration<double>(Clock::now() - start).count(), stored);
    json::Value out = json::Value::object();
    out.set("report_id", env->report_id);
    out.set("status", stored ? "stored" : "duplicate");
    int code = stored ? 202 : 200;
    sendJson(resp, code, out);
    return code;
  }

  static int bodyStatus(const Status& s) {
    switch (s.code()) {
      case StatusCode::kResourceExhausted:
        return 413;
      case StatusCode::kDeadlineExceeded:
        return 408;
      default:
        return 400;
    }
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
      resp.setStatus(HTTPResponse::HTTP_OK);
      resp.setContentType("text/plain; version=0.0.4");
      resp.setContentLength(static_cast<std::streamsize>(text.size()));
      resp.send() << text;
      return 200;
    }
    TokenRecord token = authenticate(req);
    const std::string prefix = "/api/v1/devices/";
    if (path == "/api/v1/devices" && method == "GET") return devices(q, resp);
    if (path == "/api/v1/devices.csv" && method == "GET") return csv(q, resp);
    if (path == "/api/v1/feed" && method == "GET") return feed(q, resp);
    if (path.rfind(prefix, 0) == 0) {
      std::string rest = path.substr(prefix.size());
      std::string id = rest.substr(0, rest.find('/'));
      std::string tail = rest.size() > id.size() ? rest.substr(id.size()) : "";
      if (id.empty() || id.size() > 64) throw HttpError{404, "no such device"};
      if (tail.empty() && method == "GET") return device(id, resp);
      if (tail == "/history" && method == "GET") return history(id, q, resp);
      if (tail == "/retire" && method == "POST") {
        if (token.scope != "admin") throw HttpError{403, "this token may only read"};
        return retire(id, token, resp);
      }
      throw HttpError{tail.empty() || tail == "/history" || tail == "/retire" ? 405 : 404,
                      "no such endpoint"};
    }
    throw HttpError{404, "no such endpoint"};
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
      if (s != "compliant" && s != "noncompliant" && s != "unknown" && s != "stale") {
        throw HttpError{400, "status must be compliant, noncompliant, unknown or stale"};
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

  int csv(const std::map<std::string, std::string>& q, HTTPServerResponse& resp) {
    DeviceFilter f = filterFrom(q, 1000);
    std::string out =
        "device_id,hostname,owner,level,status,last_seen,agent_version,failing_checks\r\n";
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
               csvCell(d.owner.value_or("")) + "," + csvCell(d.level) + "," + csvCell(d.status) +
               "," + csvCell(d.last_seen ? formatRfc3339(*d.last_seen) : "") + "," +
               csvCell(d.agent_version) + "," + csvCell(text::join(failing, " ")) + "\r\n";
      }
      if (static_cast<int>(list->size()) < f.limit || list->empty()) break;
      f.after = list->back().device_id;
      if (out.size() > (256u << 20)) throw HttpError{413, "export too large; filter it"};
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
    Status s = app_.store->retireDevice(id, std::chrono::system_clock::now());
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
    Poco::ThreadPool device_pool("devices", 2, options.max_threads);
    Poco::ThreadPool admin_pool("admin", 1, options.max_threads);
    ConnectionWatchdog device_watchdog(options.request_deadline);
    ConnectionWatchdog admin_watchdog(options.request_deadline);
    g_watchdog_devices = &device_watchdog;
    g_watchdog_admin = &admin_watchdog;
    Poco::Net::HTTPServerParams::Ptr device_params = makeParams();
    Poco::Net::HTTPServerParams::Ptr admin_params = makeParams();
    Poco::Net::TCPServer device_server(
        new GuardedConnectionFactory(device_params, new Factory<DeviceHandler>(app),
                                     device_watchdog),
        device_pool, device_socket, device_params);
    Poco::Net::TCPServer admin_server(
        new GuardedConnectionFactory(admin_params, new Factory<AdminHandler>(app), admin_watchdog),
        admin_pool, admin_socket, admin_params);
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
    device_server.stop();
    admin_server.stop();
    device_watchdog.closeAll();  // in-flight keep-alive connections end now
    admin_watchdog.closeAll();
    device_pool.joinAll();
    admin_pool.joinAll();
    g_watchdog_devices = nullptr;
    g_watchdog_admin = nullptr;
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
