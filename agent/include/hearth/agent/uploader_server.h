// The network side's end of the conversation with the root side (uploader_protocol.h): reads
// requests from the channel until the root side closes it, and answers each. The transport ops
// (post, policy, renew, cert_info) go to the Transport made from the "configure" request; the
// other ops to `other`, which hearth-upload provides (they need OpenSSL or libcurl, which the
// root side does not link). Runs in the child: hearth-upload's main(), or a forked test uploader.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "hearth/agent/transport.h"
#include "hearth/json.h"
#include "hearth/status.h"

namespace hearth::agent {

// Makes the transport from the "configure" request (its server, HttpOptions and signing keys).
using TransportFactory =
    std::function<StatusOr<std::unique_ptr<Transport>>(const json::Value& configure)>;
// Answers a request that is not a transport op; nullopt: unknown op.
using OtherOps = std::function<std::optional<json::Value>(const json::Value& request)>;

// Returns when the root side closes the channel, or it breaks.
void ServeUploader(int fd, const TransportFactory& make_transport, const OtherOps& other = nullptr);

}  // namespace hearth::agent
