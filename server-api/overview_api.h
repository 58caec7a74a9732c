// GET /api/v1/overview?days=N on IT's listener (admin_api.cc routes it here): what the IT
// console's overview shows, in one answer (read scope):
//   {"at", "total", "statuses": {status: devices}, "failures": [{"check", "devices"}],
//    "failing_longest": [device (the list's shape)], "trend": [{"day", "statuses"}],
//    "alerts": [feed event]}
// The counts are the device list's own: `statuses` the `status` filter's (pending, stale and the
// compliance statuses, every one present, 0 when none), `failures` the `check` filter's. The
// trend is the daily counts the server records (a day's last count; Store::recordDailyStatus)
// within the last `days` days (1 to 400, default 30); `alerts` the enrolment spikes and cloned
// machines (duplicate_machine_id) of those days, newest first, at most 20.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <Poco/Net/HTTPServerResponse.h>

#include "hearth/json.h"
#include "hearth/server/store.h"
#include "hearth/status.h"
#include "server_context.h"

namespace hearth::server {

// The overview's JSON at `now` (what RouteOverview sends; the console bench measures it).
StatusOr<json::Value> OverviewJson(Store& store, TimePoint now, std::chrono::seconds stale_after,
                                   int days);

int RouteOverview(ServerContext& context, const std::map<std::string, std::string>& query,
                  Poco::Net::HTTPServerResponse& resp);

}  // namespace hearth::server
