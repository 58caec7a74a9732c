// The IT console on a real hearth-server (issue 15), with curl: the page and its versioned
// assets with their security headers, sign-in with a token (cookie attributes, a refused token),
// the session as the API's credentials with CSRF on every write, a read session refused writes,
// sign-out, idle expiry, the audit log, and no token or session id in the server's log.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::CurlAnswer;
using testing::ReadFile;
using testing::Trimmed;

constexpr const char* kCsp =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// The value of header `name` (case-insensitive) in curl's -D output; "" when absent.
std::string header(const CurlAnswer& a, const std::string& name) {
  std::regex re("(^|\\n)" + name + ":[ \\t]*([^\\r\\n]*)", std::regex::icase);
  std::smatch m;
  return std::regex_search(a.headers, m, re) ? m[2].str() : "";
}

std::string field(const std::string& body, const std::string& name) {
  auto v = json::parse(body);
  if (!v.ok() || !v->isObject() || v->find(name) == nullptr || !v->find(name)->isString()) {
    return "";
  }
  return v->find(name)->asString();
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(const std::vector<std::string>& extra) {
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/state");
    auto init = server_->init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    log_ = dir_.path() + "/server.log";
    ASSERT_TRUE(server_->serve(log_, {.extra = extra})) << ReadFile(log_);
    admin_ = server_->address("admin");
  }

  CurlAnswer get(const std::string& path, std::vector<std::string> extra = {}) {
    return testing::Curl("https://" + admin_ + path,
                         {.ca_file = server_->caFile(), .extra = extra});
  }

  CurlAnswer post(const std::string& path, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"-X", "POST"});
    return get(path, extra);
  }

  // Signs in with `token`: the answer to POST /login.
  CurlAnswer login(const std::string& token, std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--data-urlencode", "token=" + token});
    return post("/login", extra);
  }

  // Signs in and returns the session id from the Set-Cookie header.
  std::string session(const std::string& token) {
    CurlAnswer a = login(token);
    EXPECT_EQ(a.status, 303) << a.headers << a.body;
    std::smatch m;
    std::string cookie = header(a, "Set-Cookie");
    static const std::regex re("hearth_session=([0-9a-f]{64});");
    EXPECT_TRUE(std::regex_search(cookie, m, re)) << cookie;
    return m.empty() ? "" : m[1].str();
  }

  static std::vector<std::string> cookie(const std::string& id) {
    return {"-H", "Cookie: hearth_session=" + id};
  }

  // GET /api/v1/session's csrf_token.
  std::string csrf(const std::string& id) {
    CurlAnswer a = get("/api/v1/session", cookie(id));
    EXPECT_EQ(a.status, 200) << a.body;
    return field(a.body, "csrf_token");
  }

  std::string readToken() {
    auto r = server_->cli({"token", "create", "--name", "reader", "--scope", "read"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Trimmed(r.out);
  }

  // An enrolled device's id.
  std::string enrolDevice(const std::string& hostname) {
    auto d = testing::EnrolDevice("https://" + server_->address("devices"), server_->caFile(),
                                  server_->enrollSecret(), hostname);
    EXPECT_TRUE(d.ok()) << d.error;
    auto list =
        testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(), "/api/v1/devices");
    for (const auto& dev : list.find("devices")->asArray()) {
      if (dev.find("hostname")->asString() == hostname) return dev.find("device_id")->asString();
    }
    ADD_FAILURE() << "device " << hostname << " not listed";
    return "";
  }

  void expectConsoleHeaders(const CurlAnswer& a) {
    EXPECT_EQ(header(a, "Content-Security-Policy"), kCsp) << a.headers;
    EXPECT_EQ(header(a, "Referrer-Policy"), "no-referrer") << a.headers;
    EXPECT_EQ(header(a, "X-Content-Type-Options"), "nosniff") << a.headers;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestServer> server_;
  std::string admin_, log_;
};

TEST_F(ConsoleTest, PageAndVersionedAssetsWithSecurityHeaders) {
  CurlAnswer page = get("/");
  ASSERT_EQ(page.status, 200) << page.body;
  expectConsoleHeaders(page);
  EXPECT_EQ(header(page, "Cache-Control"), "no-store");
  EXPECT_EQ(header(page, "Content-Type"), "text/html; charset=utf-8");
  // No inline script or style: every <script> has a src, no style attribute or element.
  EXPECT_EQ(std::regex_search(page.body, std::regex("<script(?![^>]*\\ssrc=)")), false)
      << page.body;
  EXPECT_EQ(page.body.find("style="), std::string::npos);
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page.body, m, std::regex("/assets/([0-9a-f]{16})/app\\.js")))
      << page.body;
  std::string version = m[1].str();
  // Every module app.js imports, and what they import, is served under the same version.
  std::vector<std::string> todo = {"app.js", "style.css"};
  std::vector<std::string> seen;
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    CurlAnswer asset = get("/assets/" + version + "/" + name);
    ASSERT_EQ(asset.status, 200) << name;
    expectConsoleHeaders(asset);
    EXPECT_EQ(header(asset, "Cache-Control"), "public, max-age=31536000, immutable") << name;
    EXPECT_EQ(header(asset, "Content-Type"), name.ends_with(".css")
                                                 ? "text/css; charset=utf-8"
                                                 : "text/javascript; charset=utf-8");
    // Nothing from elsewhere: no URL of another host, and no innerHTML. The one URL allowed is
    // SVG's namespace name (createElementNS for the trend chart), which nothing fetches.
    std::string body = asset.body;
    for (size_t at; (at = body.find("'http://www.w3.org/2000/svg'")) != std::string::npos;) {
      body.erase(at, std::strlen("'http://www.w3.org/2000/svg'"));
    }
    EXPECT_EQ(body.find("http://"), std::string::npos) << name;
    EXPECT_EQ(body.find("https://"), std::string::npos) << name;
    EXPECT_EQ(asset.body.find("innerHTML"), std::string::npos) << name;
    EXPECT_EQ(asset.body.find("insertAdjacentHTML"), std::string::npos) << name;
    static const std::regex import_re("from '\\./([a-z_]+\\.js)'");
    for (std::sregex_iterator it(asset.body.begin(), asset.body.end(), import_re), end; it != end;
         ++it) {
      todo.push_back((*it)[1].str());
    }
  }
  EXPECT_GE(seen.size(), 8u);
  // Another version, the page as an asset, a path outside: 404.
  EXPECT_EQ(get("/assets/0000000000000000/app.js").status, 404);
  EXPECT_EQ(get("/assets/" + version + "/index.html").status, 404);
  EXPECT_EQ(get("/assets/" + version + "/../admin-token").status, 404);
  EXPECT_EQ(get("/assets/" + version + "/nothing.js").status, 404);
  // The API is unchanged: no token, 401.
  EXPECT_EQ(get("/api/v1/devices").status, 401);
  EXPECT_EQ(post("/").status, 405);
}

