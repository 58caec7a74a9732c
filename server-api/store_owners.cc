// The SQL store's bulk owner change (device owners-import): every device's new owner and its
// audit entry in one transaction.
#include <string>
#include <vector>

#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

Status SqlStore::setDeviceOwners(const std::vector<OwnerChange>& changes) {
  return setDeviceOwners(changes, true);
}

// An owner IT sets is IT's (owner_source 'it', kItOwnerSources): the owner's exemptions cover the
// device from now on, and the previous owner's no longer do. So each device is decided again at
// once (at its audit entry's time), with the device event that brings, not at its next report.
Status SqlStore::setDeviceOwners(const std::vector<OwnerChange>& changes, bool audited) {
  if (changes.empty()) return OkStatus();
  return db_.transaction("set device owners", [&]() -> Status {
    std::string id;
    Nullable<std::string> owner, source;
    auto update = db_.prepare(
        "UPDATE devices SET owner = ?, owner_source = ? WHERE device_id = ? AND retired_at IS "
        "NULL");
    *update, use(owner), use(source), use(id);
    for (const auto& c : changes) {
      id = c.device_id;
      owner = nullable(c.owner);
      source = c.owner ? Nullable<std::string>(std::string("it")) : Nullable<std::string>();
      if (update->execute() == 0) return NotFoundError("no active device " + c.device_id);
      if (audited) insertAudit(&c.audit, 0);
      redecideDevice(c.device_id, c.audit.at);
    }
    return OkStatus();
  });
}

}  // namespace hearth::server::sql
