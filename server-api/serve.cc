// `hearth-server serve`: the wiring. Two Poco HTTPS listeners over one Store:
//  - devices (mutual TLS against the device CA; only POST /api/v1/enroll works without a client
//    certificate): enrol, policy, reports, renew (device_api.h). Reports are acknowledged only
//    after a durable commit; concurrent reports share one transaction (ingestor.h).
//  - IT (TLS with the server certificate, bearer tokens hashed at rest): devices, history, feed,
//    CSV, audit, retire, approve, /healthz, /metrics (admin_api.h).
// Each listener (listener.h) waits for a client's ClientHello without a worker thread, and has
// its own watchdog and overflow responder (connection_guard.h); the staleness and retention threads
// run beside them (maintenance.h), and the webhook delivery worker (webhook_worker.h). Every
// request gets a response: handlers answer errors at the handler edge (route_handler.h).
#include "hearth/server/serve.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <ostream>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <utility>

#include <Poco/ErrorHandler.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include "admin_api.h"
#include "connection_guard.h"
#include "device_api.h"
#include "hearth/json.h"
#include "hearth/log.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/server/state.h"
#include "hearth/time.h"
#include "http_connection.h"
#include "listener.h"
#include "maintenance.h"
#include "server_context.h"
#include "tls_context.h"
#include "webhook_worker.h"

namespace hearth::server {

namespace {

class LoggingErrorHandler final : public Poco::ErrorHandler {
 public:
  explicit LoggingErrorHandler(Logger& log) : log_(log) {}
  void exception(const Poco::Exception& e) override {
    // TLS handshake failures of refused clients land here; they are expected noise at info.
    log_.info("connection: " + e.displayText());
  }
  void exception(const std::exception& e) override {
    log_.warning(std::string("connection: ") + e.what());
  }
  void exception() override { log_.warning("connection: unknown error"); }

