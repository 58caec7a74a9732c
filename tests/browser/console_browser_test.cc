// The IT console in a real headless Chromium (issue 15, ctest label `browser`): a real
// hearth-server on loopback with seeded devices (one compliant, one failing with controls in
// its check summary, one with markup for a hostname, one that never reported), an admin and a
// read token; console.test.mjs (playwright-core, Debian's /usr/bin/chromium) signs in, checks
// the overview against the API's numbers (read here with curl) and its trend, filters, opens a
// device, grants it an exemption (it becomes compliant), reads the exemptions, feed, audit log,
// webhooks and report pages, searches, retires a device, signs out, reads the console in Danish
// at phone width, and tries a read session's and CSRF-less writes. Screenshots go to
// the build tree (HEARTH_BROWSER_OUT_DIR). Skipped, saying why, when Chromium or the npm
// packages are missing, unless HEARTH_REQUIRE_BROWSER is set (scripts/test sets it).
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/pg_schema.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::ReadFile;
using testing::Trimmed;

const std::string kChromium = "/usr/bin/chromium";
const std::string kNode = "/usr/bin/node";
const std::string kTestDir = HEARTH_SOURCE_DIR "/tests/browser";

constexpr const char* kHostileHost =
    "<script>window.hearthPwned=1</script><img src=x onerror=\"window.hearthPwned=2\">";
// A check summary with a right-to-left override and a terminal escape (the server keeps what the
// device reported; the page must show them inert).
constexpr const char* kHostileSummary = "not encrypted \u202Egnp.exe \u001b[31mred\u001b[0m";

std::string str(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  return f != nullptr && f->isString() ? f->asString() : "";
}

class ConsoleBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bool required = std::getenv("HEARTH_REQUIRE_BROWSER") != nullptr;
    std::string missing;
    if (::access(kChromium.c_str(), X_OK) != 0) {
      missing = kChromium + " is missing (Debian package chromium; scripts/install-deps)";
    } else if (::access(kNode.c_str(), X_OK) != 0) {
      missing = kNode + " is missing (Debian package nodejs; scripts/install-deps)";
    } else if (!std::filesystem::exists(kTestDir + "/node_modules/playwright-core") ||
               !std::filesystem::exists(kTestDir + "/node_modules/axe-core") ||
               !std::filesystem::exists(kTestDir + "/node_modules/oidc-provider")) {
      missing =
          "tests/browser/node_modules is missing: run `npm ci` in tests/browser "
          "(scripts/install-deps does)";
    }
    if (!missing.empty()) {
      if (required) FAIL() << missing << " and HEARTH_REQUIRE_BROWSER is set";
      GTEST_SKIP() << missing;
    }
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/state");
    auto init = server_->init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    log_ = dir_.path() + "/server.log";
    ASSERT_TRUE(server_->serve(log_)) << ReadFile(log_);
    admin_ = server_->address("admin");
  }

  json::Value api(const std::string& path) {
    return testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(), path);
  }

  // Enrols a device named `hostname`; its id, certificate and key.
  struct Device {
    std::string id, cert, key;
  };
  Device enrol(const std::string& hostname) {
    auto d = testing::EnrolDevice("https://" + server_->address("devices"), server_->caFile(),
                                  server_->enrollSecret(), hostname);
    EXPECT_TRUE(d.ok()) << d.error;
    json::Value list = api("/api/v1/devices");
    for (const auto& listed : list.find("devices")->asArray()) {
      if (str(listed, "hostname") == hostname)
        return {str(listed, "device_id"), d.cert_pem, d.key_pem};
    }
    ADD_FAILURE() << hostname << " not listed";
    return {};
  }

  // The device reports disk_encryption `verdict` with `summary` and evidence shaped as the Linux
  // agent sends it (a mount, its chain down to the disk, the layers), with a hostile mount point.
  void report(const Device& d, const std::string& verdict, const std::string& summary) {
    auto evidence = json::parse(R"({"targets": [{"target": "/", "kind": "root",
        "mount_point": "/srv/<script>x</script>", "fstype": "ext4", "source": "/dev/sda2",
        "device_number": "8:2", "encrypted": false, "status": "no", "chain": "/ \u2190 sda2 \u2190 sda",
        "unencrypted_device": "sda2", "reason": "plain device without an encryption layer",
        "layers": [{"device": "sda2", "type": "part", "encrypted": false,
                    "reason": "plain device without an encryption layer",
                    "lower": [{"device": "sda", "type": "disk", "encrypted": false, "lower": []}]}]}],
      "not_judged": [], "removable_media": [], "encrypted_homes": [],
      "notes": ["1 bind mount(s) of filesystems judged above not listed again"]})");
    EXPECT_TRUE(evidence.ok()) << evidence.status().message();
    json::Value check = json::Value::object();
    check.set("id", "disk_encryption");
    check.set("verdict", verdict);
    check.set("required", true);
    check.set("summary", summary);
    check.set("evidence", std::move(*evidence));
    check.set("remediation", "Turn on full-disk encryption.");
    auto advice = json::parse(R"([{"code": "disk_encryption.reinstall_encrypted",
        "heading": "Your disk must be encrypted:",
        "steps": ["Back up your files.", "Reinstall with \"Encrypt the new installation\" chosen."]}])");
    EXPECT_TRUE(advice.ok()) << advice.status().message();
    check.set("advice", std::move(*advice));
    check.set("duration_ms", 3);
    json::Value checks = json::Value::array();
    checks.push(std::move(check));
    json::Value host = json::Value::object();
    host.set("hostname", "pc");
    json::Value result = json::Value::object();
    result.set("compliant", verdict == "pass");
    result.set("level", "standard");
    result.set("policy_version", 1);
    result.set("evaluated_at", "2026-12-07T10:00:00Z");
    result.set("host", std::move(host));
    result.set("checks", std::move(checks));
    json::Value body = json::Value::object();
    body.set("report_id", *protocol::RandomUuid());
    body.set("sequence", 1);
    body.set("sent_at", "2026-12-07T10:00:05Z");
    body.set("agent_version", "0.1.0");
    body.set("machine_id", protocol::Sha256Hex(d.id));
    body.set("result", std::move(result));
    std::string text = json::write(body);
    auto a = testing::CurlAs("https://" + server_->address("devices") + "/api/v1/reports",
                             server_->caFile(), d.cert, d.key, &text);
    EXPECT_EQ(a.status, 202) << a.body;  // stored
  }

  // How many devices the API lists with `query`.
  int count(const std::string& query) {
    int n = 0;
    std::string after;
    while (true) {
      json::Value page = api("/api/v1/devices?limit=1000" + query + after);
      n += static_cast<int>(page.find("devices")->asArray().size());
      const json::Value* next = page.find("next");
      if (next == nullptr || !next->isString()) return n;
      after = "&after=" + next->asString();
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestServer> server_;
  std::string admin_, log_;
};

TEST_F(ConsoleBrowserTest, SignInOverviewFilterExemptPagesRetireLogoutDanishAndReadOnly) {
  Device ok = enrol("pc-compliant");
  Device failing = enrol("pc-failing");
  Device hostile = enrol(kHostileHost);
  enrol("pc-silent");
  report(ok, "pass", "encrypted (LUKS2)");
  report(failing, "fail", kHostileSummary);
  report(hostile, "pass", "encrypted");
  auto read = server_->cli({"token", "create", "--name", "helpdesk", "--scope", "read"});
  ASSERT_EQ(read.exit_code, 0) << read.err;

  // The API's numbers, which the overview must show.
  json::Value statuses = json::Value::object();
  for (const char* s : {"compliant", "at_risk", "noncompliant", "unknown", "stale", "pending"}) {
    statuses.set(s, count(std::string("&status=") + s));
  }
  ASSERT_EQ(statuses.find("noncompliant")->asInt(), 1) << json::write(statuses);
  json::Value failures = json::Value::object();
  failures.set("disk_encryption", count("&check=disk_encryption"));
  json::Value expected = json::Value::object();
  expected.set("statuses", std::move(statuses));
  expected.set("failures", std::move(failures));
  expected.set("total", count(""));

  std::string out = HEARTH_BROWSER_OUT_DIR "/console";
  std::filesystem::remove_all(out);
  auto run = testing::RunProcess(
      {"/usr/bin/env", "HEARTH_CONSOLE_URL=https://" + admin_,
       "HEARTH_ADMIN_TOKEN=" + server_->adminToken(), "HEARTH_READ_TOKEN=" + Trimmed(read.out),
       "HEARTH_EXPECTED=" + json::write(expected), "HEARTH_FAILING_HOST=pc-failing",
       std::string("HEARTH_HOSTILE_HOST=") + kHostileHost, "HEARTH_OUT=" + out,
       "HEARTH_CHROMIUM=" + kChromium, kNode, kTestDir + "/console.test.mjs"});
  std::cout << run.out;  // the steps and the accessibility audit's counts, in the test's log
  EXPECT_EQ(run.exit_code, 0) << run.err << "\nserver log:\n" << ReadFile(log_);
  for (const char* shot :
       {"signin", "signin-failed", "overview", "devices", "device", "device-exempt-dialog",
        "device-exempted", "exemptions", "feed", "audit", "webhooks", "report", "secrets",
        "policy-edit", "device-retire-confirm", "overview-da-phone", "device-read"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + shot + ".png")) << shot;
  }
  // The hostile device was retired through the console, audited with the admin token's name.
  EXPECT_EQ(str(api("/api/v1/devices/" + hostile.id), "status"), "retired");
  // Neither token is in the server's log.
  std::string log = ReadFile(log_);
  EXPECT_EQ(log.find(server_->adminToken()), std::string::npos);
  EXPECT_EQ(log.find(Trimmed(read.out)), std::string::npos);
}

