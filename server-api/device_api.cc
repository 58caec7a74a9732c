// The devices' listener: routing, device authentication by client certificate, enrolment,
// certificate renewal, the signed policy and report intake (through the group-commit ingestor).
#include "device_api.h"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/URI.h>

#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/time.h"
#include "http_error.h"
#include "http_io.h"
#include "route_handler.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using Clock = std::chrono::steady_clock;

// A device certificate is valid from this long before it is issued (clocks a little behind).
constexpr auto kCertBackdate = std::chrono::minutes(5);

class DeviceHandler final : public RouteHandler {
 public:
  DeviceHandler(ServerContext& context, ConnectionWatchdog& watchdog)
      : RouteHandler(context, "devices", watchdog) {}

 private:
  int route(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    Poco::URI uri(req.getURI());
    const std::string& path = uri.getPath();
    const std::string& method = req.getMethod();
    if (path == "/api/v1/enroll") {
      if (method != "POST") throw HttpError{405, "use POST"};
      return enroll(req, resp);
    }
    if (path == "/api/v1/policy") {
      if (method != "GET") throw HttpError{405, "use GET"};
      DeviceRecord d = authenticate(req);
      return policy(d, resp);
    }
    if (path == "/api/v1/reports") {
      if (method != "POST") throw HttpError{405, "use POST"};
      DeviceRecord d = authenticate(req);
      return report(d, req, resp);
    }
    if (path == "/api/v1/renew") {
      if (method != "POST") throw HttpError{405, "use POST"};
      return renew(req, resp);
    }
    throw HttpError{404, "no such endpoint"};
  }

  static Poco::Net::X509Certificate peerCertificate(HTTPServerRequest& req) {
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
    Poco::Net::SecureStreamSocket socket(impl.socket());
    if (!socket.havePeerCertificate()) throw HttpError{401, "client certificate required"};
    return socket.peerCertificate();
  }

  // The device named by the verified client certificate, if enrolled and not retired, and the
  // certificate is its current one or its pending renewed one (which then becomes current: from
  // that request on, the previous certificate is refused), by serial AND key: anyone with the
  // device CA key can mint a certificate with a device's serial, not with its key. An expired
  // certificate (accepted by the TLS layer only with --reenroll-expired-days) is refused here,
  // except for a renewal
  // (`for_renewal`) within that many days of its expiry.
  DeviceRecord authenticate(HTTPServerRequest& req) {
    return authenticate(peerCertificate(req), false, nullptr);
  }

  DeviceRecord authenticate(const Poco::Net::X509Certificate& peer, bool for_renewal,
                            protocol::CertificateInfo* presented) {
    // Read the name, serial and validity off the verified peer certificate as it is (re-encoding
    // it to PEM and parsing that again cost 70% of the server's CPU per report).
    auto cert = protocol::CertificateIdentity(peer.certificate());
    if (!cert.ok()) throw HttpError{401, "unreadable client certificate"};
    TimePoint now = std::chrono::system_clock::now();
    if (now > cert->not_after) {
      bool allowed = for_renewal && context_.options.reenroll_expired.count() > 0 &&
                     now - cert->not_after <= context_.options.reenroll_expired;
      if (!allowed) {
        throw HttpError{401,
                        "the client certificate expired on " + formatRfc3339(cert->not_after) +
                            "; enrol this PC again (hearth-agent enroll)",
                        "certificate_expired"};
      }
    }
    auto device = context_.store->deviceForAuth(cert->common_name);
    if (!device.ok()) {
      if (device.status().code() == StatusCode::kNotFound) {
        throw HttpError{403, "unknown device", "unknown_device"};
      }
      throw HttpError{503, "database unavailable"};
    }
    if (device->retired_at)
      throw HttpError{403, "device is retired; enrol again to report", "retired"};
    if (device->cert_serial != cert->serial_hex) {
      if (device->pending_cert_serial != cert->serial_hex) refuseSuperseded();
      if (device->pending_cert_key_sha256 && *device->pending_cert_key_sha256 != cert->spki_sha256)
        refuseForeignKey(device->device_id, *cert);
      // The first use of a renewed certificate: it becomes the current one.
      Status promoted =
          context_.store->promotePendingCertificate(device->device_id, cert->serial_hex, now);
      if (!promoted.ok() && promoted.code() != StatusCode::kFailedPrecondition) {
        throw HttpError{503, "database unavailable"};
      }
      if (promoted.ok()) {
        context_.log->info("device " + device->device_id + " now uses its renewed certificate " +
                           cert->serial_hex + "; the previous one is refused from now on");
      }
      // Promoted by another request meanwhile, or superseded: ask the database again.
      device = context_.store->deviceForAuth(cert->common_name);
      if (!device.ok()) throw HttpError{503, "database unavailable"};
      if (device->cert_serial != cert->serial_hex) refuseSuperseded();
    }
    if (device->cert_key_sha256.empty()) bindLegacyKey(*device, *cert);
    if (device->cert_key_sha256 != cert->spki_sha256) refuseForeignKey(device->device_id, *cert);
    if (presented != nullptr) *presented = *cert;
    return std::move(device).value();
  }

