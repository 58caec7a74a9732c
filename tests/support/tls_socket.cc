// The raw TLS test connection (OpenSSL) and plain TCP connections from a chosen source address.
#include "support/tls_socket.h"

#include <arpa/inet.h>
#include <cctype>
#include <cstdlib>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace hearth::testing {

namespace {

using Clock = std::chrono::steady_clock;

bool parseAddress(const std::string& address, sockaddr_in& out) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  return ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

SSL* asSsl(void* p) { return static_cast<SSL*>(p); }

}  // namespace

const std::string& ClientHelloBytes() {
  static const std::string bytes = [] {
    std::string out;
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = ctx != nullptr ? SSL_new(ctx) : nullptr;
    BIO* in = BIO_new(BIO_s_mem());
    BIO* to_server = BIO_new(BIO_s_mem());
    if (ssl != nullptr && in != nullptr && to_server != nullptr) {
      SSL_set_bio(ssl, in, to_server);  // owned by ssl from here
      (void)SSL_connect(ssl);           // writes the ClientHello, then wants the server's answer
      char* data = nullptr;
      long n = BIO_get_mem_data(to_server, &data);
      if (n > 0) out.assign(data, static_cast<size_t>(n));
    } else {
      BIO_free(in);
      BIO_free(to_server);
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return out;
  }();
  return bytes;
}

int ConnectTcp(const std::string& address, const std::string& from) {
  sockaddr_in to{};
  if (!parseAddress(address, to)) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!from.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, from.c_str(), &src.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd);
      return -1;
    }
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TlsSocket::TlsSocket(const std::string& address, const std::string& cert_file,
                     const std::string& key_file, const std::string& from) {
  fd_ = ConnectTcp(address, from);
  if (fd_ < 0) return;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ctx_ = ctx;
  if (ctx == nullptr) return;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (!cert_file.empty() &&
      (SSL_CTX_use_certificate_file(ctx, cert_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    return;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd_);
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (SSL_connect(ssl) != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    return;
  }
  ssl_ = ssl;
}

TlsSocket::~TlsSocket() {
  if (ssl_ != nullptr) SSL_free(asSsl(ssl_));
  if (ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
}

bool TlsSocket::send(const std::string& bytes) {
  if (ssl_ == nullptr) return false;
  size_t off = 0;
  while (off < bytes.size()) {
    int n = SSL_write(asSsl(ssl_), bytes.data() + off, static_cast<int>(bytes.size() - off));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool TlsSocket::fill(Clock::time_point deadline) {
  if (ssl_ == nullptr) return false;
  char buf[16384];
  while (true) {
    if (SSL_pending(asSsl(ssl_)) == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    }
    int n = SSL_read(asSsl(ssl_), buf, sizeof buf);
    if (n > 0) {
      buffer_.append(buf, static_cast<size_t>(n));
      return true;
    }
    int err = SSL_get_error(asSsl(ssl_), n);
    ERR_clear_error();
    if (err != SSL_ERROR_WANT_READ) return false;  // closed or broken
  }
}

RawHttpAnswer TlsSocket::readAnswer(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  RawHttpAnswer out;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return out;
  }
  std::string head = buffer_.substr(0, end + 2);
  size_t length = 0;
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (size_t p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
    length = std::strtoul(head.c_str() + p + 17, nullptr, 10);
  }
  while (buffer_.size() < end + 4 + length) {
    if (!fill(deadline)) return out;
  }
  out.head = head;
  out.body = buffer_.substr(end + 4, length);
  buffer_.erase(0, end + 4 + length);
  if (head.size() > 12 && head.starts_with("HTTP/1.")) out.status = std::atoi(head.c_str() + 9);
  return out;
}

bool TlsSocket::closedWithin(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!fill(deadline)) return Clock::now() < deadline;
    buffer_.clear();
  }
  return false;
}

}  // namespace hearth::testing
