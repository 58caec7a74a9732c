// The connection guard: the watchdog's thread, the overflow responder's threads and its 503
// answer.
#include "connection_guard.h"

#include <algorithm>
#include <cctype>
#include <signal.h>
#include <sys/socket.h>

#include <Poco/Net/SecureStreamSocket.h>

#include "http_error.h"

namespace hearth::server {

void BlockAllSignals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

ConnectionWatchdog::ConnectionWatchdog(std::chrono::milliseconds deadline, RetryAfterSizer* served)
    : deadline_(deadline), served_(served), thread_([this] { loop(); }) {}

ConnectionWatchdog::~ConnectionWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ConnectionWatchdog::touch(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  since_[fd] = Clock::now();
}

void ConnectionWatchdog::add(int fd, std::chrono::milliseconds limit) {
  std::lock_guard<std::mutex> lock(mu_);
  // Expires when now - since > deadline_, that is `limit` from now.
  since_[fd] = Clock::now() + (limit - deadline_);
}

void ConnectionWatchdog::allow(int fd, std::chrono::milliseconds extra) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = since_.find(fd);
  if (it != since_.end()) it->second = std::max(it->second, Clock::now() + extra);
}

void ConnectionWatchdog::remove(int fd) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    since_.erase(fd);
  }
  if (served_ != nullptr) served_->served(RetryAfterSizer::Clock::now());
}

void ConnectionWatchdog::closeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [fd, t] : since_) ::shutdown(fd, SHUT_RDWR);
}

void ConnectionWatchdog::loop() {
  BlockAllSignals();
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

OverflowResponder::OverflowResponder(std::string listener, Metrics& metrics,
                                     RetryAfterSizer* retry_after)
    : listener_(std::move(listener)),
      metrics_(metrics),
      retry_after_(retry_after),
      watchdog_(std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline)) {
  for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { loop(); });
}

OverflowResponder::~OverflowResponder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();  // closes them
  }
  cv_.notify_all();
  watchdog_.closeAll();
  for (auto& t : threads_) t.join();
}

bool OverflowResponder::offer(const Poco::Net::StreamSocket& socket) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.size() >= kMaxQueue) return false;
    queue_.emplace_back(socket, Clock::now());
  }
  cv_.notify_one();
  return true;
}

void OverflowResponder::loop() {
  BlockAllSignals();
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

size_t OverflowResponder::bodyToDrain(const std::string& head) {
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

void OverflowResponder::answer(Poco::Net::StreamSocket& raw) {
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
    std::string body = ErrorBody("the server is overloaded; retry later", "overloaded");
    int64_t retry_after = retry_after_ != nullptr
                              ? retry_after_->refuse(RetryAfterSizer::Clock::now())
                              : static_cast<int64_t>(kDefaultRetryAfterSeconds);
    std::string out =
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        "Cache-Control: no-store\r\n"
        "Retry-After: " +
        std::to_string(retry_after) +
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

}  // namespace hearth::server
