// A listener of `hearth-server serve`: accepts TLS connections and hands each to a worker thread
// only once its client has spoken (the whole first TLS record, its ClientHello, has arrived).
// It replaces Poco's TCPServer, whose acceptor hands every connection to a worker at once: the
// handshake then runs lazily inside the worker's first read (SecureSocketImpl::acceptConnection
// only sets up the SSL object), so a plain TCP connection that never sends a ClientHello held a
// worker for the read timeout, and a few hundred of them cut legitimate clients off (issue 12,
// defect 4).
//
// Until it has spoken, a connection waits in the gate: one thread, epoll, no worker. The gate is
// bounded per source address (`pending_per_address`) and in all (`max_pending`); when either is
// full, the address's (or the gate's) oldest waiting connection is closed to make room, so a
// client that speaks at once (it leaves the gate within a round trip) still gets in behind a NAT
// address or an address shared with a flood. A connection still silent `handshake_timeout` after
// it was accepted is closed. In a worker, the handshake has `handshake_timeout` again (the
// connection's first deadline, GuardedConnectionFactory), then each request the request deadline.
// When the workers' queue is full a connection goes to the overflow responder (503), as before.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerDispatcher.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>

#include "connection_guard.h"
#include "metrics.h"

namespace hearth::server {

struct GateLimits {
  std::chrono::milliseconds handshake_timeout{5000};
  int pending_per_address = 32;
  size_t max_pending = 4096;
};

// Thread-safe for the gauges; start() and stop() from one thread. `overflow` and `metrics`
// must outlive it.
class Listener {
 public:
  // `name` ("devices" or "admin") names it in the metrics. `params` gives the workers' pool size
  // and queue (max_queued: beyond it, the overflow responder).
  Listener(std::string name, const Poco::Net::ServerSocket& socket,
           Poco::Net::TCPServerConnectionFactory::Ptr factory, Poco::ThreadPool& pool,
           Poco::Net::TCPServerParams::Ptr params, GateLimits limits, OverflowResponder& overflow,
           Metrics& metrics);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // Stops accepting, closes the waiting connections and tells the workers to end when idle
  // (connections in a worker end with the watchdog's closeAll).
  void stop();

  int currentConnections() const { return dispatcher_->currentConnections(); }
  int queuedConnections() const { return dispatcher_->queuedConnections(); }
  int pendingConnections() const { return pending_count_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Poco::Net::StreamSocket socket;
    std::string address;
    Clock::time_point accepted;
    std::list<int>::iterator in_order, in_address;
  };
  enum class Ready { kWait, kDispatch, kDrop };

  void loop();
  void acceptOne();
  // Whether the client has sent its first TLS record whole (or anything that is not one).
  Ready look(int fd);
  void dispatch(int fd);
  // Takes `fd` out of the gate; returns its socket (closed when the copy goes).
  Poco::Net::StreamSocket release(int fd);
  void closePending(int fd, const char* reason);

  std::string name_;
  Poco::Net::ServerSocket socket_;
  Poco::Net::TCPServerParams::Ptr params_;
  Poco::Net::TCPServerDispatcher* dispatcher_;
  GateLimits limits_;
  OverflowResponder& overflow_;
  Metrics& metrics_;
  int epoll_ = -1;
  int wake_ = -1;  // eventfd: stop()
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // The gate (only the gate thread touches these).
  std::unordered_map<int, Pending> pending_;
  std::list<int> order_;  // by time accepted, oldest first
  std::map<std::string, std::list<int>> by_address_;
  std::atomic<int> pending_count_{0};
};

}  // namespace hearth::server
