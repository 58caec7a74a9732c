// The agent and wrong clocks, and damaged credentials (issue 13, defects 7 and 8): the real
// hearth-agent and hearth-server on loopback, their clocks moved apart with libfaketime. An agent
// clock far ahead no longer renews on every cycle (renewal is judged by the server's Date), the
// server refuses a second renewal within a day, a server clock behind the certificate is
// explained rather than reported as a network error, and a damaged device key or certificate
// says what is wrong and that enrolling again fixes it.
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "integration/delivery_harness.h"
#include "support/curl_cli.h"

namespace hearth {
namespace {

using namespace delivery_harness;  // NOLINT(google-build-using-namespace): the shared fixtures

const std::string kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

class AgentClockTest : public DeliveryHarness {
 protected:
  void SetUp() override {
    if (::access(kFaketime.c_str(), R_OK) != 0) {
      GTEST_SKIP() << kFaketime << " is missing (Debian package faketime; scripts/install-deps)";
    }
    RemoveStaleFaketimeObjects();
    initServer();
    serve("");
    enroll(devices_);
  }

  void TearDown() override {
    server_.reset();
    RemoveStaleFaketimeObjects();
  }

  // argv run with the clock moved by `offset` ("+200d", "-2d"; "" leaves it alone).
  static std::vector<std::string> faked(const std::string& offset, std::vector<std::string> argv) {
    if (offset.empty()) return argv;
    argv.insert(argv.begin(), {"/usr/bin/env", "LD_PRELOAD=" + kFaketime, "FAKETIME=" + offset,
                               "FAKETIME_DONT_FAKE_MONOTONIC=1"});
    return argv;
  }

