// HTTP conformance of both listeners (issue 12, defects 6 and 7), over raw TLS sockets against a
// real hearth-server: each malformed or unusual request the hands-on attacks found, and the
// answer the API promises (status, and the JSON error body {"error", "code"} of openapi.json's
// Error schema). Before the fixes: a bad %-escape answered 500; an unread body was parsed as the
// next request; two different Content-Lengths waited for the second (408); HTTP/9.9 was answered
// in HTTP/9.9; "bearer" in lower case was refused; Poco's own 400s (no version, too many header
// fields, a URI too long) had no body.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/files.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/tls_socket.h"

namespace hearth {
namespace {

using testing::RawHttpAnswer;
using testing::TlsSocket;

class HttpConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(server_.init().exit_code, 0);
    ASSERT_TRUE(server_.serve(dir_.path() + "/server.log"))
        << testing::ReadFile(dir_.path() + "/server.log");
    token_ = server_.adminToken();
  }

  // Sends `request` on a new connection to `listener` and reads one answer.
  RawHttpAnswer ask(const std::string& listener, const std::string& request) {
    TlsSocket s(server_.address(listener));
    EXPECT_TRUE(s.ok()) << listener;
    EXPECT_TRUE(s.send(request));
    return s.readAnswer();
  }

  // The answer is `status` with the JSON error body carrying `code`.
  static void expectJsonError(const RawHttpAnswer& a, int status, const std::string& code) {
    EXPECT_EQ(a.status, status) << a.head << a.body;
    EXPECT_NE(a.head.find("Content-Type: application/json"), std::string::npos) << a.head;
    auto body = json::parse(a.body);
    ASSERT_TRUE(body.ok()) << "not JSON: " << a.body;
    ASSERT_NE(body->find("error"), nullptr) << a.body;
    EXPECT_TRUE(body->find("error")->isString()) << a.body;
    ASSERT_NE(body->find("code"), nullptr) << a.body;
    EXPECT_EQ(body->find("code")->asString(), code) << a.body;
  }

  std::string get(const std::string& path, const std::string& more_headers = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: hearth\r\n" + more_headers + "\r\n";
  }

  testing::TempDir dir_;
  testing::TestServer server_{dir_.path() + "/state"};
  std::string token_;
};

TEST_F(HttpConformanceTest, EveryCaseOfDefects6And7IsAnsweredAsTheSpecSays) {
  {
    SCOPED_TRACE("defect 6: a malformed %-escape is 400, on both listeners, before authentication");
    expectJsonError(ask("admin", get("/api/v1/devices/%zz")), 400, "bad_request");
    expectJsonError(ask("devices", get("/api/v1/%G1")), 400, "bad_request");
  }
  {
    SCOPED_TRACE("defect 7: an unread body is not read as the next request on keep-alive");
    TlsSocket s(server_.address("admin"));
    ASSERT_TRUE(s.ok());
    std::string smuggled =
        "POST /api/v1/devices/x/retire HTTP/1.1\r\nHost: hearth\r\n"
        "Authorization: Bearer " +
        token_ + "\r\nContent-Length: 0\r\n\r\n";
    ASSERT_TRUE(s.send("POST /api/v1/feed HTTP/1.1\r\nHost: hearth\r\nAuthorization: Bearer " +
                       token_ + "\r\nContent-Length: " + std::to_string(smuggled.size()) +
                       "\r\n\r\n" + smuggled));
    expectJsonError(s.readAnswer(), 405, "method_not_allowed");
    ASSERT_TRUE(s.send(get("/healthz")));
    RawHttpAnswer next = s.readAnswer();
    // Either the body was drained and the next request is answered, or the connection was
    // closed: never an answer to the smuggled request.
    if (next.status != 0) {
      EXPECT_EQ(next.status, 200) << next.head << next.body;
      EXPECT_EQ(next.body, R"({"status":"ok"})");
    }
  }
  {
    SCOPED_TRACE("defect 7: two different Content-Length values are 400 (RFC 9112 6.3)");
    // Before: the first length was used and the POST routed (405), in step or not.
    TlsSocket s(server_.address("admin"));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send("POST /api/v1/feed HTTP/1.1\r\nHost: hearth\r\nAuthorization: Bearer " +
                       token_ + "\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"));
    expectJsonError(s.readAnswer(std::chrono::seconds(5)), 400, "bad_request");
    EXPECT_TRUE(s.closedWithin(std::chrono::seconds(10))) << "the framing is lost: close";
    // The same value twice is one length: the request is routed (405 for POST on the feed).
    expectJsonError(ask("admin",
                        "POST /api/v1/feed HTTP/1.1\r\nHost: hearth\r\nAuthorization: "
                        "Bearer " +
                            token_ +
                            "\r\nContent-Length: 2\r\n"
                            "Content-Length: 02\r\n\r\n{}"),
                    405, "method_not_allowed");
  }
  {
    SCOPED_TRACE("defect 7: HTTP/9.9 is 505, answered in HTTP/1.1");
    RawHttpAnswer a = ask("admin", "GET /healthz HTTP/9.9\r\nHost: hearth\r\n\r\n");
    expectJsonError(a, 505, "unsupported_version");
    EXPECT_TRUE(a.head.starts_with("HTTP/1.1 505")) << a.head;
  }
  {
    SCOPED_TRACE("defect 7: the bearer scheme is case-insensitive");
    for (const char* scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
      RawHttpAnswer a = ask("admin", get("/api/v1/devices", std::string("Authorization: ") +
                                                                scheme + " " + token_ + "\r\n"));
      EXPECT_EQ(a.status, 200) << scheme << ": " << a.body;
    }
    expectJsonError(
        ask("admin", get("/api/v1/devices", "Authorization: Bearerx " + token_ + "\r\n")), 401,
        "unauthorized");
  }
  {
    SCOPED_TRACE("defect 7: Poco's own 400s carry the JSON error body");
    expectJsonError(ask("admin", "GET /healthz\r\n\r\n"), 400, "bad_request");
    std::string many;
    for (int i = 0; i < 150; ++i) many += "X-Header-" + std::to_string(i) + ": x\r\n";
    expectJsonError(ask("admin", get("/healthz", many)), 400, "bad_request");
    expectJsonError(ask("devices", get("/" + std::string(20000, 'a'))), 400, "bad_request");
    expectJsonError(ask("devices",
                        "POST /api/v1/enroll HTTP/1.1\r\nHost: hearth\r\n"
                        "Content-Length: 12abc\r\n\r\n"),
                    400, "bad_request");
  }
}

}  // namespace
}  // namespace hearth