// Single sign-on (OpenID Connect) through a real provider on loopback (oidc_provider.mjs, npm's
// oidc-provider): oidc.test.mjs signs in as an admin, a reader and a person with no role in
// headless Chromium, then drives the code flow with plain requests for the refusals (wrong state,
// replay, a used code, a swapped code, no sign-in cookie, another issuer). The provider speaks
// HTTPS with a certificate that only the test's CA (the server's own ca.pem) vouches for: without
// oidc_ca_file the server refuses it. The audit log names the subjects.
TEST_F(ConsoleBrowserTest, OidcSignInGivesTheClaimsRoleAndRefusesTheRest) {
  const std::string secret = "a-test-client-secret-0123456789";
  testing::ServerProcess provider({"/usr/bin/env", "HEARTH_OIDC_CLIENT_ID=hearth-console",
                                   "HEARTH_OIDC_CLIENT_SECRET=" + secret,
                                   "HEARTH_OIDC_TLS_CERT=" + server_->stateDir() + "/server.pem",
                                   "HEARTH_OIDC_TLS_KEY=" + server_->stateDir() + "/server.key",
                                   kNode, kTestDir + "/oidc_provider.mjs"},
                                  dir_.path() + "/provider.log");
  ASSERT_TRUE(provider.started()) << ReadFile(dir_.path() + "/provider.log");
  std::string issuer = "https://" + provider.address("provider");
  std::string redirect = "https://" + admin_ + "/login/oidc/callback";

  // A client secret readable by others is refused, naming the key and the mode.
  std::string secret_file = dir_.path() + "/oidc-secret";
  ASSERT_TRUE(testing::WriteFile(secret_file, secret + "\n"));
  ASSERT_EQ(::chmod(secret_file.c_str(), 0644), 0);
  std::vector<std::string> oidc = {"--oidc-issuer",
                                   issuer,
                                   "--oidc-client-id",
                                   "hearth-console",
                                   "--oidc-client-secret-file",
                                   secret_file,
                                   "--oidc-redirect-uri",
                                   redirect,
                                   "--oidc-scopes",
                                   "openid profile groups",
                                   "--oidc-role-claim",
                                   "groups",
                                   "--oidc-admin-values",
                                   "hearth-admins",
                                   "--oidc-read-values",
                                   "hearth-readers, it-helpdesk"};
  std::string refused_log = dir_.path() + "/refused.log";
  EXPECT_FALSE(server_->serve(refused_log, {.admin_listen = admin_, .extra = oidc}));
  EXPECT_NE(ReadFile(refused_log).find("oidc_client_secret_file"), std::string::npos)
      << ReadFile(refused_log);
  EXPECT_NE(ReadFile(refused_log).find("0644"), std::string::npos) << ReadFile(refused_log);
  ASSERT_EQ(::chmod(secret_file.c_str(), 0600), 0);

  // The provider learns the client's redirect URI (hearth-server's port) only now.
  auto configured = testing::RunProcess(
      {"/usr/bin/curl", "-sS", "--cacert", server_->caFile(), "-o", "/dev/null", "-w",
       "%{http_code}", "--data-urlencode", "redirect_uri=" + redirect, issuer + "/test/client"});
  ASSERT_EQ(Trimmed(configured.out), "204") << configured.err;

  // Without oidc_ca_file the provider's certificate is not trusted: sign-in cannot start.
  std::string untrusted_log = dir_.path() + "/untrusted.log";
  ASSERT_TRUE(server_->serve(untrusted_log, {.admin_listen = admin_, .extra = oidc}))
      << ReadFile(untrusted_log);
  auto untrusted =
      testing::Curl("https://" + admin_ + "/login/oidc", {.ca_file = server_->caFile()});
  EXPECT_EQ(untrusted.status, 502) << untrusted.body;
  EXPECT_NE(ReadFile(untrusted_log).find("single sign-on cannot start"), std::string::npos)
      << ReadFile(untrusted_log);

  oidc.insert(oidc.end(), {"--oidc-ca-file", server_->caFile()});
  ASSERT_TRUE(server_->serve(log_, {.admin_listen = admin_, .extra = oidc})) << ReadFile(log_);
  ASSERT_EQ(server_->address("admin"), admin_);

  std::string out = HEARTH_BROWSER_OUT_DIR "/oidc";
  std::filesystem::remove_all(out);
  auto run = testing::RunProcess({"/usr/bin/env", "HEARTH_CONSOLE_URL=https://" + admin_,
                                  "HEARTH_OUT=" + out, "HEARTH_CHROMIUM=" + kChromium,
                                  "NODE_EXTRA_CA_CERTS=" + server_->caFile(), kNode,
                                  kTestDir + "/oidc.test.mjs"});
  std::cout << run.out;
  EXPECT_EQ(run.exit_code, 0) << run.err << "\nserver log:\n"
                              << ReadFile(log_) << "\nprovider log:\n"
                              << ReadFile(dir_.path() + "/provider.log");
  for (const char* shot : {"oidc-admin", "oidc-read", "oidc-refused"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + shot + ".png")) << shot;
  }

  // The audit log: alice's and bob's sign-ins with their subject, carol's refusal.
  json::Value audit = api("/api/v1/audit?limit=200");
  int alice = 0, bob = 0, carol = 0;
  for (const json::Value& e : audit.find("entries")->asArray()) {
    const json::Value* detail = e.find("detail");
    std::string subject = detail != nullptr ? str(*detail, "subject") : "";
    if (str(e, "action") == "console.login" && str(e, "actor") == "oidc:alice") {
      EXPECT_EQ(subject, "alice");
      EXPECT_EQ(str(*detail, "issuer"), issuer);
      EXPECT_EQ(str(*detail, "role"), "admin");
      ++alice;
    }
    if (str(e, "action") == "console.login" && str(e, "actor") == "oidc:bob") {
      EXPECT_EQ(str(*detail, "role"), "read");
      ++bob;
    }
    if (str(e, "action") == "console.login_refused" && str(e, "actor") == "oidc:carol") ++carol;
  }
  EXPECT_GE(alice, 2) << json::write(audit);  // in the browser and with plain requests
  EXPECT_EQ(bob, 1) << json::write(audit);
  EXPECT_GE(carol, 1) << json::write(audit);
  // The client secret is not in the server's log.
  EXPECT_EQ(ReadFile(log_).find(secret), std::string::npos);

  // A provider whose client authenticates with client_secret_post: the same flow with
  // oidc_client_auth = client_secret_post.
  testing::ServerProcess post_provider(
      {"/usr/bin/env", "HEARTH_OIDC_CLIENT_ID=hearth-console",
       "HEARTH_OIDC_CLIENT_SECRET=" + secret, "HEARTH_OIDC_CLIENT_AUTH=client_secret_post", kNode,
       kTestDir + "/oidc_provider.mjs"},
      dir_.path() + "/post-provider.log");
  ASSERT_TRUE(post_provider.started()) << ReadFile(dir_.path() + "/post-provider.log");
  std::string post_issuer = "http://" + post_provider.address("provider");
  configured = testing::RunProcess({"/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                    "--data-urlencode", "redirect_uri=" + redirect,
                                    post_issuer + "/test/client"});
  ASSERT_EQ(Trimmed(configured.out), "204") << configured.err;
  oidc[1] = post_issuer;
  oidc.insert(oidc.end(), {"--oidc-client-auth", "client_secret_post"});
  std::string post_log = dir_.path() + "/post.log";
  ASSERT_TRUE(server_->serve(post_log, {.admin_listen = admin_, .extra = oidc}))
      << ReadFile(post_log);
  auto baseline = testing::RunProcess({"/usr/bin/env", "HEARTH_CONSOLE_URL=https://" + admin_,
                                       "HEARTH_OUT=" + out, "HEARTH_OIDC_MODE=baseline",
                                       "NODE_EXTRA_CA_CERTS=" + server_->caFile(), kNode,
                                       kTestDir + "/oidc.test.mjs"});
  std::cout << baseline.out;
  EXPECT_EQ(baseline.exit_code, 0) << baseline.err << "\nserver log:\n" << ReadFile(post_log);
}