TEST_F(ConsoleTest, TokenSignsInWithStrictCookie) {
  CurlAnswer a = login(server_->adminToken());
  ASSERT_EQ(a.status, 303) << a.body;
  expectConsoleHeaders(a);
  EXPECT_EQ(header(a, "Location"), "/");
  std::string cookie = header(a, "Set-Cookie");
  EXPECT_TRUE(std::regex_match(cookie, std::regex("hearth_session=[0-9a-f]{64}; HttpOnly; Secure; "
                                                  "SameSite=Strict; Path=/")))
      << cookie;
  std::string id = cookie.substr(15, 64);
  CurlAnswer s = get("/api/v1/session", this->cookie(id));
  ASSERT_EQ(s.status, 200) << s.body;
  expectConsoleHeaders(s);
  EXPECT_EQ(field(s.body, "role"), "admin");
  EXPECT_EQ(field(s.body, "token_name"), "initial admin");
  EXPECT_EQ(field(s.body, "csrf_token").size(), 64u);
  EXPECT_FALSE(field(s.body, "expires").empty());
  // The session reads the API as the token does.
  CurlAnswer devices = get("/api/v1/devices", this->cookie(id));
  EXPECT_EQ(devices.status, 200) << devices.body;
  // No session: 401; a made-up one: 401.
  EXPECT_EQ(get("/api/v1/session").status, 401);
  EXPECT_EQ(get("/api/v1/devices", this->cookie(std::string(64, 'a'))).status, 401);
  // The login is audited with the token's name.
  auto audit =
      testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(), "/api/v1/audit");
  bool found = false;
  for (const auto& e : audit.find("entries")->asArray()) {
    if (e.find("action")->asString() == "console.login") {
      found = true;
      EXPECT_EQ(e.find("actor")->asString(), "initial admin");
    }
  }
  EXPECT_TRUE(found) << json::write(audit);
  // Neither the token nor the session id is in the server's log.
  std::string log = ReadFile(log_);
  EXPECT_EQ(log.find(server_->adminToken()), std::string::npos);
  EXPECT_EQ(log.find(id), std::string::npos);
  EXPECT_NE(log.find("console: signed in"), std::string::npos) << log;
}

