// `hearth-server serve`: the devices' listener (mutual TLS; enrolment is the only path without a
// client certificate) and IT's listener (TLS, bearer tokens), in the foreground until SIGTERM.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "hearth/server/oidc.h"
#include "hearth/server/rate_limit.h"
#include "hearth/server/store.h"

namespace hearth::server {

struct ServeOptions {
  std::string state_dir;
  std::string database;                         // "" = SQLite in the state dir
  std::string listen = "0.0.0.0:8443";          // devices
  std::string admin_listen = "127.0.0.1:8444";  // IT
  std::chrono::seconds stale_after = kDefaultStaleAfter;
  // The IT console's sessions end after this long unused, and this long after sign-in
  // (--console-idle-timeout, --console-session-lifetime; console_session.h).
  std::chrono::seconds console_idle{30 * 60};
  std::chrono::seconds console_lifetime{12 * 3600};
  int max_threads = 16;  // per listener
  // Connections waiting for a thread, per listener. Beyond it a connection is answered 503 with
  // Retry-After (by a small pool of its own), never dropped in silence.
  int max_queued = 64;
  // POST /api/v1/enroll: a token bucket for the whole server and one per source address; beyond
  // either, 429 with Retry-After. 500 PCs from different addresses that enrol at once (and
  // retry after Retry-After) are all through in under a minute.
  RateLimit enroll_limit{.per_second = 10, .burst = 50};
  RateLimit enroll_limit_per_address{.per_second = 2, .burst = 20};
  // A connection must complete each request (TLS handshake, headers, body, answer) within this
  // long of being accepted or of its previous request; a slowloris client is cut off.
  std::chrono::milliseconds request_deadline{10000};
  // A connection's client must complete its TLS handshake within this long: it may stay silent
  // (no ClientHello) this long after it is accepted, waiting in the listener's gate without a
  // worker thread, and then has this long again in a worker (--handshake-timeout).
  std::chrono::milliseconds handshake_timeout{5000};
  // Connections from one source address that may wait in the gate at once (accepted, no whole
  // ClientHello yet); beyond it the address's oldest waiting one is closed
  // (--pending-per-address). A client that speaks at once leaves the gate within a round trip.
  int pending_per_address = 32;
  // A request body must arrive within body_floor plus the time body_min_rate (bytes per second)
  // needs for what has arrived, checked as it arrives (--body-timeout, --body-min-rate): a slow
  // uplink that keeps the rate gets a large report through; a drip feed is cut (408). The
  // connection's deadline grows to fit the body's Content-Length at that rate.
  std::chrono::milliseconds body_floor{10000};
  int64_t body_min_rate = 1024;
  // Lifetime of the device certificates issued at enrolment and renewal (--device-cert-days).
  std::chrono::seconds device_cert_validity{365 * 24 * 3600};
  // Retention, applied at start and every `prune_every` (see Store::prune).
  std::chrono::seconds history_retention{400 * 24 * 3600};
  std::chrono::seconds retired_retention{30 * 24 * 3600};
  std::chrono::seconds prune_every{3600};
  // More than `threshold` enrolments with one secret within `window`: one `enrolment_spike` feed
  // event per window (--enroll-spike-count, --enroll-spike-minutes).
  SpikeRule enroll_spike;
  // A device whose certificate expired at most this long ago may still renew it with that
  // certificate (keeping its device id); 0 = never: it must enrol again with a secret
  // (--reenroll-expired-days).
  std::chrono::seconds reenroll_expired{0};
  // A device whose certificate expires within this long and that has not renewed it gets one
  // `certificate_expiring` feed event per certificate (--cert-expiry-warn-days; agents renew at
  // half-life, so a device that reaches this point has been away or cannot renew).
  std::chrono::seconds cert_expiry_warning{30 * 24 * 3600};
  // An exemption that lapses within this long gets one `exemption_expiring` feed event per
  // device it covers, once (--exemption-expiry-warn-days): time for IT to renew or end it.
  std::chrono::seconds exemption_expiry_warning{3 * 24 * 3600};
  // Webhook deliveries: the time one attempt may take (--webhook-timeout, seconds) and a CA
  // bundle trusted beside the system's for receivers with an internal CA (--webhook-ca-file).
  std::chrono::seconds webhook_timeout{10};
  std::string webhook_ca_file;
  // The console's single sign-on with OpenID Connect (oidc_* in server.conf); off when the
  // issuer is empty.
  oidc::OidcSettings oidc;
};

// Runs until SIGTERM or SIGINT; returns the process exit code. Logs to `log` (stderr: journald).
int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& log);

}  // namespace hearth::server
