// The SQL store's certificate expiry: when each issued certificate expires (recorded at enrolment
// and renewal), and the maintenance pass that raises one `certificate_expiring` feed event per
// certificate that nears its end without a renewal (the outbox trigger queues its webhooks).
#include <chrono>
#include <string>
#include <vector>

#include "hearth/json.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

Status SqlStore::setCertificateExpiry(const std::string& device_id, const std::string& serial,
                                      TimePoint not_after) {
  return db_.write("record a certificate's expiry", [&]() -> Status {
    std::string id = device_id, s = serial, until = fmt(not_after);
    size_t n = db_.exec(
        "UPDATE devices SET cert_not_after = CASE WHEN cert_serial = ? THEN ? ELSE "
        "cert_not_after END, pending_cert_not_after = CASE WHEN pending_cert_serial = ? THEN ? "
        "ELSE pending_cert_not_after END WHERE device_id = ? AND (cert_serial = ? OR "
        "pending_cert_serial = ?)",
        [&](Statement& st) {
          st, use(s), use(until), use(s), use(until), use(id), use(s), use(s);
        });
    if (n == 0) {
      return FailedPreconditionError("certificate " + serial + " is not device " + device_id +
                                     "'s current or pending certificate");
    }
    return OkStatus();
  });
}

StatusOr<int> SqlStore::markExpiringCertificates(TimePoint now, std::chrono::seconds within) {
  struct Expiring {
    std::string device_id, serial, not_after;
  };
  std::string horizon = fmt(now + within);
  // Read first (a reader session): nothing expiring, the usual case, takes no writer lock.
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<Expiring> found,
      db_.readRows(
          "find expiring certificates",
          "SELECT device_id, cert_serial, cert_not_after FROM devices WHERE retired_at IS NULL "
          "AND cert_not_after IS NOT NULL AND cert_not_after < ? AND pending_cert_serial IS NULL "
          "AND (cert_expiry_event_serial IS NULL OR cert_expiry_event_serial <> cert_serial) "
          "ORDER BY cert_not_after, device_id",
          [](RecordSet& rs) {
            return Expiring{str(rs, "device_id"), str(rs, "cert_serial"),
                            str(rs, "cert_not_after")};
          },
          horizon));
  if (found.empty()) return 0;
  int raised = 0;
  Status s = db_.transaction("raise certificate_expiring events", [&]() -> Status {
    std::string at = fmt(now);
    for (const auto& e : found) {
      std::string id = e.device_id, serial = e.serial;
      // One row update decides: another server (or a renewal meanwhile) wins cleanly.
      size_t n = db_.exec(
          "UPDATE devices SET cert_expiry_event_serial = cert_serial WHERE device_id = ? AND "
          "cert_serial = ? AND retired_at IS NULL AND pending_cert_serial IS NULL AND "
          "(cert_expiry_event_serial IS NULL OR cert_expiry_event_serial <> cert_serial)",
          [&](Statement& st) { st, use(id), use(serial); });
      if (n != 1) continue;
      auto not_after = parseTime(e.not_after);
      auto left = std::chrono::duration_cast<std::chrono::hours>(not_after - now).count() / 24;
      json::Value detail = json::Value::object();
      detail.set("serial", e.serial);
      detail.set("not_after", formatRfc3339(not_after));
      detail.set("days_left", static_cast<int64_t>(left));
      appendEvent(at, e.device_id, "certificate_expiring", json::write(detail));
      ++raised;
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return raised;
}

}  // namespace hearth::server::sql
