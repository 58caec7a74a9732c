// Device certificate lifecycle against the real hearth-server and hearth-agent: renewal at
// half-life over two simulated years (libfaketime moves both processes' clocks, so OpenSSL judges
// validity at the simulated time on both sides), the old certificate refused once the new one is
// used, renewal that survives a crash between the answer and its storage, and an agent left
// offline past its certificate's expiry.
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "integration/delivery_harness.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kServer = hearth::testing::ServerProgram();
const std::string kAgent = hearth::testing::AgentProgram();
const std::string kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true}}})";

using testing::PollUntil;
using testing::ReadFile;

std::string serialOf(const std::string& pem) {
  auto info = protocol::ParseCertificate(pem);
  return info.ok() ? info->serial_hex : "";
}

class CertLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kFaketime.c_str(), R_OK) != 0) {
      GTEST_SKIP() << kFaketime << " is missing (Debian package faketime; scripts/install-deps)";
    }
    delivery_harness::RemoveStaleFaketimeObjects();
    state_ = dir_.path() + "/server";
    agent_ = dir_.path() + "/agent";
    std::string policy = dir_.write("policy.json", kPolicy);
    server_ = std::make_unique<testing::TestServer>(state_);
    auto init = server_->init({"--policy", policy});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    dir_.write("agent.conf", "# test configuration\nproxy = none\n");
  }

  // argv run with the clock `days` ahead of now (both server and agent see the same time).
  static std::vector<std::string> at(int days, std::vector<std::string> argv) {
    argv.insert(argv.begin(),
                {"/usr/bin/env", "LD_PRELOAD=" + kFaketime,
                 "FAKETIME=+" + std::to_string(days) + "d", "FAKETIME_DONT_FAKE_MONOTONIC=1"});
    return argv;
  }

  // (Re)starts the server at simulated day `days`, on the address the agent enrolled with.
  void serveAt(int days, std::vector<std::string> extra = {}) {
    // Two simulated years: keep the whole history to count it (the default retention, 400 days,
    // would prune it).
    extra.insert(extra.begin(), {"--retention-days", "3650"});
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log",
                               {.listen = devices_.empty() ? "127.0.0.1:0" : devices_,
                                .admin_listen = admin_.empty() ? "127.0.0.1:0" : admin_,
                                .extra = extra,
                                .prefix = at(days, {})}))
        << ReadFile(dir_.path() + "/server.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  testing::ProcessOutput agentAt(int days, std::vector<std::string> args,
                                 const std::string& state_dir = "") {
    args.insert(args.begin(), kAgent);
    args.insert(args.end(), {"--state-dir", state_dir.empty() ? agent_ : state_dir, "--config",
                             dir_.path() + "/agent.conf"});
    return RunProcess(at(days, args));
  }

  testing::ProcessOutput enrollAt(int days, const std::string& state_dir = "") {
    return agentAt(days,
                   {"enroll", "--server", "https://" + devices_, "--secret-file",
                    state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem"},
                   state_dir);
  }

  testing::ProcessOutput serverCommand(int days, std::vector<std::string> args) {
    args.insert(args.begin(), kServer);
    args.insert(args.end(), {"--state-dir", state_});
    return RunProcess(at(days, args));
  }

  json::Value adminGet(const std::string& path) {
    std::string token = ReadFile(state_ + "/admin-token");
    token.pop_back();
    return testing::CurlAdminJson(admin_, state_ + "/ca.pem", token, path);
  }

  json::Value statusAt(int days, const std::string& state_dir = "") {
    auto s = agentAt(days, {"status", "--json"}, state_dir);
    auto v = json::parse(s.out);
    EXPECT_TRUE(v.ok()) << s.out << s.err;
    return v.ok() ? std::move(v).value() : json::Value();
  }

  // A request to the devices' listener with the given certificate and key (PEM text). Returns
  // the HTTP status, or 0 when the TLS handshake failed; the body in `body`.
  int deviceRequest(const std::string& cert_pem, const std::string& key_pem,
                    const std::string& path, const std::string* post_body = nullptr,
                    std::string* body = nullptr) {
    testing::CurlAnswer a = testing::CurlAs("https://" + devices_ + path, state_ + "/ca.pem",
                                            cert_pem, key_pem, post_body);
    if (body != nullptr) *body = a.body;
    return a.status;
  }

  std::string deviceCert() { return ReadFile(agent_ + "/device.pem"); }
  std::string deviceKey() { return ReadFile(agent_ + "/device.key"); }

  void TearDown() override {
    server_.reset();
    delivery_harness::RemoveStaleFaketimeObjects();
  }

  testing::TempDir dir_;
  std::string state_, agent_, devices_, admin_;
  std::unique_ptr<testing::TestServer> server_;
};

