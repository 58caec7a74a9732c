// Fuzzes HTTP requests as hearth-server's two listeners see them: the input is sent as the raw
// bytes of a connection to an in-process server (both listeners, plain TCP on loopback instead of
// TLS, over a SQLite store in a scratch directory, with one admin token "hearth-fuzz-admin" and
// one read token "hearth-fuzz-read" the seeds use). Poco parses the request line and headers
// (HTTPServerConnection, HTTPRequest::read: Poco's own parser, fuzzed here only through what it
// hands on); ours is everything after it: the route and Poco::URI's decoding of the path and
// query (percent-decoding), the query parameters (QueryParams, ParseLimit, ParseCursor), the
// bearer header, the bounded body reader (ReadBody), the JSON bodies and the error edge
// (RouteHandler). The contract:
//  - every connection gets its answers within the request deadline (no hang), each with a valid
//    status line;
//  - nothing the client sends makes a 500 (an internal error) — except on the devices' listener
//    the routes that read the client certificate, which a plain socket does not have (a harness
//    limit: there the TLS layer always provides one);
//  - every JSON answer parses, and a JSON error answer carries "error" (the spec's ErrorBody).
#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "admin_api.h"
#include "connection_guard.h"
#include "device_api.h"
#include "fuzz_assert.h"
#include "hearth/json.h"
#include "hearth/log.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"
#include "hearth/text.h"
#include "http_connection.h"
#include "server_context.h"

using namespace hearth;
using namespace hearth::server;

namespace {

constexpr auto kAnswerWithin = std::chrono::seconds(12);  // the request deadline is 10 s

struct Listener {
  std::unique_ptr<ConnectionWatchdog> watchdog;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::TCPServer> server;
  uint16_t port = 0;
};

struct Harness {
  std::string dir;
  std::ostringstream log_text;
  std::unique_ptr<Logger> log;
  ServerContext context;
  Listener devices, admin;