  [[noreturn]] static void refuseSuperseded() {
    throw HttpError{403, "certificate is not the device's current certificate",
                    "certificate_superseded"};
  }

  // The device's serial with another key: someone minted a certificate with the device CA key.
  // Answered like any other certificate that is not the device's (the caller learns nothing).
  [[noreturn]] void refuseForeignKey(const std::string& device_id,
                                     const protocol::CertificateInfo& cert) {
    context_.log->warning("device " + device_id + ": refused a certificate with its serial " +
                          cert.serial_hex + " but another key (SHA-256 " + cert.spki_sha256 +
                          "); someone holds the device CA key (docs/threat-model.md)");
    refuseSuperseded();
  }

  // A device enrolled before the server stored keys: the key of its current certificate, as
  // presented now, becomes its key (schema v6). Another request may have bound one first:
  // `device` then holds that one.
  void bindLegacyKey(DeviceRecord& device, const protocol::CertificateInfo& cert) {
    Status bound =
        context_.store->bindCertificateKey(device.device_id, cert.serial_hex, cert.spki_sha256);
    if (bound.ok()) {
      context_.log->warning("device " + device.device_id +
                            " was enrolled before keys were recorded: its key (SHA-256 " +
                            cert.spki_sha256 + ") is bound to it from now on");
      device.cert_key_sha256 = cert.spki_sha256;
      return;
    }
    if (bound.code() != StatusCode::kFailedPrecondition) {
      throw HttpError{503, "database unavailable"};
    }
    auto again = context_.store->deviceForAuth(device.device_id);
    if (!again.ok()) throw HttpError{503, "database unavailable"};
    if (again->retired_at)
      throw HttpError{403, "device is retired; enrol again to report", "retired"};
    if (again->cert_serial != cert.serial_hex) refuseSuperseded();
    device = std::move(again).value();
  }

  // POST /api/v1/renew: a new certificate for a new key of the authenticated device. The current
  // certificate stays valid until the new one is first used (see authenticate), so an agent that
  // crashes before storing the answer simply renews again (the new pending certificate replaces
  // the one it never stored).
  int renew(HTTPServerRequest& req, HTTPServerResponse& resp) {
    Poco::Net::X509Certificate peer = peerCertificate(req);
    protocol::CertificateInfo presented;
    DeviceRecord d = authenticate(peer, true, &presented);
    std::string body = requestBody(req);
    auto rr = protocol::RenewRequest::parse(body);
    if (!rr.ok()) throw HttpError{400, rr.status().message()};
    auto csr = protocol::VerifyCsr(rr->csr);
    if (!csr.ok()) throw HttpError{400, "csr: " + csr.status().message()};
    // Compared as keys, not as PEM text: the same EC key in compressed form is the same key.
    auto same_key = protocol::CertificateHasKey(peer.certificate(), csr->public_key_pem);
    if (!same_key.ok()) throw HttpError{401, "unreadable client certificate"};
    if (*same_key) {
      throw HttpError{400,
                      "the CSR carries the key of the current certificate; a renewal needs a new "
                      "key",
                      "same_key"};
    }
    TimePoint now = std::chrono::system_clock::now();
    refuseRenewalTooSoon(d, presented, now);
    auto [cert, info] = issueCertificate(d.device_id, csr->public_key_pem, now);
    // Its expiry is recorded in the same write (certificate_expiring): a crash cannot lose it.
    Status s = context_.store->setPendingCertificate(
        d.device_id, presented.serial_hex, info.serial_hex, info.spki_sha256, now, info.not_after);
    if (!s.ok()) {
      if (s.code() == StatusCode::kFailedPrecondition) {
        throw HttpError{403, "certificate is not the device's current certificate",
                        "certificate_superseded"};
      }
      context_.log->error("renewal: " + s.message());
      throw HttpError{503, "database unavailable"};
    }
    context_.log->info("device " + d.device_id + " renewed its certificate: " + info.serial_hex +
                       " valid until " + formatRfc3339(info.not_after) +
                       (now > presented.not_after ? " (its previous one had expired)" : ""));
    protocol::RenewResponse out{cert, context_.keys.ca_cert, formatRfc3339(info.not_after),
                                context_.keys.device_ca_cert};
    SendJson(resp, 200, out.toJson());
    return 200;
  }

