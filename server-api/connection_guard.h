// What guards the listeners' connections before and around Poco's HTTP handling, so that slow
// or surplus clients cannot take the server down:
//  - ConnectionWatchdog: a deadline per connection and request (slowloris);
//  - OverflowResponder: a connection the worker pool cannot take is answered 503 with
//    Retry-After by threads of its own instead of being dropped in silence.
// The listener (listener.h) hands connections to them; the HTTP connection (http_connection.h)
// registers itself with the watchdog. Each listener has its own watchdog and responder.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <Poco/Net/StreamSocket.h>

#include "hearth/server/retry_after.h"
#include "metrics.h"

namespace hearth::server {

// Blocks every signal in the calling thread: the server's own threads never take
// process-directed signals (the main thread sigwaits).
void BlockAllSignals();

// Per-connection deadline. Poco's timeouts are per read, so a client that trickles a byte every
// few seconds (slowloris) would hold a worker thread forever. Every connection must complete a
// request within `deadline` of being accepted or of its previous request; past it, its socket is
// shut down (the blocked read returns and the worker is free). Keep-alive idle time counts too.
// Thread-safe; owns one thread, joined when it is destroyed.
class ConnectionWatchdog {
 public:
  // `served`, when given (the devices' listener), is told of every connection that ends: the
  // rate the backlog-sized Retry-After is measured from. It must outlive the watchdog.
  explicit ConnectionWatchdog(std::chrono::milliseconds deadline,
                              RetryAfterSizer* served = nullptr);
  ~ConnectionWatchdog();
  ConnectionWatchdog(const ConnectionWatchdog&) = delete;
  ConnectionWatchdog& operator=(const ConnectionWatchdog&) = delete;

  // Starts the deadline of the connection on socket `fd`.
  void add(int fd) { touch(fd); }
  // Starts a deadline of `limit` instead (the TLS handshake's, shorter than a request's).
  void add(int fd, std::chrono::milliseconds limit);
  // Starts its deadline again (a request was completed).
  void touch(int fd);
  // Gives the connection `extra` more before its deadline starts to run (a request body that
  // may take that long at the minimum rate); never shortens it.
  void allow(int fd, std::chrono::milliseconds extra);
  // The connection is closed: no deadline any more.
  void remove(int fd);
  // Ends every connection now (shutdown).
  void closeAll();
  // Connections cut at their deadline so far.
  int64_t expired() const { return expired_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  void loop();

  std::chrono::milliseconds deadline_;
  RetryAfterSizer* served_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Clock::time_point> since_;
  bool stop_ = false;
  std::atomic<int64_t> expired_{0};
  std::thread thread_;
};

// Answers the connections the worker pool cannot take. Poco's TCPServerDispatcher closes a new
// connection without a word when every worker thread is busy and its queue is full; a client
// cannot tell that from a crash. The listener (listener.h) hands those connections here instead:
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

  // `listener` names it in the metrics ("devices" or "admin"); `metrics` must outlive it.
  // `retry_after`, when given, sizes each answer's Retry-After to the backlog (retry_after.h);
  // without it the answer says kDefaultRetryAfterSeconds. It must outlive the responder.
  OverflowResponder(std::string listener, Metrics& metrics, RetryAfterSizer* retry_after = nullptr);
  ~OverflowResponder();
  OverflowResponder(const OverflowResponder&) = delete;
  OverflowResponder& operator=(const OverflowResponder&) = delete;

  // Called by the acceptor thread; never blocks on the client. False when the queue is full.
  bool offer(const Poco::Net::StreamSocket& socket);

 private:
  using Clock = std::chrono::steady_clock;
  void loop();
  // How much body follows a request head: its Content-Length, or 0 when it has none, cannot be
  // read, or the client waits for "100 Continue" before sending the body (it never gets one).
  static size_t bodyToDrain(const std::string& head);
  void answer(Poco::Net::StreamSocket& raw);

  std::string listener_;
  Metrics& metrics_;
  RetryAfterSizer* retry_after_;
  ConnectionWatchdog watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Poco::Net::StreamSocket, Clock::time_point>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hearth::server
