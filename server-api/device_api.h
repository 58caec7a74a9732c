// The devices' listener API: POST /api/v1/enroll (the only path without a client certificate),
// GET /api/v1/policy, POST /api/v1/reports and POST /api/v1/renew. Devices authenticate with the
// client certificate the TLS layer verified against the device CA.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "connection_guard.h"
#include "server_context.h"

namespace hearth::server {

// The request handlers of the devices' listener; `context` and `watchdog` must outlive them.
Poco::Net::HTTPRequestHandlerFactory* NewDeviceHandlerFactory(ServerContext& context,
                                                              ConnectionWatchdog& watchdog);

}  // namespace hearth::server
