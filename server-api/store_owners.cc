// The SQL store's bulk owner change (device owners-import): every device's new owner and its
// audit entry in one transaction.
#include <string>
#include <vector>

#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

Status SqlStore::setDeviceOwners(const std::vector<OwnerChange>& changes) {
  if (changes.empty()) return OkStatus();
  return db_.transaction("set device owners", [&]() -> Status {
    std::string id;
    Nullable<std::string> owner;
    auto update =
        db_.prepare("UPDATE devices SET owner = ? WHERE device_id = ? AND retired_at IS NULL");
    *update, use(owner), use(id);
    for (const auto& c : changes) {
      id = c.device_id;
      owner = nullable(c.owner);
      if (update->execute() == 0) return NotFoundError("no active device " + c.device_id);
      insertAudit(&c.audit, 0);
    }
    return OkStatus();
  });
}

}  // namespace hearth::server::sql