// issue 15: without oidc_issuer there is no single sign-on: the page offers none
// (data-oidc empty) and /login/oidc and its callback are 404, setting no cookie.
TEST_F(ConsoleTest, WithoutAProviderThereIsNoSingleSignOn) {
  CurlAnswer page = get("/");
  EXPECT_NE(page.body.find("data-oidc=\"\""), std::string::npos) << page.body;
  for (const char* path : {"/login/oidc", "/login/oidc/callback?code=x&state=y"}) {
    CurlAnswer a = get(path);
    EXPECT_EQ(a.status, 404) << path;
    EXPECT_EQ(header(a, "Set-Cookie"), "") << path;
  }
  EXPECT_EQ(post("/login/oidc", {"--data", ""}).status, 405);
}

// A provider that cannot be reached (here: nothing listens on its port) does not keep the server
// from starting; a sign-in shows the page saying so (502), sets no cookie, and the log says why.
TEST_F(ConsoleTest, SingleSignOnWithAProviderThatIsDownSaysSo) {
  std::string secret = dir_.write("oidc-secret", "client-secret-0123456789\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  ASSERT_TRUE(server_->serve(
      log_, {.admin_listen = admin_,
             .extra = {"--oidc-issuer", "http://127.0.0.1:9", "--oidc-client-id", "hearth",
                       "--oidc-client-secret-file", secret, "--oidc-redirect-uri",
                       "https://" + admin_ + "/login/oidc/callback", "--oidc-role-claim", "groups",
                       "--oidc-admin-values", "hearth-admins"}}))
      << ReadFile(log_);
  EXPECT_NE(get("/").body.find("data-oidc=\"on\""), std::string::npos);
  CurlAnswer a = get("/login/oidc");
  EXPECT_EQ(a.status, 502);
  expectConsoleHeaders(a);
  EXPECT_NE(a.body.find("data-login=\"oidc-unavailable\""), std::string::npos) << a.body;
  EXPECT_EQ(header(a, "Set-Cookie"), "");
  EXPECT_NE(ReadFile(log_).find("single sign-on cannot start"), std::string::npos)
      << ReadFile(log_);
  // A callback with no sign-in in progress is refused, and clears the sign-in cookie.
  CurlAnswer cb = get("/login/oidc/callback?code=abc&state=def");
  EXPECT_EQ(cb.status, 401);
  EXPECT_NE(cb.body.find("data-login=\"oidc-failed\""), std::string::npos) << cb.body;
  EXPECT_NE(header(cb, "Set-Cookie").find("hearth_oidc=;"), std::string::npos);
}