// The acceptance test: enrolled with a one-year certificate, the agent keeps reporting while the
// clock moves two years ahead in 30-day steps; it renews on its own (a new key each time), the
// old certificate is refused once the new one was used, and IT still sees one device.
TEST_F(CertLifecycleTest, TwoYearsOfRenewalsKeepOneDeviceReporting) {
  serveAt(0, {"--device-cert-days", "365"});
  auto e = enrollAt(0);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto first = agentAt(0, {"run", "--once"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_NE(first.out.find("1 delivered; 0 waiting"), std::string::npos) << first.out;
  auto validity = protocol::ParseCertificate(deviceCert());
  ASSERT_TRUE(validity.ok());
  auto lifetime =
      std::chrono::duration_cast<std::chrono::hours>(validity->not_after - validity->not_before);
  EXPECT_GE(lifetime.count(), 365 * 24);
  EXPECT_LE(lifetime.count(), 365 * 24 + 1);
  std::string device_id =
      adminGet("/api/v1/devices").find("devices")->asArray()[0].find("device_id")->asString();

  std::set<std::string> keys = {deviceKey()};
  std::set<std::string> serials = {serialOf(deviceCert())};
  std::string old_cert = deviceCert(), old_key = deviceKey();
  int renewals = 0;
  for (int day = 30; day <= 750; day += 30) {
    SCOPED_TRACE("day " + std::to_string(day));
    serveAt(day, {"--device-cert-days", "365"});
    auto r = agentAt(day, {"run", "--once"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("1 delivered; 0 waiting"), std::string::npos) << r.out << r.err;
    if (deviceCert() != old_cert) {
      ++renewals;
      EXPECT_NE(r.err.find("renewed this PC's certificate (new key)"), std::string::npos) << r.err;
      EXPECT_TRUE(keys.insert(deviceKey()).second) << "a renewal reused a key";
      EXPECT_TRUE(serials.insert(serialOf(deviceCert())).second);
      struct stat st {};
      ASSERT_EQ(::stat((agent_ + "/device.key").c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 0777, 0600u);
      // The new certificate was used by this run's delivery: the old one is refused now.
      std::string body;
      EXPECT_EQ(deviceRequest(old_cert, old_key, "/api/v1/policy", nullptr, &body), 403) << body;
      EXPECT_NE(body.find("certificate_superseded"), std::string::npos) << body;
      EXPECT_EQ(deviceRequest(deviceCert(), deviceKey(), "/api/v1/policy"), 200);
      old_cert = deviceCert();
      old_key = deviceKey();
    } else {
      EXPECT_EQ(r.err.find("renew"), std::string::npos) << r.err;
    }
    json::Value st = statusAt(day);
    ASSERT_NE(st.find("certificate_expires"), nullptr);
    EXPECT_TRUE(st.find("certificate_problem")->isNull());
  }
  // Renewal at half of 365 days, checked every 30 days: days 210, 420 and 630 (and 750 is
  // before the next one at ~812).
  EXPECT_EQ(renewals, 3);

  auto devices = adminGet("/api/v1/devices").find("devices")->asArray();
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].find("device_id")->asString(), device_id);
  auto history = adminGet("/api/v1/devices/" + device_id + "/history?limit=100");
  EXPECT_EQ(history.find("reports")->size(), 26u);  // day 0 and 25 steps, none lost
  int renewed_events = 0;
  json::Value feed = adminGet("/api/v1/feed?limit=1000");  // the loop reads into it
  for (const auto& ev : feed.find("events")->asArray()) {
    if (ev.find("type")->asString() == "renewed") ++renewed_events;
  }
  EXPECT_EQ(renewed_events, renewals);
}

// An agent offline for longer than its certificate's life cannot report: by default the server
// refuses the expired certificate and the agent says the PC must be enrolled again; when the
// server allows recovery of recently expired certificates, the same device renews and reports.
TEST_F(CertLifecycleTest, ExpiredCertificateRecoversOnlyWhenTheServerAllowsIt) {
  serveAt(0);
  ASSERT_EQ(enrollAt(0).exit_code, 0);
  ASSERT_EQ(agentAt(0, {"run", "--once"}).exit_code, 0);
  std::string device_id = ReadFile(agent_ + "/enrollment.json");
  std::string old_cert = deviceCert();

  // 400 days later (the certificate expired 35 days ago); recovery not allowed (the default).
  serveAt(400);
  auto r = agentAt(400, {"run", "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // the report stays spooled
  EXPECT_NE(r.err.find("ask IT for an enrolment secret and run `hearth-agent enroll` again"),
            std::string::npos)
      << r.err;
  json::Value st = statusAt(400);
  ASSERT_TRUE(st.find("certificate_problem")->isString());
  EXPECT_NE(st.find("certificate_problem")->asString().find("expired"), std::string::npos);
  EXPECT_EQ(st.find("spool_depth")->asInt(), 1);
  auto text = agentAt(400, {"status"});
  EXPECT_NE(text.out.find("CERTIFICATE: this PC's certificate expired on"), std::string::npos)
      << text.out;
  // The server refuses it in the TLS handshake.
  EXPECT_EQ(deviceRequest(deviceCert(), deviceKey(), "/api/v1/policy"), 0);
  EXPECT_EQ(deviceCert(), old_cert);

  // The server now allows renewal up to 60 days after expiry: the same device recovers.
  serveAt(400, {"--reenroll-expired-days", "60"});
  // Any other request with the expired certificate is still refused.
  std::string body;
  EXPECT_EQ(deviceRequest(deviceCert(), deviceKey(), "/api/v1/policy", nullptr, &body), 401);
  EXPECT_NE(body.find("certificate_expired"), std::string::npos) << body;
  auto again = agentAt(400, {"run", "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("2 delivered; 0 waiting"), std::string::npos) << again.out << again.err;
  EXPECT_NE(deviceCert(), old_cert);
  EXPECT_EQ(ReadFile(agent_ + "/enrollment.json"), device_id);  // same device
  st = statusAt(400);
  EXPECT_TRUE(st.find("certificate_problem")->isNull());
  EXPECT_EQ(adminGet("/api/v1/devices").find("devices")->size(), 1u);
}

// Expired for longer than the server's window: only a new enrolment (with a secret) helps, and
// `enroll` then really enrols again instead of answering "already enrolled".
TEST_F(CertLifecycleTest, LongExpiredCertificateNeedsANewEnrolment) {
  serveAt(0);
  ASSERT_EQ(enrollAt(0).exit_code, 0);
  ASSERT_EQ(agentAt(0, {"run", "--once"}).exit_code, 0);
  std::string old_cert = deviceCert();
  serveAt(500, {"--reenroll-expired-days", "60"});  // expired 135 days ago
  auto r = agentAt(500, {"run", "--once"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(statusAt(500).find("certificate_problem")->isString());
  EXPECT_EQ(deviceCert(), old_cert);

  auto e = enrollAt(500);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(deviceCert(), old_cert);
  auto after = agentAt(500, {"run", "--once"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out.find("delivered; 0 waiting"), std::string::npos) << after.out << after.err;
  EXPECT_TRUE(statusAt(500).find("certificate_problem")->isNull());
}

// The renewal endpoint itself: a new key is required; repeating a renewal before the new
// certificate is used (an agent that crashed before storing the answer) replaces the pending
// certificate; the old certificate works until the new one is used, and never after.
TEST_F(CertLifecycleTest, RenewalNeedsANewKeyAndIsSafeToRepeat) {
  serveAt(0);
  ASSERT_EQ(enrollAt(0).exit_code, 0);
  std::string id =
      json::parse(ReadFile(agent_ + "/enrollment.json"))->find("device_id")->asString();
  const std::string cert0 = deviceCert(), key0 = deviceKey();

  auto renew = [&](const protocol::Key& key, std::string* cert_out) {
    protocol::RenewRequest req;
    req.csr = *protocol::MakeCsr(key, id);
    std::string payload = json::write(req.toJson()), body;
    int code = deviceRequest(cert0, key0, "/api/v1/renew", &payload, &body);
    if (code == 200 && cert_out != nullptr) {
      auto rr = protocol::RenewResponse::parse(body);
      EXPECT_TRUE(rr.ok()) << body;
      if (rr.ok()) *cert_out = rr->certificate;
    }
    return std::make_pair(code, body);
  };

  auto same = renew(*protocol::Key::fromPem(key0), nullptr);
  EXPECT_EQ(same.first, 400);
  EXPECT_NE(same.second.find("same_key"), std::string::npos) << same.second;

  auto k1 = protocol::Key::generateP256();
  auto k2 = protocol::Key::generateP256();
  std::string cert1, cert2;
  ASSERT_EQ(renew(*k1, &cert1).first, 200);
  ASSERT_EQ(renew(*k2, &cert2).first, 200);  // the agent "crashed" and renewed again
  EXPECT_EQ(protocol::ParseCertificate(cert2)->common_name, id);
  std::string pem1 = *k1->privatePem(), pem2 = *k2->privatePem();

  EXPECT_EQ(deviceRequest(cert1, pem1, "/api/v1/policy"), 403);  // superseded before use
  EXPECT_EQ(deviceRequest(cert0, key0, "/api/v1/policy"), 200);  // still valid: new one unused
  EXPECT_EQ(deviceRequest(cert2, pem2, "/api/v1/policy"), 200);  // first use: now current
  EXPECT_EQ(deviceRequest(cert0, key0, "/api/v1/policy"), 403);  // revoked
  EXPECT_EQ(deviceRequest(cert1, pem1, "/api/v1/policy"), 403);
  EXPECT_EQ(deviceRequest(cert2, pem2, "/api/v1/policy"), 200);
  EXPECT_EQ(adminGet("/api/v1/devices").find("devices")->size(), 1u);
}

// Policy-signing key rotation: during the overlap every policy (signed with the current key)
// announces the next key; an agent that fetched a policy once during the overlap accepts the
// new key when it takes over; one that was offline through the whole overlap refuses policies
// signed with it, keeps its last good policy and says what to do.
TEST_F(CertLifecycleTest, SigningKeyRotationIsFollowedByAgentsThatSawTheAnnouncement) {
  const std::string a = dir_.path() + "/agent-a", b = dir_.path() + "/agent-b";
  serveAt(0);
  for (const auto& d : {a, b}) {
    ASSERT_EQ(enrollAt(0, d).exit_code, 0);
    ASSERT_EQ(agentAt(0, {"run", "--once"}, d).exit_code, 0);
  }
  const std::string old_pub = ReadFile(a + "/policy-signing.pub");

  auto rotate = serverCommand(0, {"rotate", "signing-key", "--overlap-days", "30"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  const std::string next_pub = ReadFile(state_ + "/policy-signing.next.pub");
  ASSERT_NE(next_pub, old_pub);
  EXPECT_NE(serverCommand(0, {"rotate", "signing-key"}).err.find("already in progress"),
            std::string::npos);

  // Agent A fetches a policy once during the overlap; agent B stays offline through it.
  serveAt(10);
  auto during = agentAt(10, {"run", "--once"}, a);
  ASSERT_EQ(during.exit_code, 0) << during.err;
  EXPECT_NE(during.err.find("announced its next policy-signing key"), std::string::npos)
      << during.err;
  EXPECT_EQ(ReadFile(a + "/policy-signing.next.pub"), next_pub);
  EXPECT_EQ(ReadFile(a + "/policy-signing.pub"), old_pub);  // the old key still signs

  // After the overlap the next key signs; a new policy version shows who follows.
  std::string v2 = dir_.write(
      "policy-v2.json",
      R"({"level":"standard","version":2,"checks":{"disk_encryption":{"required":false}}})");
  ASSERT_EQ(serverCommand(35, {"policy", "set", "--file", v2}).exit_code, 0);
  serveAt(40);
  auto after = agentAt(40, {"run", "--once"}, a);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  json::Value sa = statusAt(40, a);
  EXPECT_EQ(sa.find("policy_version")->asInt(), 2);
  EXPECT_TRUE(sa.find("policy_problem")->isNull());
  EXPECT_EQ(ReadFile(a + "/policy-signing.pub"), next_pub);
  EXPECT_NE(::access((a + "/policy-signing.next.pub").c_str(), F_OK), 0);

  auto offline = agentAt(40, {"run", "--once"}, b);
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_NE(offline.err.find("signed with a key this PC does not trust"), std::string::npos)
      << offline.err;
  json::Value sb = statusAt(40, b);
  EXPECT_EQ(sb.find("policy_version")->asInt(), 1);  // the last good one stays in force
  ASSERT_TRUE(sb.find("policy_problem")->isString());
  EXPECT_NE(sb.find("policy_problem")->asString().find("hearth-agent enroll"), std::string::npos);
  EXPECT_EQ(sb.find("spool_depth")->asInt(), 0);  // it still reports
  EXPECT_EQ(ReadFile(b + "/policy-signing.pub"), old_pub);
  auto text = agentAt(40, {"status"}, b);
  EXPECT_NE(text.out.find("POLICY: the company's server sent a policy signed with a key"),
            std::string::npos)
      << text.out;

  // --finish makes the next key the current one for good; agents that follow see no change.
  auto finish = serverCommand(40, {"rotate", "signing-key", "--finish"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  EXPECT_EQ(ReadFile(state_ + "/policy-signing.pub"), next_pub);
  serveAt(41);
  ASSERT_EQ(agentAt(41, {"run", "--once"}, a).exit_code, 0);
  EXPECT_TRUE(statusAt(41, a).find("policy_problem")->isNull());
  EXPECT_EQ(statusAt(41, a).find("policy_version")->asInt(), 2);
  // A PC enrolled now pins the new key.
  const std::string c = dir_.path() + "/agent-c";
  ASSERT_EQ(enrollAt(41, c).exit_code, 0);
  EXPECT_EQ(ReadFile(c + "/policy-signing.pub"), next_pub);
}

// Server TLS certificate rotation: agents that trust ca.pem accept any new leaf under it; agents
// that pin the server's key accept the new key only when its pin was announced to them (in a
// signed policy) before the switch.
TEST_F(CertLifecycleTest, ServerKeyRotationReachesAgentsThatPinnedTheOldKey) {
  const std::string a = dir_.path() + "/agent-a", b = dir_.path() + "/agent-b",
                    c = dir_.path() + "/agent-c";
  serveAt(0);
  const std::string old_pin =
      *protocol::Key::fromPem(ReadFile(state_ + "/server.key"))->publicKeyPin();
  for (const auto& d : {a, b}) {
    auto e = agentAt(0,
                     {"enroll", "--server", "https://" + devices_, "--secret-file",
                      state_ + "/enroll-secret", "--pin", old_pin},
                     d);
    ASSERT_EQ(e.exit_code, 0) << e.err;
  }
  ASSERT_EQ(enrollAt(0, c).exit_code, 0);
  for (const auto& d : {a, b, c}) ASSERT_EQ(agentAt(0, {"run", "--once"}, d).exit_code, 0);
  const auto before = protocol::ParseCertificate(ReadFile(state_ + "/server.pem"));

  // Prepared: the next key's pin goes out with every policy. Agent A fetches one; B is offline.
  auto prepare = serverCommand(0, {"rotate", "server-cert", "--prepare"});
  ASSERT_EQ(prepare.exit_code, 0) << prepare.err;
  const std::string next_pin = prepare.out.substr(0, 52);
  ASSERT_NE(next_pin, old_pin);
  serveAt(1);
  auto learn = agentAt(1, {"run", "--once"}, a);
  ASSERT_EQ(learn.exit_code, 0) << learn.err;
  EXPECT_NE(learn.err.find("announced its next TLS key"), std::string::npos) << learn.err;
  EXPECT_NE(ReadFile(a + "/server-pins.json").find(next_pin), std::string::npos);

  // The switch: a new certificate for the prepared key, same names, same CA.
  auto rotate = serverCommand(2, {"rotate", "server-cert"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_EQ(rotate.out.substr(0, 52), next_pin);
  EXPECT_EQ(rotate.err.find("warning"), std::string::npos) << rotate.err;
  const auto after = protocol::ParseCertificate(ReadFile(state_ + "/server.pem"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->dns_names, before->dns_names);
  EXPECT_EQ(after->ip_addresses, before->ip_addresses);
  EXPECT_NE(after->serial_hex, before->serial_hex);
  serveAt(2);

  auto pinned = agentAt(2, {"run", "--once"}, a);
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  EXPECT_NE(pinned.out.find("1 delivered; 0 waiting"), std::string::npos) << pinned.out;
  auto with_ca = agentAt(2, {"run", "--once"}, c);
  EXPECT_NE(with_ca.out.find("1 delivered; 0 waiting"), std::string::npos) << with_ca.out;
  // B never saw the announcement: its pin no longer matches, and it keeps its reports.
  auto missed = agentAt(2, {"run", "--once"}, b);
  EXPECT_EQ(missed.exit_code, 0) << missed.err;
  json::Value sb = statusAt(2, b);
  EXPECT_EQ(sb.find("spool_depth")->asInt(), 1);
  ASSERT_TRUE(sb.find("delivery_error")->isString());
  EXPECT_NE(sb.find("delivery_error")->asString().find("pin"), std::string::npos)
      << sb.find("delivery_error")->asString();
}

// Device CA rollover: the new CA issues enrolments and renewals at once; certificates of the
// previous CA are still accepted until `rotate device-ca --finish`.
TEST_F(CertLifecycleTest, DeviceCaRolloverAcceptsBothUntilFinished) {
  const std::string a = dir_.path() + "/agent-a", b = dir_.path() + "/agent-b";
  serveAt(0);
  for (const auto& d : {a, b}) {
    ASSERT_EQ(enrollAt(0, d).exit_code, 0);
    ASSERT_EQ(agentAt(0, {"run", "--once"}, d).exit_code, 0);
  }
  const std::string old_ca = ReadFile(state_ + "/device-ca.pem");
  auto roll = serverCommand(0, {"rotate", "device-ca"});
  ASSERT_EQ(roll.exit_code, 0) << roll.err;
  const std::string new_ca = ReadFile(state_ + "/device-ca.pem");
  ASSERT_NE(new_ca, old_ca);
  EXPECT_EQ(ReadFile(state_ + "/device-ca.old.pem"), old_ca);
  EXPECT_NE(serverCommand(0, {"rotate", "device-ca"}).err.find("already in progress"),
            std::string::npos);

  // During the overlap: old certificates work; A renews (day 200) and gets one of the new CA.
  serveAt(200);
  auto renewed = agentAt(200, {"run", "--once"}, a);
  ASSERT_EQ(renewed.exit_code, 0) << renewed.err;
  EXPECT_NE(renewed.out.find("1 delivered; 0 waiting"), std::string::npos) << renewed.out;
  auto now = std::chrono::system_clock::now() + std::chrono::hours(24 * 200);
  EXPECT_TRUE(protocol::VerifyCertificate(ReadFile(a + "/device.pem"), new_ca, now).ok());
  EXPECT_FALSE(protocol::VerifyCertificate(ReadFile(a + "/device.pem"), old_ca, now).ok());
  // B stays on its certificate of the old CA (it renews only at its next cycle after this one).
  std::string b_cert = ReadFile(b + "/device.pem"), b_key = ReadFile(b + "/device.key");
  EXPECT_EQ(deviceRequest(b_cert, b_key, "/api/v1/policy"), 200);
  // A PC enrolled now gets a certificate of the new CA.
  const std::string c = dir_.path() + "/agent-c";
  ASSERT_EQ(enrollAt(200, c).exit_code, 0);
  EXPECT_TRUE(protocol::VerifyCertificate(ReadFile(c + "/device.pem"), new_ca, now).ok());

  // Finished: the old CA is no longer trusted; A (renewed) reports, B's old certificate fails.
  auto finish = serverCommand(200, {"rotate", "device-ca", "--finish"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  serveAt(201);
  auto after = agentAt(201, {"run", "--once"}, a);
  EXPECT_NE(after.out.find("1 delivered; 0 waiting"), std::string::npos) << after.out;
  EXPECT_EQ(deviceRequest(b_cert, b_key, "/api/v1/policy"), 0);  // TLS handshake refused
}

// The daemon (`hearth-agent run`) renews too, at its first cycle past half-life, through its
// uploader process, and goes on reporting with the new certificate.
TEST_F(CertLifecycleTest, TheDaemonRenewsAtHalfLife) {
  serveAt(0);
  ASSERT_EQ(enrollAt(0).exit_code, 0);
  ASSERT_EQ(agentAt(0, {"run", "--once"}).exit_code, 0);
  const std::string old_cert = deviceCert(), old_key = deviceKey();
  std::string conf = dir_.write("daemon.conf",
                                "proxy = none\ninterval = 1h\nnotify = false\n"
                                "control_socket = " +
                                    dir_.path() + "/agent.sock\n");
  serveAt(200);
  std::vector<std::string> argv = at(200, {kAgent, "run", "--state-dir", agent_, "--config", conf});
  std::string log = dir_.path() + "/daemon.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  bool delivered =
      PollUntil([&] { return ReadFile(log).find("delivered 1 report(s)") != std::string::npos; },
                std::chrono::seconds(20), std::chrono::milliseconds(50));
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::string text = ReadFile(log);
  ASSERT_TRUE(delivered) << text;
  EXPECT_NE(text.find("renewed this PC's certificate (new key)"), std::string::npos) << text;
  EXPECT_NE(deviceCert(), old_cert);
  EXPECT_NE(deviceKey(), old_key);
  EXPECT_EQ(deviceRequest(old_cert, old_key, "/api/v1/policy"), 403);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
}

// The rotate commands explain mistakes, and a server rotation without --prepare warns about
// pinning agents.
TEST_F(CertLifecycleTest, RotateCommandsExplainMistakes) {
  auto none = serverCommand(0, {"rotate"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("signing-key, server-cert or device-ca"), std::string::npos) << none.err;
  auto bad = serverCommand(0, {"rotate", "signing-key", "--overlap-days", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--overlap-days \"soon\": expected a number of days"), std::string::npos)
      << bad.err;
  auto finish = serverCommand(0, {"rotate", "signing-key", "--finish"});
  EXPECT_EQ(finish.exit_code, 2);
  EXPECT_NE(finish.err.find("no policy-signing key rotation is in progress"), std::string::npos)
      << finish.err;
  EXPECT_EQ(serverCommand(0, {"rotate", "device-ca", "--finish"}).exit_code, 2);
  auto unannounced = serverCommand(0, {"rotate", "server-cert"});
  EXPECT_EQ(unannounced.exit_code, 0) << unannounced.err;
  EXPECT_NE(unannounced.err.find("warning: its key was not announced"), std::string::npos)
      << unannounced.err;
  auto help = RunProcess({kServer, "--help"});
  EXPECT_NE(help.out.find("rotate signing-key"), std::string::npos);
  EXPECT_NE(help.out.find("--device-cert-days"), std::string::npos);
}

}  // namespace
}  // namespace hearth