  int enroll(HTTPServerRequest& req, HTTPServerResponse& resp) {
    // Before any work (CSR check, signing, a database write): a storm is shaped here.
    auto admitted =
        context_.enroll_limiter->admit(req.clientAddress().host().toString(), Clock::now());
    if (!admitted.allowed) {
      context_.metrics.enrollRateLimited(admitted.scope);
      (void)readBody(req);  // the connection stays in step for the client's retry
      throw HttpError{
          429,
          std::string("too many enrolments from ") +
              (std::string_view(admitted.scope) == "address" ? "this address" : "all devices") +
              "; retry in " + std::to_string(admitted.retry_after_seconds) + " s",
          "rate_limited", admitted.retry_after_seconds};
    }
    std::string body = requestBody(req);
    auto er = protocol::EnrollRequest::parse(body);
    if (!er.ok()) throw HttpError{400, er.status().message()};
    auto csr = protocol::VerifyCsr(er->csr);
    if (!csr.ok()) throw HttpError{400, "csr: " + csr.status().message()};
    auto device_id = protocol::RandomUuid();
    if (!device_id.ok()) throw HttpError{500, "no randomness"};
    TimePoint now = std::chrono::system_clock::now();
    auto [cert, info] = issueCertificate(*device_id, csr->public_key_pem, now);
    DeviceRecord d;
    d.device_id = *device_id;
    d.hostname = er->hostname;
    d.owner = er->owner;
    d.cert_serial = info.serial_hex;
    d.cert_key_sha256 = info.spki_sha256;
    d.cert_not_after = info.not_after;  // recorded in the enrolment's transaction
    d.enrolled_at = now;
    auto stored = context_.store->enrollDevice(HashSecret(er->enroll_secret), d, now,
                                               context_.options.enroll_spike);
    if (!stored.ok()) {
      // The code stays enroll_secret_refused (clients match on it); `reason` says which limit.
      const char* reason = nullptr;
      switch (stored.status().code()) {
        case StatusCode::kNotFound:
          reason = "secret_unknown";
          break;
        case StatusCode::kFailedPrecondition:
          reason = "secret_revoked";
          break;
        case StatusCode::kDeadlineExceeded:
          reason = "secret_expired";
          break;
        case StatusCode::kResourceExhausted:
          reason = "secret_used_up";
          break;
        default:
          break;
      }
      if (reason != nullptr) {
        context_.log->warning("enrolment refused for host \"" + json::escape(er->hostname) +
                              "\": " + reason);
        throw HttpError{403, stored.status().message(), "enroll_secret_refused", 0, false, reason};
      }
      context_.log->error("enrolment: " + stored.status().message());
      throw HttpError{503, "database unavailable"};
    }
    context_.log->info("enrolled device " + d.device_id + " host \"" + json::escape(d.hostname) +
                       "\" level " + stored->level);
    protocol::EnrollResponse out{
        d.device_id, cert, context_.keys.ca_cert,
        signingSwitched() ? context_.keys.next_signing_pub : context_.keys.signing_pub};
    json::Value answer = out.toJson();
    answer.set("pending_approval", stored->pending_approval);
    if (stored->pending_approval) {
      context_.log->info("device " + d.device_id +
                         " waits for approval (hearth-server device approve)");
    }
    SendJson(resp, 201, answer);
    return 201;
  }