TEST_F(ConsoleTest, WrongTokenShowsSignInAgainWithoutCookie) {
  CurlAnswer a = login("not-the-token-0123456789");
  EXPECT_EQ(a.status, 401);
  expectConsoleHeaders(a);
  EXPECT_EQ(header(a, "Set-Cookie"), "");
  EXPECT_NE(a.body.find("data-login=\"failed\""), std::string::npos) << a.body;
  EXPECT_EQ(header(a, "Content-Type"), "text/html; charset=utf-8");
  // No token at all, and GET /login: no session either.
  EXPECT_EQ(post("/login", {"--data", ""}).status, 401);
  EXPECT_EQ(get("/login").status, 405);
  // A sign-in posted from another site's page is refused.
  CurlAnswer foreign = login(server_->adminToken(), {"-H", "Origin: https://evil.example"});
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(header(foreign, "Set-Cookie"), "");
  EXPECT_EQ(login(server_->adminToken(), {"-H", "Sec-Fetch-Site: cross-site"}).status, 403);
  EXPECT_EQ(login(server_->adminToken(), {"-H", "Sec-Fetch-Site: same-site"}).status, 403);
  // The console's own form, as Chromium posts it under Referrer-Policy: no-referrer.
  EXPECT_EQ(
      login(server_->adminToken(), {"-H", "Origin: null", "-H", "Sec-Fetch-Site: same-origin"})
          .status,
      303);
  EXPECT_EQ(ReadFile(log_).find("not-the-token-0123456789"), std::string::npos);
}

TEST_F(ConsoleTest, EveryWriteWithTheCookieNeedsTheCsrfToken) {
  std::string device = enrolDevice("pc-csrf");
  std::string id = session(server_->adminToken());
  std::string token = csrf(id);
  ASSERT_EQ(token.size(), 64u);
  std::string retire = "/api/v1/devices/" + device + "/retire";
  auto with = [&](std::vector<std::string> extra) {
    auto c = cookie(id);
    extra.insert(extra.end(), c.begin(), c.end());
    return extra;
  };
  CurlAnswer none = post(retire, with({}));
  EXPECT_EQ(none.status, 403) << none.body;
  EXPECT_EQ(field(none.body, "code"), "forbidden");
  EXPECT_EQ(field(none.body, "reason"), "csrf");
  EXPECT_EQ(post(retire, with({"-H", "X-CSRF-Token: " + std::string(64, '0')})).status, 403);
  // Another session's CSRF token does not do either.
  std::string other = csrf(session(server_->adminToken()));
  EXPECT_EQ(post(retire, with({"-H", "X-CSRF-Token: " + other})).status, 403);
  // Still active.
  auto dev = testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(),
                                    "/api/v1/devices/" + device);
  EXPECT_NE(dev.find("status")->asString(), "retired");
  CurlAnswer ok = post(retire, with({"-H", "X-CSRF-Token: " + token}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(field(ok.body, "status"), "retired");
  // Audited with the token's name, as with the bearer token.
  auto audit =
      testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(), "/api/v1/audit");
  bool found = false;
  for (const auto& e : audit.find("entries")->asArray()) {
    if (e.find("action")->asString() == "device.retire") {
      found = e.find("actor")->asString() == "initial admin";
    }
  }
  EXPECT_TRUE(found) << json::write(audit);
}

TEST_F(ConsoleTest, ReadSessionReadsButCannotWrite) {
  std::string device = enrolDevice("pc-read");
  std::string id = session(readToken());
  CurlAnswer s = get("/api/v1/session", cookie(id));
  EXPECT_EQ(field(s.body, "role"), "read");
  std::string token = field(s.body, "csrf_token");
  EXPECT_EQ(get("/api/v1/devices/" + device, cookie(id)).status, 200);
  for (const char* path : {"/retire", "/approve", "/owner"}) {
    auto extra = cookie(id);
    extra.insert(extra.end(), {"-H", "X-CSRF-Token: " + token, "-H",
                               "Content-Type: application/json", "--data", "{\"owner\":\"x\"}"});
    CurlAnswer a = post("/api/v1/devices/" + device + path, extra);
    EXPECT_EQ(a.status, 403) << path << a.body;
    EXPECT_EQ(field(a.body, "code"), "read_only_token") << path;
  }
  EXPECT_EQ(get("/api/v1/audit", cookie(id)).status, 403);
}

