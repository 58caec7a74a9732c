// The console's OpenID Connect relying party (issue 15): discovery and the provider's keys
// (fetched with libcurl, bounded, cached), the sign-ins in progress (state, nonce and PKCE
// verifier, bound to a cookie of the browser that started them: in the database, so that the
// provider's answer may reach any server on it), and the code exchange with the ID token's
// verification. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "hearth/json.h"
#include "hearth/server/oidc.h"
#include "hearth/server/store.h"
#include "hearth/status.h"

namespace hearth::server::oidc {

// One HTTP answer from the provider.
struct HttpAnswer {
  long status = 0;
  std::string body;
};

// GET `url` or, with `form`, POST it as application/x-www-form-urlencoded, with `basic_auth`
// ("user:password", already form-encoded parts) when not empty. No redirects; at most
// kMaxProviderBody bytes of answer; `ca_file` trusted beside the system's store. Unavailable
// with curl's reason when there is no answer, or when the answer is too long.
StatusOr<HttpAnswer> ProviderRequest(const std::string& url, const std::string* form,
                                     const std::string& basic_auth, const OidcSettings& settings);
inline constexpr size_t kMaxProviderBody = 256 * 1024;

// A sign-in started: where to send the browser, and the pending cookie's value.
struct LoginStart {
  std::string authorization_url;
  std::string pending_id;  // 64 hex digits; the cookie kPendingCookie
};

// A finished sign-in.
struct SignedIn {
  IdToken token;
  std::string name;  // DisplayName
  std::string role;  // "admin" or "read"
};

class OidcClient {
 public:
  // `store` keeps the sign-ins in progress (it outlives the client).
  OidcClient(OidcSettings settings, Store& store);

  const OidcSettings& settings() const { return settings_; }

  // Starts a sign-in at `now`: a new state, nonce and PKCE verifier kept for kPendingLifetime
  // under a new pending id. Unavailable when the provider's discovery document cannot be had
  // (or is wrong: the reason says why); ResourceExhausted beyond kMaxPending sign-ins in
  // progress; Unavailable when the database cannot keep it.
  StatusOr<LoginStart> begin(TimePoint now);

  // Finishes the sign-in of the browser with `pending_id` that the provider sent back with
  // `state` and `code` (each pending sign-in is used once, whatever the outcome). Errors:
  // PermissionDenied (no such sign-in, expired, state mismatch, the provider refused the code,
  // the ID token is not valid: the reason says which); FailedPrecondition "no role" with the
  // token (in `refused`) when the role claim gives no role; Unavailable when the provider (or
  // the database) cannot be reached.
  StatusOr<SignedIn> finish(const std::string& pending_id, const std::string& state,
                            const std::string& code, TimePoint now,
                            std::optional<IdToken>* refused = nullptr);

  static constexpr std::chrono::seconds kPendingLifetime{600};
  static constexpr size_t kMaxPending = 10000;
  // The key set is fetched again for an unknown kid at most this often.
  static constexpr std::chrono::seconds kJwksRefreshEvery{30};

 private:
  StatusOr<ProviderMetadata> metadata();
  StatusOr<json::Value> keys(bool refresh, TimePoint now);
  StatusOr<std::string> exchange(const ProviderMetadata& m, const std::string& code,
                                 const std::string& verifier);

  const OidcSettings settings_;
  Store& store_;
  std::mutex mu_;
  std::optional<ProviderMetadata> metadata_;  // once fetched and valid
  std::optional<json::Value> jwks_;
  TimePoint jwks_fetched_{};
};

}  // namespace hearth::server::oidc