  // At most one renewal a day per device (issue 13: an agent clock far ahead renewed on every
  // cycle): the presented certificate, if a renewal issued it (it is newer than the enrolment),
  // must be at least kMinRenewalInterval old, unless it expires within kRenewalGrace. Throws
  // 429 `renewed_recently` with Retry-After. (docs/certificates.md "Clocks")
  void refuseRenewalTooSoon(const DeviceRecord& d, const protocol::CertificateInfo& presented,
                            TimePoint now) const {
    constexpr auto kMinRenewalInterval = std::chrono::hours(24);
    constexpr auto kRenewalGrace = std::chrono::hours(24 * 7);
    const TimePoint issued = presented.not_before + kCertBackdate;
    if (now - issued >= kMinRenewalInterval || presented.not_after - now <= kRenewalGrace) return;
    auto device = context_.store->getDevice(d.device_id);
    if (!device.ok()) throw StoreError(device.status());
    // The enrolment's certificate is issued at enrolled_at exactly (see enroll).
    if (issued <= device->enrolled_at + std::chrono::seconds(1)) return;
    auto wait =
        std::chrono::duration_cast<std::chrono::seconds>(issued + kMinRenewalInterval - now);
    throw HttpError{429,
                    "this device renewed its certificate less than a day ago (" +
                        formatRfc3339(issued) + "); renew again after " +
                        formatRfc3339(issued + kMinRenewalInterval),
                    "renewed_recently", static_cast<int>(std::max<int64_t>(1, wait.count()))};
  }

  // A device certificate (PEM, and what it says) for `device_id` and the CSR's key, valid from 5
  // minutes before `now` for --device-cert-days, issued by the device CA. Throws HttpError 500
  // when it cannot be issued.
  std::pair<std::string, protocol::CertificateInfo> issueCertificate(
      const std::string& device_id, const std::string& public_key_pem, TimePoint now) const {
    protocol::CertificateRequest cr;
    cr.common_name = device_id;
    cr.client_auth = true;
    cr.not_before = now - kCertBackdate;
    cr.not_after = now + context_.options.device_cert_validity;
    auto cert = protocol::IssueCertificate(cr, public_key_pem, context_.keys.device_ca_key,
                                           context_.keys.device_ca_cert);
    if (!cert.ok()) throw HttpError{500, "could not issue a certificate"};
    auto info = protocol::ParseCertificate(*cert);
    if (!info.ok()) throw HttpError{500, "could not issue a certificate"};
    return {std::move(cert).value(), std::move(info).value()};
  }

  // During a policy-signing key rotation the next key takes over at signing_switch_at.
  bool signingSwitched() const {
    return context_.keys.next_signing_key &&
           std::chrono::system_clock::now() >= context_.keys.signing_switch_at;
  }

  int policy(const DeviceRecord& d, HTTPServerResponse& resp) {
    auto p = context_.store->latestPolicy(d.level);
    if (!p.ok()) throw StoreError(p.status());
    // Signed now, with the key in force (Ed25519 is deterministic: without a rotation this is the
    // signature stored by `policy set`).
    bool switched = signingSwitched();
    auto sig = protocol::SignEd25519(
        switched ? *context_.keys.next_signing_key : context_.keys.signing_key, p->body);
    if (!sig.ok()) throw HttpError{500, "could not sign the policy"};
    protocol::SignedPolicy sp;
    sp.level = p->level;
    sp.version = p->version;
    sp.policy_b64 = protocol::Base64Encode(p->body);
    sp.signature_b64 = *sig;
    if (!context_.announcement_b64.empty()) {
      sp.announcement_b64 = context_.announcement_b64;
      sp.announcement_signature_b64 =
          switched ? context_.announcement_sig_next : context_.announcement_sig_current;
    }
    SendJson(resp, 200, sp.toJson());
    return 200;
  }

