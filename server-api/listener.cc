// The listener's acceptor and gate: accept, wait (epoll) for the client's first TLS record,
// then hand the connection to the workers (or the overflow responder).
#include "listener.h"

#include <algorithm>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>

namespace hearth::server {

namespace {

constexpr uint8_t kTlsHandshakeRecord = 0x16;
constexpr size_t kTlsRecordHeader = 5;
constexpr size_t kMaxTlsRecord = 16384 + 2048;  // TLSCiphertext's limit

void addToEpoll(int epoll, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
}

}  // namespace

Listener::Listener(std::string name, const Poco::Net::ServerSocket& socket,
                   Poco::Net::TCPServerConnectionFactory::Ptr factory, Poco::ThreadPool& pool,
                   Poco::Net::TCPServerParams::Ptr params, GateLimits limits,
                   OverflowResponder& overflow, Metrics& metrics)
    : name_(std::move(name)),
      socket_(socket),
      params_(params),
      dispatcher_(new Poco::Net::TCPServerDispatcher(factory, pool, params)),
      limits_(limits),
      overflow_(overflow),
      metrics_(metrics) {
  limits_.pending_per_address = std::max(1, limits_.pending_per_address);
  limits_.max_pending = std::max<size_t>(1, limits_.max_pending);
}

Listener::~Listener() {
  stop();
  dispatcher_->release();
}

void Listener::start() {
  // The kernel keeps a connection that has sent nothing out of accept() for a second or so (one
  // SYN-ACK retransmission): a flood of silent connections reaches the gate slowed down, and a
  // real client's connection arrives with its ClientHello already there, so acceptOne() hands it
  // on at once and no later arrival of its address can evict it. Silent connections the kernel
  // delivers after that (or under SYN cookies) meet the gate as before. Best effort: without it
  // the gate alone holds the line.
  int defer = 1;
  (void)::setsockopt(static_cast<int>(socket_.impl()->sockfd()), IPPROTO_TCP, TCP_DEFER_ACCEPT,
                     &defer, sizeof defer);
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_ < 0 || wake_ < 0) throw Poco::SystemException("epoll for the listener " + name_);
  addToEpoll(epoll_, static_cast<int>(socket_.impl()->sockfd()), EPOLLIN);
  addToEpoll(epoll_, wake_, EPOLLIN);
  thread_ = std::thread([this] { loop(); });
}

void Listener::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);
  thread_.join();
  while (!order_.empty()) release(order_.front());
  dispatcher_->stop();
  ::close(wake_);
  ::close(epoll_);
}

void Listener::loop() {
  BlockAllSignals();
  const int listen_fd = static_cast<int>(socket_.impl()->sockfd());
  std::vector<epoll_event> events(256);
  while (!stop_) {
    // Sleep until the oldest waiting connection's deadline at most (and 250 ms).
    auto wait = std::chrono::milliseconds(250);
    if (!order_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          pending_.at(order_.front()).accepted + limits_.handshake_timeout - Clock::now());
      wait = std::clamp(left + std::chrono::milliseconds(1), std::chrono::milliseconds(0), wait);
    }
    int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                         static_cast<int>(wait.count()));
    for (int i = 0; i < n && !stop_; ++i) {
      int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == listen_fd) {
        acceptOne();
      } else if (fd != wake_ && pending_.count(fd) != 0) {
        switch (look(fd)) {
          case Ready::kDispatch:
            dispatch(fd);
            break;
          case Ready::kDrop:
            release(fd);  // the client went away
            break;
          case Ready::kWait:
            break;
        }
      }
    }
    auto now = Clock::now();
    while (!order_.empty() &&
           now - pending_.at(order_.front()).accepted >= limits_.handshake_timeout) {
      closePending(order_.front(), "handshake_timeout");
    }
  }
}

void Listener::acceptOne() {
  Poco::Net::StreamSocket s;
  try {
    s = socket_.acceptConnection();  // a SecureStreamSocket: no TLS I/O yet
  } catch (const Poco::Exception&) {
    return;  // the client left before we took it, or out of descriptors: try again later
  }
  int fd = static_cast<int>(s.impl()->sockfd());
  std::string address;
  try {
    address = s.peerAddress().host().toString();
  } catch (const Poco::Exception&) {
    return;  // already gone
  }
  std::list<int>& mine = by_address_[address];
  if (mine.size() >= static_cast<size_t>(limits_.pending_per_address)) {
    closePending(mine.front(), "address_limit");
  }
  if (pending_.size() >= limits_.max_pending) closePending(order_.front(), "gate_full");
  std::list<int>& same = by_address_[address];  // closePending may have erased the entry
  order_.push_back(fd);
  same.push_back(fd);
  pending_.emplace(
      fd, Pending{s, address, Clock::now(), std::prev(order_.end()), std::prev(same.end())});
  ++pending_count_;
  // Edge-triggered: each new arrival wakes us once; a partial record waits for the next.
  addToEpoll(epoll_, fd, EPOLLIN | EPOLLRDHUP | EPOLLET);
  // A client's ClientHello is usually here already (always, with TCP_DEFER_ACCEPT): hand it on
  // now, before the next accepted connection of its address could evict it.
  switch (look(fd)) {
    case Ready::kDispatch:
      dispatch(fd);
      break;
    case Ready::kDrop:
      release(fd);
      break;
    case Ready::kWait:
      break;
  }
}

Listener::Ready Listener::look(int fd) {
  static thread_local std::vector<unsigned char> buf(kTlsRecordHeader + kMaxTlsRecord);
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return Ready::kDrop;
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Ready::kWait : Ready::kDrop;
  // Not TLS: the worker's handshake refuses it at once.
  if (buf[0] != kTlsHandshakeRecord) return Ready::kDispatch;
  if (static_cast<size_t>(n) < kTlsRecordHeader) return Ready::kWait;
  size_t length = (static_cast<size_t>(buf[3]) << 8) | buf[4];
  if (length > kMaxTlsRecord) return Ready::kDispatch;
  return static_cast<size_t>(n) >= kTlsRecordHeader + length ? Ready::kDispatch : Ready::kWait;
}

void Listener::dispatch(int fd) {
  Poco::Net::StreamSocket s = release(fd);
  // Only this thread enqueues: a queue found below its limit is still below it when enqueued.
  if (dispatcher_->queuedConnections() >= params_->getMaxQueued()) {
    if (!overflow_.offer(s)) metrics_.rejected(name_);
    return;
  }
  try {
    s.setNoDelay(true);
  } catch (const Poco::Exception&) {
    return;  // gone
  }
  dispatcher_->enqueue(s);
}

Poco::Net::StreamSocket Listener::release(int fd) {
  auto it = pending_.find(fd);
  Poco::Net::StreamSocket s = it->second.socket;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  order_.erase(it->second.in_order);
  auto addr = by_address_.find(it->second.address);
  addr->second.erase(it->second.in_address);
  if (addr->second.empty()) by_address_.erase(addr);
  pending_.erase(it);
  --pending_count_;
  return s;
}

void Listener::closePending(int fd, const char* reason) {
  Poco::Net::StreamSocket s = release(fd);
  metrics_.unspoken(name_, reason);
  try {
    s.close();  // plain TCP close: no TLS was spoken
  } catch (const Poco::Exception&) {
  }
}

}  // namespace hearth::server