TEST_F(ConsoleTest, LogoutNeedsCsrfAndEndsTheSession) {
  std::string id = session(server_->adminToken());
  std::string token = csrf(id);
  CurlAnswer refused = post("/logout", cookie(id));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(get("/api/v1/session", cookie(id)).status, 200);
  auto extra = cookie(id);
  extra.insert(extra.end(), {"-H", "X-CSRF-Token: " + token});
  CurlAnswer out = post("/logout", extra);
  EXPECT_EQ(out.status, 303) << out.body;
  EXPECT_EQ(header(out, "Location"), "/");
  EXPECT_NE(header(out, "Set-Cookie").find("hearth_session=; "), std::string::npos);
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(get("/api/v1/session", cookie(id)).status, 401);
  EXPECT_EQ(get("/api/v1/devices", cookie(id)).status, 401);
  auto audit =
      testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(), "/api/v1/audit");
  int logouts = 0;
  for (const auto& e : audit.find("entries")->asArray()) {
    if (e.find("action")->asString() == "console.logout") ++logouts;
  }
  EXPECT_EQ(logouts, 1);
}

TEST_F(ConsoleTest, RevokedTokenEndsItsSessions) {
  std::string reader = readToken();
  std::string id = session(reader);
  EXPECT_EQ(get("/api/v1/session", cookie(id)).status, 200);
  auto r = server_->cli({"token", "revoke", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(get("/api/v1/session", cookie(id)).status, 401);
}

// Signs in at `admin` and expects the session to end after 2 s unused (the server's idle limit).
void ExpectSessionEndsAfterTwoIdleSeconds(const std::string& admin, const std::string& ca,
                                          const std::string& token) {
  std::string url = "https://" + admin;
  CurlAnswer a = testing::Curl(url + "/login",
                               {.ca_file = ca, .extra = {"--data-urlencode", "token=" + token}});
  ASSERT_EQ(a.status, 303);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a.headers, m, std::regex("hearth_session=([0-9a-f]{64})")));
  std::vector<std::string> cookie = {"-H", "Cookie: hearth_session=" + m[1].str()};
  EXPECT_EQ(testing::Curl(url + "/api/v1/session", {.ca_file = ca, .extra = cookie}).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  EXPECT_EQ(testing::Curl(url + "/api/v1/session", {.ca_file = ca, .extra = cookie}).status, 401);
}

TEST(ConsoleIdleTest, IdleSessionEnds) {
  testing::TempDir dir;
  testing::TestServer server(dir.path() + "/state");
  ASSERT_EQ(server.init().exit_code, 0);
  std::string log = dir.path() + "/server.log";
  ASSERT_TRUE(server.serve(log, {.extra = {"--console-idle-timeout", "2"}})) << ReadFile(log);
  ExpectSessionEndsAfterTwoIdleSeconds(server.address("admin"), server.caFile(),
                                       server.adminToken());
}

// The same limit from the configuration file (/etc/hearth/server.conf's keys).
TEST(ConsoleIdleTest, IdleLimitFromTheConfigFile) {
  testing::TempDir dir;
  std::string state = dir.path() + "/state";
  std::string conf = dir.write("server.conf", "state_dir = " + state +
                                                  "\nlisten = 127.0.0.1:0\n"
                                                  "admin_listen = 127.0.0.1:0\n"
                                                  "console_idle_timeout = 2\n"
                                                  "console_session_lifetime = 3600\n");
  testing::TestServer init(state);
  ASSERT_EQ(init.init().exit_code, 0);
  testing::ServerProcess server({testing::ServerProgram(), "serve", "--config", conf},
                                dir.path() + "/server.log");
  ASSERT_TRUE(server.started()) << ReadFile(dir.path() + "/server.log");
  ExpectSessionEndsAfterTwoIdleSeconds(server.address("admin"), init.caFile(), init.adminToken());
}

}  // namespace
}  // namespace hearth