  int report(const DeviceRecord& d, HTTPServerRequest& req, HTTPServerResponse& resp) {
    auto start = Clock::now();
    std::string body = requestBody(req);
    auto env = protocol::ReportEnvelope::parse(body);
    if (!env.ok()) {
      // Beyond the stored result's bounds (docs/server.md "Report limits"): refused for good,
      // like a 400, so the agent sets the report aside and sends the next.
      if (env.status().code() == StatusCode::kResourceExhausted) {
        throw HttpError{413, env.status().message(), "result_too_large"};
      }
      throw HttpError{400, env.status().message()};
    }
    if (env->device_id && *env->device_id != d.device_id) {
      throw HttpError{403, "the report names another device than its certificate",
                      "device_mismatch"};
    }
    NewReport r;
    r.device_id = d.device_id;
    r.report_id = env->report_id;
    r.sequence = env->sequence;
    r.sent_at = env->sent_at;
    r.agent_version = env->agent_version;
    r.machine_id = env->machine_id;
    r.result = std::move(env->result);
    r.received_at = std::chrono::system_clock::now();
    r.dropped = env->dropped.value_or(0);
    auto outcome = context_.ingestor->submit(std::move(r));
    if (!outcome.ok()) {
      if (outcome.status().code() != StatusCode::kResourceExhausted) {
        context_.log->error("storing a report: " + outcome.status().message());
      }
      bool full = outcome.status().code() == StatusCode::kResourceExhausted;
      // A full ingest queue is a backlog too: the same return slots as the overflow answer's.
      int retry_after =
          full && context_.device_retry_after != nullptr
              ? static_cast<int>(context_.device_retry_after->refuse(RetryAfterSizer::Clock::now()))
              : 0;
      throw HttpError{503, "cannot store the report now; retry later",
                      full ? "overloaded" : "unavailable", retry_after};
    }
    if (outcome->outcome == IngestOutcome::kSequenceReused) {
      // The agent recovers from this answer (docs/agent-delivery.md): it renumbers the report
      // to next_sequence or above, keeping its report_id, and sends it again.
      json::Value out = json::Value::object();
      out.set("error", "sequence_reused");
      out.set("code", "sequence_reused");
      out.set("message", "this device already sent another report with sequence " +
                             std::to_string(env->sequence) + "; send it again as " +
                             std::to_string(outcome->next_sequence) + " or above");
      out.set("next_sequence", outcome->next_sequence);
      SendJson(resp, 409, out);
      return 409;
    }
    bool stored = outcome->outcome == IngestOutcome::kStored;
    if (stored && env->dropped.value_or(0) > 0) {
      context_.metrics.reportsDropped(*env->dropped);
      context_.log->warning("device " + d.device_id + " dropped " + std::to_string(*env->dropped) +
                            " report(s) from its spool");
    }
    context_.metrics.ingest(std::chrono::duration<double>(Clock::now() - start).count(), stored);
    json::Value out = json::Value::object();
    out.set("report_id", env->report_id);
    out.set("status", stored ? "stored" : "duplicate");
    // The device's highest sequence before this report: an agent that had reports acknowledged
    // above it sends them again (a server restored from a backup lacks them).
    out.set("previous_sequence", outcome->previous_sequence);
    // The fleet's first-seen dates of the report's pending security updates that another report
    // named earlier, keyed by check id (the agent keeps the object as STATE_DIR/fleet.json and
    // ages those updates from them; older agents ignore it). Bounded: kMaxFleetUpdatesPerReport
    // entries of kMaxFleetFieldBytes fields, under the 64 KiB older agents read an answer to.
    if (!outcome->fleet_first_seen.empty()) {
      json::Value list = json::Value::array();
      for (const auto& f : outcome->fleet_first_seen) {
        json::Value e = json::Value::object();
        e.set("name", f.name);
        e.set("candidate", f.candidate);
        e.set("first_seen", formatRfc3339(f.first_seen));
        list.push(std::move(e));
      }
      json::Value patches = json::Value::object();
      patches.set("first_seen", std::move(list));
      json::Value fleet = json::Value::object();
      fleet.set("os_patches", std::move(patches));
      out.set("fleet", std::move(fleet));
    }
    // The server's view of the device after this report (issue 14): its status and each check's
    // deadline (fix_by) and exemption. Agents that do not know these fields ignore them.
    if (!outcome->device_status.empty()) {
      out.set("device_status", outcome->device_status);
      json::Value checks = json::Value::array();
      for (const auto& c : outcome->deadlines) {
        json::Value e = json::Value::object();
        e.set("id", c.id);
        e.set("fix_by", c.fix_by ? json::Value(formatRfc3339(*c.fix_by)) : json::Value());
        e.set("exempt_until",
              c.exempt_until ? json::Value(formatRfc3339(*c.exempt_until)) : json::Value());
        checks.push(std::move(e));
      }
      out.set("checks", std::move(checks));
    }
    int code = stored ? 202 : 200;
    SendJson(resp, code, out);
    return code;
  }
};

}  // namespace

Poco::Net::HTTPRequestHandlerFactory* NewDeviceHandlerFactory(ServerContext& context,
                                                              ConnectionWatchdog& watchdog) {
  return new HandlerFactory<DeviceHandler>(context, watchdog);
}

}  // namespace hearth::server
