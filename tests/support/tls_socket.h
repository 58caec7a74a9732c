// A raw TLS connection for tests that send HTTP bytes no ordinary client would (malformed request
// lines, two Content-Lengths, pipelined requests), with OpenSSL directly: connect to a loopback
// listener (optionally from a given source address, optionally with a client certificate), send
// bytes, read answers. The server is not verified (tests talk to their own server).
#pragma once

#include <chrono>
#include <string>

namespace hearth::testing {

struct RawHttpAnswer {
  int status = 0;  // 0: no complete answer
  std::string head;
  std::string body;
};

class TlsSocket {
 public:
  // Connects to "host:port" (from source address `from`, "" = any) and completes the
  // handshake, with a client certificate when `cert_file` is given; ok() says whether it did.
  explicit TlsSocket(const std::string& address, const std::string& cert_file = "",
                     const std::string& key_file = "", const std::string& from = "");
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  // Sends all of `bytes`; false when the connection broke.
  bool send(const std::string& bytes);
  // Reads one HTTP answer (head, then Content-Length bytes of body) within `timeout`.
  RawHttpAnswer readAnswer(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Whether the server closed the connection (a read returns end of stream or an error) within
  // `timeout`; bytes that arrive before are discarded.
  bool closedWithin(std::chrono::milliseconds timeout);

 private:
  // Up to `n` bytes into buffer_ within the deadline; false on end of stream, error or timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  void* ctx_ = nullptr;  // SSL_CTX*
  void* ssl_ = nullptr;  // SSL*
  std::string buffer_;
};

// The bytes of a TLS ClientHello (made once with OpenSSL into memory): what a connection sends
// first. A test that wants connections to stall inside the server's TLS handshake (holding a
// worker thread) sends these and nothing more.
const std::string& ClientHelloBytes();

// A plain TCP connection to "host:port" from source address `from` (any 127.0.0.0/8 address on
// loopback; "" = the kernel's choice), or -1. The caller closes it.
int ConnectTcp(const std::string& address, const std::string& from = "");

}  // namespace hearth::testing
