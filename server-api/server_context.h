// What the request handlers of `hearth-server serve` share: the options, the store, the keys,
// the log, the metrics, the group-commit ingestor, the enrolment rate limiter and the signed key
// announcement. RunServe fills it before the listeners start and empties it after they stop;
// handlers only read its fields (the objects they point to are thread-safe).
#pragma once

#include <memory>
#include <string>

#include "hearth/log.h"
#include "hearth/server/oidc_client.h"
#include "hearth/server/rate_limit.h"
#include "hearth/server/retry_after.h"
#include "hearth/server/serve.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"
#include "hearth/server/webhooks.h"
#include "ingestor.h"
#include "listener.h"
#include "metrics.h"

namespace hearth::server {

struct ServerContext {
  ServeOptions options;
  std::unique_ptr<Store> store;
  ServerKeys keys;
  Logger* log = nullptr;
  Metrics metrics;
  std::unique_ptr<Ingestor> ingestor;
  std::unique_ptr<RateLimiter> enroll_limiter;
  // Sizes the Retry-After of the devices' overload answers to the backlog (retry_after.h): the
  // overflow responder's and a full ingest queue's. Set while serving; null: 5 s.
  RetryAfterSizer* device_retry_after = nullptr;
  // What agents should trust next (PolicyAnnouncement), sent with every policy: its bytes
  // (base64) and their signature by the current and by the next policy-signing key. Empty when
  // nothing is announced.
  std::string announcement_b64;
  std::string announcement_sig_current, announcement_sig_next;
  // How webhook deliveries are sent (the worker's and POST /api/v1/webhooks/ID/test's).
  WebhookSenderOptions webhook_sender;
  // The console's single sign-on (OpenID Connect); null when not configured.
  std::unique_ptr<oidc::OidcClient> oidc;
  // For the connection gauges in /metrics; set while serving.
  const Listener* device_server = nullptr;
  const Listener* admin_server = nullptr;
};

}  // namespace hearth::server
