// IT's listener API: /healthz and /metrics without a token; with a bearer token (hashed at
// rest; scope read or admin) the devices, a device, its history, the feed, the CSV export, the
// audit log, and retire, approve, reject and owner. See server-api/openapi.json.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "connection_guard.h"
#include "server_context.h"

namespace hearth::server {

// The request handlers of IT's listener; `context` and `watchdog` must outlive them.
Poco::Net::HTTPRequestHandlerFactory* NewAdminHandlerFactory(ServerContext& context,
                                                             ConnectionWatchdog& watchdog);

}  // namespace hearth::server