 private:
  Logger& log_;
};

StatusOr<Poco::Net::SocketAddress> parseListen(const std::string& flag, const std::string& value) {
  try {
    return Poco::Net::SocketAddress(value);
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError(flag + " \"" + value + "\": expected ADDRESS:PORT (" +
                                e.displayText() + ")");
  }
}

// What agents should trust next (a policy-signing key rotation, a prepared server key), signed
// by the current and by the next policy-signing key, into `context`; nothing when no rotation is
// under way. Logs what is announced. An error when it cannot be signed.
Status signAnnouncement(ServerContext& context, Logger& log) {
  const ServerKeys& keys = context.keys;
  protocol::PolicyAnnouncement announce;
  if (keys.next_signing_key) {
    announce.next_policy_key = keys.next_signing_pub;
    log.info("policy-signing key rotation in progress: policies announce the next key, which " +
             std::string("takes over at ") + formatRfc3339(keys.signing_switch_at));
  }
  if (!keys.next_server_pin.empty()) {
    announce.server_pins.push_back(keys.next_server_pin);
    log.info("server key rotation prepared: policies announce the next server key " +
             keys.next_server_pin + " (install it with `hearth-server rotate server-cert`)");
  }
  if (announce.next_policy_key.empty() && announce.server_pins.empty()) return OkStatus();
  std::string bytes = json::write(announce.toJson());
  context.announcement_b64 = protocol::Base64Encode(bytes);
  auto cur = protocol::SignEd25519(keys.signing_key, bytes);
  auto next = keys.next_signing_key ? protocol::SignEd25519(*keys.next_signing_key, bytes) : cur;
  if (!cur.ok() || !next.ok()) return InternalError("cannot sign the key announcement");
  context.announcement_sig_current = *cur;
  context.announcement_sig_next = *next;
  return OkStatus();
}

Poco::Net::HTTPServerParams::Ptr newHttpParams(const ServeOptions& options) {
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(options.max_threads);
  params->setMaxQueued(options.max_queued);
  params->setTimeout(Poco::Timespan(5, 0));  // per read: headers and body
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  params->setMaxKeepAliveRequests(1000);
  params->setSoftwareVersion("");
  return params;
}

// Throws Poco exceptions (the address is taken, ...): RunServe catches them.
Poco::Net::SecureServerSocket listenOn(const Poco::Net::SocketAddress& addr,
                                       Poco::Net::Context::Ptr tls) {
  Poco::Net::SecureServerSocket s(tls);
  s.bind(addr, /*reuseAddress=*/true, /*reusePort=*/false);  // a second server must fail
  // Room for a burst of real clients beside silent ones (the kernel caps it at somaxconn).
  s.listen(1024);
  return s;
}

}  // namespace

// `init` stores the example policy, whose VPN addresses are placeholders: every PC would fail vpn.
// Said at each start until IT stores its own (docs/rollout.md, step 2).
void warnIfExamplePolicy(Store& store, Logger& log) {
  auto example = json::parse(ExamplePolicy());
  const json::Value* level = example.ok() ? example->find("level") : nullptr;
  if (level == nullptr || !level->isString()) return;
  auto current = store.latestPolicy(level->asString());
  if (current.ok() && current->body == ExamplePolicy()) {
    log.warning("level " + level->asString() +
                " still has the example policy from init, with placeholder VPN addresses: every "
                "PC will fail vpn; store the company's with `hearth-server policy set --file F` "
                "(docs/rollout.md)");
  }
}

int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& log_stream) {
  Logger log(log_stream, LogLevel::kInfo, LogFormat::NamedJournal("hearth-server"));
  // Block the termination signals before any thread starts: every thread inherits the mask and
  // only this thread takes them, in sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  ServerContext context;
  context.options = options;
  context.log = &log;
  auto keys = LoadServerKeys(options.state_dir);
  if (!keys.ok()) {
    log.error(keys.status().message());
    return 2;
  }
  context.keys = std::move(keys).value();
  if (!context.keys.old_device_ca_cert.empty()) {
    log.info(
        "device CA rollover in progress: certificates of the previous device CA are still "
        "accepted; new ones are issued by the new CA (finish with `hearth-server rotate "
        "device-ca --finish`)");
  }
  if (Status r = RecoverServerCertRotation(options.state_dir); !r.ok()) {
    log.error("finishing an interrupted server certificate rotation: " + r.message());
    return 1;
  }
  if (Status s = signAnnouncement(context, log); !s.ok()) {
    log.error(s.message());
    return 1;
  }
  std::string db = DatabaseUri(options.state_dir, options.database);
  if (Status file = CheckDatabaseFile(db); options.database.empty() && !file.ok()) {
    log.error(file.message());
    return 2;
  }
  auto store = OpenStore(db, OpenMode::kExisting);
  if (!store.ok()) {
    log.error("database: " + store.status().message());
    return 1;
  }
  context.store = std::move(store).value();
  warnIfExamplePolicy(*context.store, log);
  context.webhook_sender.timeout = options.webhook_timeout;
  context.webhook_sender.extra_ca_file = options.webhook_ca_file;
  if (options.oidc.enabled()) {
    // The provider is asked for its discovery document at the first sign-in, not here: a
    // provider that is down must not keep the server from starting.
    context.oidc = std::make_unique<oidc::OidcClient>(options.oidc, *context.store);
    log.info("console: single sign-on with " + options.oidc.issuer + " (client \"" +
             options.oidc.client_id + "\")");
  }
  auto device_addr = parseListen("--listen", options.listen);
  auto admin_addr = parseListen("--admin-listen", options.admin_listen);
  if (!device_addr.ok() || !admin_addr.ok()) {
    log.error((device_addr.ok() ? admin_addr.status() : device_addr.status()).message());
    return 2;
  }

  LoggingErrorHandler error_handler(log);
  Poco::ErrorHandler::set(&error_handler);
  ServerPaths paths = PathsFor(options.state_dir);
  try {
    Poco::Net::initializeSSL();
    auto device_tls = NewDeviceTlsContext(paths, context.keys, options.reenroll_expired);
    if (!device_tls.ok()) {
      log.error("cannot serve: " + device_tls.status().message());
      return 1;
    }
    auto admin_tls = NewAdminTlsContext(paths);
    if (!admin_tls.ok()) {
      log.error("cannot serve: " + admin_tls.status().message());
      return 1;
    }
    Poco::Net::SecureServerSocket device_socket = listenOn(*device_addr, *device_tls);
    Poco::Net::SecureServerSocket admin_socket = listenOn(*admin_addr, *admin_tls);

    context.ingestor = std::make_unique<Ingestor>(*context.store);
    context.enroll_limiter =
        std::make_unique<RateLimiter>(options.enroll_limit, options.enroll_limit_per_address);

    Poco::ThreadPool device_pool("devices", std::min(2, options.max_threads), options.max_threads);
    Poco::ThreadPool admin_pool("admin", 1, options.max_threads);
    // The overload answer's Retry-After on the devices' listener is sized to the backlog, at
    // the rate its workers finish connections (retry_after.h); IT's says 5 s.
    RetryAfterOptions retry_after_options;
    retry_after_options.min_rate = std::max(
        1.0, static_cast<double>(options.max_threads + options.max_queued) /
                 std::max(1.0, std::chrono::duration<double>(options.request_deadline).count()));
    RetryAfterSizer device_retry_after(retry_after_options, RetryAfterSizer::Clock::now());
    ConnectionWatchdog device_watchdog(options.request_deadline, &device_retry_after);
    context.device_retry_after = &device_retry_after;
    ConnectionWatchdog admin_watchdog(options.request_deadline);
    Poco::Net::HTTPServerParams::Ptr device_params = newHttpParams(options);
    Poco::Net::HTTPServerParams::Ptr admin_params = newHttpParams(options);
    // Declared before the listeners: their gate threads hand connections to these.
    OverflowResponder device_overflow("devices", context.metrics, &device_retry_after);
    OverflowResponder admin_overflow("admin", context.metrics);
    GateLimits gate{.handshake_timeout = options.handshake_timeout,
                    .pending_per_address = options.pending_per_address};
    Listener device_server("devices", device_socket,
                           new GuardedConnectionFactory(
                               device_params, NewDeviceHandlerFactory(context, device_watchdog),
                               device_watchdog, options.handshake_timeout),
                           device_pool, device_params, gate, device_overflow, context.metrics);
    Listener admin_server(
        "admin", admin_socket,
        new GuardedConnectionFactory(admin_params, NewAdminHandlerFactory(context, admin_watchdog),
                                     admin_watchdog, options.handshake_timeout),
        admin_pool, admin_params, gate, admin_overflow, context.metrics);
    context.device_server = &device_server;
    context.admin_server = &admin_server;
    device_server.start();
    admin_server.start();
    out << "listening devices=" << device_socket.address().toString()
        << " admin=" << admin_socket.address().toString() << std::endl;
    log.info("serving devices on " + device_socket.address().toString() + " and IT on " +
             admin_socket.address().toString());

    MaintenanceThreads maintenance(*context.store, log, options);
    WebhookWorker webhooks(*context.store, log, context.webhook_sender, options.history_retention);

    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        log.info("SIGHUP: configuration is read at start; restart to apply changes");
        continue;
      }
      log.info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "signal"));
      break;
    }
    maintenance.stop();
    webhooks.stop();
    device_server.stop();
    admin_server.stop();
    device_watchdog.closeAll();  // in-flight keep-alive connections end now
    admin_watchdog.closeAll();
    device_pool.joinAll();
    admin_pool.joinAll();
    context.device_server = nullptr;
    context.admin_server = nullptr;
    context.device_retry_after = nullptr;
    context.ingestor.reset();  // drains: every accepted report is committed before exit
    Poco::Net::uninitializeSSL();
  } catch (const Poco::Exception& e) {
    log.error("cannot serve: " + e.displayText());
    return 1;
  }
  log.info("stopped");
  return 0;
}

}  // namespace hearth::server