// Several servers behind a load balancer (issue 18): the sign-in in progress is kept in the
// database, so a sign-in started on one server finishes on another (the one the provider's
// redirect URI names, as a balancer may send the browser back elsewhere), and its answer
// replayed is refused on both. Two servers on one PostgreSQL (HEARTH_TEST_PG_URI) with the same
// state directory; no browser needed (oidc.test.mjs, HEARTH_OIDC_MODE=two-servers).
TEST_F(ConsoleBrowserTest, OidcSignInStartedOnOneServerFinishesOnAnother) {
  testing::PostgresSchema pg("oidc_cluster");
  if (pg.uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
  testing::TestServer a(dir_.path() + "/cluster", pg.uri());
  testing::TestServer b(dir_.path() + "/cluster", pg.uri());
  auto init = a.init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  std::string log_a = dir_.path() + "/a.log", log_b = dir_.path() + "/b.log";
  // Their admin ports first (the redirect URI names b's), then again with single sign-on.
  ASSERT_TRUE(a.serve(log_a)) << ReadFile(log_a);
  ASSERT_TRUE(b.serve(log_b)) << ReadFile(log_b);
  std::string admin_a = a.address("admin"), admin_b = b.address("admin");
  const std::string secret = "a-test-client-secret-0123456789";
  testing::ServerProcess provider(
      {"/usr/bin/env", "HEARTH_OIDC_CLIENT_ID=hearth-console",
       "HEARTH_OIDC_CLIENT_SECRET=" + secret, kNode, kTestDir + "/oidc_provider.mjs"},
      dir_.path() + "/provider.log");
  ASSERT_TRUE(provider.started()) << ReadFile(dir_.path() + "/provider.log");
  std::string issuer = "http://" + provider.address("provider");
  std::string redirect = "https://" + admin_b + "/login/oidc/callback";
  auto configured = testing::RunProcess({"/usr/bin/curl", "-sS", "-o", "/dev/null", "-w",
                                         "%{http_code}", "--data-urlencode",
                                         "redirect_uri=" + redirect, issuer + "/test/client"});
  ASSERT_EQ(Trimmed(configured.out), "204") << configured.err;
  std::string secret_file = dir_.path() + "/oidc-secret";
  ASSERT_TRUE(testing::WriteFile(secret_file, secret + "\n"));
  ASSERT_EQ(::chmod(secret_file.c_str(), 0600), 0);
  std::vector<std::string> oidc = {"--oidc-issuer",
                                   issuer,
                                   "--oidc-client-id",
                                   "hearth-console",
                                   "--oidc-client-secret-file",
                                   secret_file,
                                   "--oidc-redirect-uri",
                                   redirect,
                                   "--oidc-scopes",
                                   "openid profile groups",
                                   "--oidc-role-claim",
                                   "groups",
                                   "--oidc-admin-values",
                                   "hearth-admins",
                                   "--oidc-read-values",
                                   "hearth-readers"};
  ASSERT_TRUE(a.serve(log_a, {.admin_listen = admin_a, .extra = oidc})) << ReadFile(log_a);
  ASSERT_TRUE(b.serve(log_b, {.admin_listen = admin_b, .extra = oidc})) << ReadFile(log_b);

  auto run = testing::RunProcess(
      {"/usr/bin/env", "HEARTH_CONSOLE_URL=https://" + admin_a,
       "HEARTH_CALLBACK_URL=https://" + admin_b, "HEARTH_OUT=" + dir_.path() + "/out",
       "HEARTH_OIDC_MODE=two-servers", "NODE_EXTRA_CA_CERTS=" + a.caFile(), kNode,
       kTestDir + "/oidc.test.mjs"});
  std::cout << run.out;
  EXPECT_EQ(run.exit_code, 0) << run.err << "\nserver a:\n"
                              << ReadFile(log_a) << "\nserver b:\n"
                              << ReadFile(log_b);
  a.stop();
  b.stop();
}

}  // namespace
}  // namespace hearth
