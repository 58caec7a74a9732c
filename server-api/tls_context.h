// The TLS contexts of `serve`'s two listeners, from the state dir's certificates and keys.
#pragma once

#include <chrono>

#include <Poco/Net/Context.h>

#include "hearth/server/state.h"
#include "hearth/status.h"

namespace hearth::server {

// The devices' listener: the server certificate; TLS 1.2 or newer. It asks for a client
// certificate and verifies one that is sent against the device CA, and against the previous
// device CA during a rollover (keys.old_device_ca_cert); enrolment alone works without one
// (checked per request). With `reenroll_expired` > 0 an expired device certificate passes the
// handshake, and only that (the handlers refuse it everywhere but renewal). An error when the
// certificates, the key or the previous device CA cannot be loaded; its message says which.
StatusOr<Poco::Net::Context::Ptr> NewDeviceTlsContext(const ServerPaths& paths,
                                                      const ServerKeys& keys,
                                                      std::chrono::seconds reenroll_expired);

// IT's listener: the server certificate; TLS 1.2 or newer; no client certificate.
StatusOr<Poco::Net::Context::Ptr> NewAdminTlsContext(const ServerPaths& paths);

}  // namespace hearth::server
