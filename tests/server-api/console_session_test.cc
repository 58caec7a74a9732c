// The IT console's sessions (issue 15) on SQLite and (HEARTH_TEST_PG_URI) PostgreSQL: a token
// exchanged for a session kept only as a hash, idle and absolute expiry, the token's revocation
// ending its sessions, CSRF tokens, logout, the audit entries, and the cookie's attributes.
#include "hearth/server/console_session.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint T(const char* s) { return *parseRfc3339(s); }

class ConsoleSessionTest : public testing::StoreBackendTest {
 protected:
  ConsoleSessionTest() : StoreBackendTest("console_sessions") {}

  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    admin_ = token("alice-admin", "admin");
    reader_ = token("bob-read", "read");
  }

  // A new token of `scope`; its secret.
  std::string token(const std::string& name, const std::string& scope) {
    std::string secret = name + "-secret-0123456789";
    TokenRecord spec;
    spec.name = name;
    spec.scope = scope;
    spec.created_at = T("2026-12-01T00:00:00Z");
    auto made = store_->createToken(HashSecret(secret), spec);
    EXPECT_TRUE(made.ok()) << made.status().toString();
    if (made.ok()) ids_.push_back(made->id);
    return secret;
  }

  std::vector<AuditEntry> audit(const std::string& action) {
    std::vector<AuditEntry> out;
    auto all = store_->listAudit(0, 1000);
    EXPECT_TRUE(all.ok());
    for (const auto& e : *all) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }

  ConsoleSessionLimits limits_{minutes(30), hours(12)};
  std::string admin_, reader_;
  std::vector<int64_t> ids_;
  TimePoint t0_ = T("2026-12-07T09:00:00Z");
};

TEST_P(ConsoleSessionTest, TokenOpensSessionKeptOnlyAsHash) {
  auto opened = OpenSession(*store_, admin_, t0_);
  ASSERT_TRUE(opened.ok()) << opened.status().toString();
  EXPECT_TRUE(IsSessionIdForm(opened->id));
  EXPECT_EQ(opened->record.role, "admin");
  EXPECT_EQ(opened->record.token_name, "alice-admin");
  EXPECT_EQ(opened->record.csrf_token.size(), 64u);
  EXPECT_NE(opened->record.csrf_token, opened->id);
  // The store finds it by the id's hash, never by the id itself.
  EXPECT_EQ(store_->findSession(opened->id, t0_).status().code(), StatusCode::kNotFound);
  auto found = store_->findSession(HashSecret(opened->id), t0_);
  ASSERT_TRUE(found.ok()) << found.status().toString();
  EXPECT_EQ(found->token_id, ids_[0]);
  EXPECT_EQ(found->csrf_token, opened->record.csrf_token);
  auto resumed = ResumeSession(*store_, opened->id, t0_ + minutes(5), limits_);
  ASSERT_TRUE(resumed.ok()) << resumed.status().toString();
  EXPECT_EQ(resumed->role, "admin");
  // A read token's session is a read session.
  auto read = OpenSession(*store_, reader_, t0_);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->record.role, "read");
  EXPECT_NE(read->id, opened->id);
  // The login is audited with the token's name, and the id appears in no audit entry.
  auto logins = audit("console.login");
  ASSERT_EQ(logins.size(), 2u);
  EXPECT_EQ(logins[0].actor, "alice-admin");
  EXPECT_EQ(logins[0].target, "token:" + std::to_string(ids_[0]));
  auto all = store_->listAudit(0, 1000);
  ASSERT_TRUE(all.ok());
  for (const auto& e : *all) {
    EXPECT_EQ(e.detail.value_or("").find(opened->id), std::string::npos);
    EXPECT_EQ(e.detail.value_or("").find(opened->record.csrf_token), std::string::npos);
  }
}