  Harness() {
    char tmpl[] = "/tmp/hearth-http-fuzz-XXXXXX";
    FUZZ_ASSERT(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    auto now = std::chrono::system_clock::now();
    InitOptions init;
    init.state_dir = dir + "/state";
    init.policy_text = ExamplePolicy();
    init.policy_source = "example";
    init.now = now;
    FUZZ_ASSERT(InitServerState(init).ok());
    log = std::make_unique<Logger>(log_text, LogLevel::kError, LogFormat::ForStderr("fuzz"));
    context.options.state_dir = init.state_dir;
    context.log = log.get();
    auto keys = LoadServerKeys(init.state_dir);
    FUZZ_ASSERT(keys.ok());
    context.keys = std::move(keys).value();
    auto store = OpenStore(DatabaseUri(init.state_dir, ""));
    FUZZ_ASSERT(store.ok());
    context.store = std::move(store).value();
    for (const char* scope : {"admin", "read"}) {
      TokenRecord t;
      t.name = std::string("fuzz-") + scope;
      t.scope = scope;
      t.created_at = now;
      FUZZ_ASSERT(
          context.store->createToken(HashSecret(std::string("hearth-fuzz-") + scope), t).ok());
    }
    context.ingestor = std::make_unique<Ingestor>(*context.store);
    // No enrolment rate limit: the fuzzer sends thousands of requests from one address.
    context.enroll_limiter =
        std::make_unique<RateLimiter>(RateLimit{1e9, 1e9}, RateLimit{1e9, 1e9});
  }
};

Harness* harness = nullptr;

void startListener(Listener& l, bool devices) {
  l.watchdog = std::make_unique<ConnectionWatchdog>(std::chrono::milliseconds(10000));
  l.pool = std::make_unique<Poco::ThreadPool>(2, 4);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(4);
  params->setMaxQueued(64);
  params->setTimeout(Poco::Timespan(5, 0));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  params->setSoftwareVersion("");
  Poco::Net::HTTPServerParams::Ptr p(params);
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory(
      devices ? NewDeviceHandlerFactory(harness->context, *l.watchdog)
              : NewAdminHandlerFactory(harness->context, *l.watchdog));
  l.server = std::make_unique<Poco::Net::TCPServer>(
      new GuardedConnectionFactory(p, factory, *l.watchdog), *l.pool, socket, p);
  l.port = socket.address().port();
  l.server->start();
}

// Sends `request` on a new connection to `port`, closes the sending side, and returns all that
// came back until the server closed the connection.
std::string converse(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_ASSERT(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_ASSERT(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{};
  tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kAnswerWithin).count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t off = 0;
  while (off < request.size()) {
    ssize_t w = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (w <= 0) break;  // the server may close early (an error answer): read what it said
    off += static_cast<size_t>(w);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + kAnswerWithin;
  char buf[16384];
  while (true) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      answer.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (r == 0) break;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) break;
    // A timeout: the server neither answered nor closed within its own deadline.
    FUZZ_ASSERT(errno != EAGAIN && errno != EWOULDBLOCK);
    break;
  }
  FUZZ_ASSERT(std::chrono::steady_clock::now() <= deadline + std::chrono::seconds(1));
  ::close(fd);
  return answer;
}

// The decoded path of the request's target, as the handlers compute it ("" when Poco refuses).
std::string pathOf(const std::string& request) {
  size_t sp1 = request.find(' ');
  if (sp1 == std::string::npos) return "";
  size_t sp2 = request.find_first_of(" \r\n", sp1 + 1);
  std::string target = request.substr(sp1 + 1, sp2 == std::string::npos ? sp2 : sp2 - sp1 - 1);
  try {
    return Poco::URI(target).getPath();
  } catch (const Poco::Exception&) {
    return "";
  }
}

// Checks every answer in `answers` (pipelined requests get one each).
void checkAnswers(const std::string& answers, bool devices, const std::string& request) {
  size_t pos = 0;
  while (pos < answers.size()) {
    size_t head_end = answers.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) std::fprintf(stderr, "answer: %s\n", answers.c_str());
    FUZZ_ASSERT(head_end != std::string::npos);
    std::string head = answers.substr(pos, head_end - pos);
    if (!head.starts_with("HTTP/1.")) std::fprintf(stderr, "answer: %s\n", answers.c_str());
    FUZZ_ASSERT(head.starts_with("HTTP/1.") && head.size() >= 12 && head[8] == ' ');
    auto status = text::parseInt(head.substr(9, 3));
    FUZZ_ASSERT(status && *status >= 100 && *status <= 599);
    size_t length = 0;
    std::string content_type;
    for (const auto& line : text::splitLines(head)) {
      std::string lower = text::toLower(line);
      if (lower.starts_with("content-length:")) {
        auto n = text::parseInt(text::trim(line.substr(15)));
        FUZZ_ASSERT(n && *n >= 0);
        length = static_cast<size_t>(*n);
      } else if (lower.starts_with("content-type:")) {
        content_type = text::trim(lower.substr(13));
      }
    }
    pos = head_end + 4;
    FUZZ_ASSERT(pos + length <= answers.size());
    std::string body = answers.substr(pos, length);
    pos += length;
    if (*status == 500) {
      std::string path = pathOf(request);
      bool needs_certificate =
          path == "/api/v1/policy" || path == "/api/v1/reports" || path == "/api/v1/renew";
      FUZZ_ASSERT(devices && needs_certificate);
    }
    if (content_type.starts_with("application/json")) {
      auto v = json::parse(body);
      FUZZ_ASSERT(v.ok() && v->isObject());
      if (*status >= 400) {
        const auto* e = v->find("error");
        FUZZ_ASSERT(e != nullptr && e->isString() && !e->asString().empty());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  if (harness == nullptr) {
    harness = new Harness;
    startListener(harness->devices, true);
    startListener(harness->admin, false);
    std::atexit([] {
      harness->devices.server->stop();
      harness->admin.server->stop();
      harness->devices.watchdog->closeAll();
      harness->admin.watchdog->closeAll();
      harness->devices.pool->joinAll();
      harness->admin.pool->joinAll();
      std::error_code ec;
      std::filesystem::remove_all(harness->dir, ec);
    });
  }
  std::string request(reinterpret_cast<const char*>(data), size);
  checkAnswers(converse(harness->admin.port, request), false, request);
  checkAnswers(converse(harness->devices.port, request), true, request);
  return 0;
}