  // (Re)starts the server with its clock moved by `offset`, on the address enrolled with.
  void serve(const std::string& offset) {
    server_.reset();
    server_ = std::make_unique<testing::ServerProcess>(
        faked(offset, {kServer, "serve", "--state-dir", server_state_, "--listen",
                       devices_.empty() ? "127.0.0.1:0" : devices_, "--admin-listen",
                       admin_.empty() ? "127.0.0.1:0" : admin_}),
        dir_.path() + "/server.log");
    ASSERT_TRUE(server_->started()) << ReadFile(dir_.path() + "/server.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  int renewedEvents() {
    int n = 0;
    json::Value feed = adminGet("/api/v1/feed?limit=1000");
    const json::Value* events = feed.find("events");
    if (events == nullptr || !events->isArray()) {
      ADD_FAILURE() << "no events in " << json::write(feed);
      return -1;
    }
    for (const auto& ev : events->asArray()) {
      if (ev.find("type")->asString() == "renewed") ++n;
    }
    return n;
  }

  // POST /api/v1/renew presenting `cert_pem`/`key_pem`, for a new key; the HTTP status (0 when
  // the handshake failed), the body and the answer's headers.
  int renew(const std::string& cert_pem, const std::string& key_pem, std::string* new_cert,
            std::string* new_key, std::string* answer) {
    auto key = protocol::Key::generateP256();
    protocol::RenewRequest req;
    req.csr = *protocol::MakeCsr(*key, device_id_);
    testing::CurlAnswer a = request(cert_pem, key_pem, "/api/v1/renew", json::write(req.toJson()));
    if (answer != nullptr) *answer = a.headers + a.body;
    if (a.status == 200) {
      *new_cert = protocol::RenewResponse::parse(a.body)->certificate;
      *new_key = *key->privatePem();
    }
    return a.status;
  }

  // A request to the devices' listener presenting `cert_pem`/`key_pem`; POSTs `json_body` when
  // given.
  testing::CurlAnswer request(const std::string& cert_pem, const std::string& key_pem,
                              const std::string& path,
                              std::optional<std::string> json_body = std::nullopt) {
    return testing::Curl("https://" + devices_ + path, {.ca_file = server_state_ + "/ca.pem",
                                                        .cert_pem = cert_pem,
                                                        .key_pem = key_pem,
                                                        .json_body = std::move(json_body)});
  }

  std::string statusField(const std::string& name) {
    json::Value s = status();
    const json::Value* v = s.find(name);
    return v != nullptr && v->isString() ? v->asString() : "";
  }

  std::string devices_;
  std::unique_ptr<testing::ServerProcess> server_;
};

// Defect 7: an agent clock 200 days ahead (past half of a one-year certificate by its own clock)
// renewed on every cycle: a new key and a `renewed` event every 15 minutes. Judged by the
// server's clock (the Date of its answers) the certificate is fresh: no renewal at all.
TEST_F(AgentClockTest, Defect7AgentClockFarAheadDoesNotRenewOnEveryCycle) {
  expectRun(runOnce(), "report 1 spooled; 1 delivered; 0 waiting");
  const std::string cert0 = ReadFile(agent_ + "/device.pem");
  agent_prefix_ = faked("+200d", {});
  for (int cycle = 0; cycle < 3; ++cycle) {
    RunResult r = runOnce();
    EXPECT_EQ(r.out.exit_code, 0) << r.out.out << r.out.err;
    EXPECT_EQ(r.out.err.find("renewed this PC's certificate"), std::string::npos) << r.out.err;
  }
  EXPECT_EQ(ReadFile(agent_ + "/device.pem"), cert0) << "renewed on a wrong clock";
  EXPECT_EQ(renewedEvents(), 0);
}

// Defect 7, the server's limit: a device that renewed less than a day ago is refused another
// renewal (429 renewed_recently, with Retry-After), unless its certificate is in its last days;
// a day later it may renew again. The enrolment's certificate may be renewed at once.
TEST_F(AgentClockTest, Defect7ServerRefusesASecondRenewalWithinADay) {
  const std::string cert0 = ReadFile(agent_ + "/device.pem"),
                    key0 = ReadFile(agent_ + "/device.key");
  // (The server tells the enrolment's certificate by its issue time, to the second.)
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  std::string cert1, key1, cert2, key2, answer;
  ASSERT_EQ(renew(cert0, key0, &cert1, &key1, &answer), 200) << answer;
  ASSERT_EQ(request(cert1, key1, "/api/v1/policy").status, 200);  // now the device's certificate
  EXPECT_EQ(renew(cert1, key1, &cert2, &key2, &answer), 429) << answer;
  EXPECT_NE(answer.find("renewed_recently"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Retry-After:"), std::string::npos) << answer;
  EXPECT_EQ(renewedEvents(), 1);

  serve("+2d");
  EXPECT_EQ(renew(cert1, key1, &cert2, &key2, &answer), 200) << answer;
}

// Defect 8: the server's clock two days behind the PC's certificate (not valid yet for it): the
// TLS alert was classed `network` with OpenSSL's raw text. It is a TLS failure, explained.
TEST_F(AgentClockTest, Defect8ServerClockBehindIsExplainedNotANetworkError) {
  expectRun(runOnce(), "report 1 spooled; 1 delivered; 0 waiting");
  serve("-2d");
  RunResult r = runOnce();
  expectRun(r, "report 2 spooled; 0 delivered; 1 waiting");
  const std::string problem = statusField("delivery_error");
  EXPECT_NE(problem.find("the server's clock is behind"), std::string::npos) << problem;
  EXPECT_NE(r.out.err.find("(tls_failure)"), std::string::npos) << r.out.err;
  serve("");
  expectRun(runOnce(), "report 3 spooled; 2 delivered; 0 waiting");
}

// Defect 8: a damaged device key said "unable to set private key file: '(memory blob)'" and
// `status` showed no problem. Now both say what is wrong and that enrolling again is the fix.
TEST_F(AgentClockTest, Defect8DamagedDeviceKeyOrCertificateSaysWhatIsWrong) {
  expectRun(runOnce(), "report 1 spooled; 1 delivered; 0 waiting");
  const std::string key = ReadFile(agent_ + "/device.key"), cert = ReadFile(agent_ + "/device.pem");
  for (const std::string file : {"device.key", "device.pem"}) {
    // The key: bytes of its private part (it still reads as a key); the certificate: its
    // middle half.
    std::string damaged = file == "device.key" ? key : cert;
    const size_t from = damaged.size() / (file == "device.key" ? 3 : 4);
    const size_t to = file == "device.key" ? from + 24 : damaged.size() * 3 / 4;
    for (size_t i = from; i < to; ++i) {
      if (damaged[i] != '\n') damaged[i] = damaged[i] == 'A' ? 'B' : 'A';
    }
    { std::ofstream(agent_ + "/" + file, std::ios::trunc) << damaged; }
    RunResult r = runOnce();
    EXPECT_EQ(r.out.exit_code, 0) << r.out.out << r.out.err;
    EXPECT_EQ(r.out.err.find("memory blob"), std::string::npos) << r.out.err;
    const std::string problem = statusField("certificate_problem");
    EXPECT_NE(problem.find("device key or certificate cannot be used"), std::string::npos)
        << file << ": " << problem;
    EXPECT_NE(problem.find("(" + file + ")"), std::string::npos) << problem;
    EXPECT_NE(problem.find("hearth-agent enroll"), std::string::npos) << problem;
    auto shown = agent({"status"});
    EXPECT_NE(shown.out.find("hearth-agent enroll"), std::string::npos) << shown.out;
    { std::ofstream(agent_ + "/device.key", std::ios::trunc) << key; }
    { std::ofstream(agent_ + "/device.pem", std::ios::trunc) << cert; }
  }
}

}  // namespace
}  // namespace hearth