TEST_P(ConsoleSessionTest, WrongOrDeadTokenOpensNothing) {
  EXPECT_EQ(OpenSession(*store_, "not-a-token", t0_).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenSession(*store_, "", t0_).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(store_->revokeToken(ids_[1], t0_).ok());
  EXPECT_EQ(OpenSession(*store_, reader_, t0_ + seconds(1)).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(audit("console.login").empty());
}

TEST_P(ConsoleSessionTest, IdleExpiryCountsFromLastUse) {
  auto opened = OpenSession(*store_, admin_, t0_);
  ASSERT_TRUE(opened.ok());
  // Used every 20 minutes: alive after an hour (each use moves the idle clock).
  for (int i = 1; i <= 3; ++i) {
    auto r = ResumeSession(*store_, opened->id, t0_ + minutes(20 * i), limits_);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().toString();
    EXPECT_EQ(r->last_used_at, t0_ + minutes(20 * i));
  }
  EXPECT_EQ(SessionExpiry(*store_->findSession(HashSecret(opened->id), t0_), limits_),
            t0_ + minutes(60 + 30));
  // 30 minutes unused: gone, and deleted.
  EXPECT_EQ(ResumeSession(*store_, opened->id, t0_ + minutes(90), limits_).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->findSession(HashSecret(opened->id), t0_).status().code(),
            StatusCode::kNotFound);
}

TEST_P(ConsoleSessionTest, AbsoluteExpiryHoldsHoweverOftenUsed) {
  auto opened = OpenSession(*store_, admin_, t0_);
  ASSERT_TRUE(opened.ok());
  TimePoint at = t0_;
  while (at < t0_ + hours(12) - minutes(10)) {
    at += minutes(10);
    ASSERT_TRUE(ResumeSession(*store_, opened->id, at, limits_).ok());
  }
  EXPECT_EQ(ResumeSession(*store_, opened->id, t0_ + hours(12), limits_).status().code(),
            StatusCode::kNotFound);
}

TEST_P(ConsoleSessionTest, UseWithinAMinuteIsNotWrittenAgain) {
  auto opened = OpenSession(*store_, admin_, t0_);
  ASSERT_TRUE(opened.ok());
  auto r = ResumeSession(*store_, opened->id, t0_ + seconds(30), limits_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last_used_at, t0_);
  EXPECT_EQ(store_->findSession(HashSecret(opened->id), t0_)->last_used_at, t0_);
  r = ResumeSession(*store_, opened->id, t0_ + seconds(61), limits_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store_->findSession(HashSecret(opened->id), t0_)->last_used_at, t0_ + seconds(61));
}

TEST_P(ConsoleSessionTest, RevokedOrExpiredTokenEndsItsSessions) {
  auto opened = OpenSession(*store_, admin_, t0_);
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(store_->revokeToken(ids_[0], t0_ + minutes(1)).ok());
  EXPECT_EQ(ResumeSession(*store_, opened->id, t0_ + minutes(2), limits_).status().code(),
            StatusCode::kNotFound);
  // A token with an expiry: its session ends with it, before the session's own limits.
  TokenRecord spec;
  spec.name = "carol";
  spec.scope = "admin";
  spec.created_at = t0_;
  spec.expires_at = t0_ + minutes(10);
  ASSERT_TRUE(store_->createToken(HashSecret("carol-secret-0123456789"), spec).ok());
  auto carol = OpenSession(*store_, "carol-secret-0123456789", t0_);
  ASSERT_TRUE(carol.ok());
  EXPECT_TRUE(ResumeSession(*store_, carol->id, t0_ + minutes(9), limits_).ok());
  EXPECT_EQ(ResumeSession(*store_, carol->id, t0_ + minutes(10), limits_).status().code(),
            StatusCode::kNotFound);
}

TEST_P(ConsoleSessionTest, LogoutEndsSessionAndIsAudited) {
  auto opened = OpenSession(*store_, reader_, t0_);
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(CloseSession(*store_, opened->id, opened->record, t0_ + minutes(1)).ok());
  EXPECT_EQ(ResumeSession(*store_, opened->id, t0_ + minutes(2), limits_).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(CloseSession(*store_, opened->id, opened->record, t0_).code(), StatusCode::kNotFound);
  auto logouts = audit("console.logout");
  ASSERT_EQ(logouts.size(), 1u);
  EXPECT_EQ(logouts[0].actor, "bob-read");
  EXPECT_EQ(logouts[0].at, t0_ + minutes(1));
}

TEST_P(ConsoleSessionTest, PruneDeletesIdleAndOldSessions) {
  auto old = OpenSession(*store_, admin_, t0_);
  auto idle = OpenSession(*store_, admin_, t0_ + hours(2));
  auto live = OpenSession(*store_, admin_, t0_ + hours(3));
  ASSERT_TRUE(old.ok() && idle.ok() && live.ok());
  // `old` was used lately (but opened long ago).
  ASSERT_TRUE(store_->touchSession(HashSecret(old->id), t0_ + hours(3)).ok());
  // Idle before 2:30, or opened before 1:00: `idle` by the first, `old` by the second.
  auto n = store_->pruneSessions(t0_ + hours(2) + minutes(30), t0_ + hours(1));
  ASSERT_TRUE(n.ok()) << n.status().toString();
  EXPECT_EQ(*n, 2);
  EXPECT_FALSE(store_->findSession(HashSecret(old->id), t0_).ok());
  EXPECT_FALSE(store_->findSession(HashSecret(idle->id), t0_).ok());
  EXPECT_TRUE(store_->findSession(HashSecret(live->id), t0_).ok());
}

TEST_P(ConsoleSessionTest, MalformedIdsAreNotLookedUp) {
  for (const char* id : {"", "abc", "../../etc/passwd",
                         "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"}) {
    EXPECT_FALSE(IsSessionIdForm(id)) << id;
    EXPECT_EQ(ResumeSession(*store_, id, t0_, limits_).status().code(), StatusCode::kNotFound);
  }
}

// Single sign-on (schema 18): a session with no token, named by the person, with the claim's
// role; it is not ended by any token's revocation, expires as the others do, and its sign-in and
// sign-out are audited with the subject.
TEST_P(ConsoleSessionTest, OidcSessionHasNoTokenAndIsAuditedWithItsSubject) {
  OidcIdentity who{.issuer = "https://idp.example.com",
                   .subject = "248289761001",
                   .name = "carol@example.com",
                   .role = "read"};
  auto opened = OpenOidcSession(*store_, who, t0_);
  ASSERT_TRUE(opened.ok()) << opened.status().toString();
  auto found = store_->findSession(HashSecret(opened->id), t0_);
  ASSERT_TRUE(found.ok()) << found.status().toString();
  EXPECT_EQ(found->token_id, 0);
  EXPECT_EQ(found->token_name, "oidc:carol@example.com");
  EXPECT_EQ(found->role, "read");
  // Revoking every token leaves it; the idle limit ends it.
  for (int64_t id : ids_) ASSERT_TRUE(store_->revokeToken(id, t0_).ok());
  EXPECT_TRUE(ResumeSession(*store_, opened->id, t0_ + minutes(20), limits_).ok());
  EXPECT_EQ(ResumeSession(*store_, opened->id, t0_ + minutes(51), limits_).status().code(),
            StatusCode::kNotFound);
  auto logins = audit("console.login");
  ASSERT_EQ(logins.size(), 1u);
  EXPECT_EQ(logins[0].actor, "oidc:carol@example.com");
  EXPECT_EQ(logins[0].target, "oidc:carol@example.com");
  ASSERT_TRUE(logins[0].detail.has_value());
  auto detail = json::parse(*logins[0].detail);
  ASSERT_TRUE(detail.ok());
  ASSERT_NE(detail->find("subject"), nullptr);
  EXPECT_EQ(detail->find("subject")->asString(), "248289761001");
  EXPECT_EQ(detail->find("issuer")->asString(), "https://idp.example.com");
  EXPECT_EQ(detail->find("token_id"), nullptr);
  // A role the claims cannot give is refused.
  who.role = "root";
  EXPECT_EQ(OpenOidcSession(*store_, who, t0_).status().code(), StatusCode::kInvalidArgument);
}

// Single sign-on behind a load balancer (issue 18): a sign-in started on one server is finished
// on another (the provider sends the browser back to the balancer's address), exactly once
// across the servers; sign-ins past their lifetime go, and a flood of them is bounded.
TEST_P(ConsoleSessionTest, AnOidcSignInStartedOnOneServerIsTakenOnceOnAnyServer) {
  auto other = server::OpenStore(uri_);  // the second server (on SQLite: the same file)
  ASSERT_TRUE(other.ok()) << other.status().toString();
  OidcPendingRecord p{.state = std::string(64, 's'),
                      .nonce = std::string(64, 'n'),
                      .verifier = std::string(96, 'v'),
                      .created_at = t0_};
  ASSERT_TRUE(store_->createOidcPending(HashSecret("pending-a"), p, t0_ - minutes(10), 100).ok());
  auto taken = (*other)->takeOidcPending(HashSecret("pending-a"));
  ASSERT_TRUE(taken.ok()) << taken.status().toString();
  EXPECT_EQ(taken->state, p.state);
  EXPECT_EQ(taken->nonce, p.nonce);
  EXPECT_EQ(taken->verifier, p.verifier);
  EXPECT_EQ(taken->created_at, t0_);
  // Replayed, on either server: gone.
  EXPECT_EQ((*other)->takeOidcPending(HashSecret("pending-a")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->takeOidcPending(HashSecret("pending-a")).status().code(),
            StatusCode::kNotFound);
  // A sign-in older than the lifetime is deleted when the next starts; at most `max` at once.
  ASSERT_TRUE(store_->createOidcPending(HashSecret("old"), p, t0_ - minutes(10), 2).ok());
  p.created_at = t0_ + minutes(11);
  ASSERT_TRUE(store_->createOidcPending(HashSecret("new-1"), p, t0_ + minutes(1), 2).ok());
  EXPECT_EQ((*other)->takeOidcPending(HashSecret("old")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*other)->createOidcPending(HashSecret("new-2"), p, t0_ + minutes(1), 2).ok());
  EXPECT_EQ(store_->createOidcPending(HashSecret("new-3"), p, t0_ + minutes(1), 2).code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE(store_->takeOidcPending(HashSecret("new-2")).ok());
}

TEST(ConsoleSessionCookieTest, CookieAttributesAndCsrf) {
  std::string id(64, 'a');
  EXPECT_EQ(SessionCookie(id),
            "hearth_session=" + id + "; HttpOnly; Secure; SameSite=Strict; Path=/");
  EXPECT_NE(ClearedSessionCookie().find("Max-Age=0"), std::string::npos);
  EXPECT_NE(ClearedSessionCookie().find("HttpOnly; Secure; SameSite=Strict"), std::string::npos);
  SessionRecord s;
  s.csrf_token = std::string(64, 'c');
  EXPECT_TRUE(CsrfTokenMatches(s, std::string(64, 'c')));
  EXPECT_FALSE(CsrfTokenMatches(s, std::string(63, 'c')));
  EXPECT_FALSE(CsrfTokenMatches(s, std::string(63, 'c') + "d"));
  EXPECT_FALSE(CsrfTokenMatches(s, ""));
  SessionRecord none;
  EXPECT_FALSE(CsrfTokenMatches(none, ""));
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsoleSessionTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
