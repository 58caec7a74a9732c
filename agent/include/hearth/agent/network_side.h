// hearth-upload, the agent's network side: the program that does everything touching the network,
// parsing what the server sends, or needing OpenSSL (keys, CSRs, certificates, signatures), so
// that the root side (hearth-agent) links neither libcurl nor OpenSSL. The root side starts it
// (uploader.h) already unprivileged, hands it its material in memory and asks it over the channel
// on descriptor 3 (uploader_protocol.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "hearth/json.h"
#include "hearth/protocol/wire.h"
#include "hearth/status.h"

namespace hearth::agent {

// main() of hearth-upload.
int UploaderMain(int argc, char** argv);

// Answers the requests that are not transport ops (request, new_key, certificate, public_key,
// verify_policy); nullopt for any other op.
std::optional<json::Value> AnswerNetworkOp(const json::Value& request);

// Verifies a signed policy envelope against the pinned key; refuses versions older than
// `min_version`. `public_key_pem` may hold several PEM public keys (the pinned one first, then one
// announced as next): the first that verifies the signature counts. Returns which key verified
// it and the envelope's announcement when that same key signed it (an announcement that does not
// verify is dropped, never an error). The document's settings are not judged here: the root side
// parses every policy it takes strictly (PolicyFromVerifiedEnvelope).
struct PolicySignature {
  size_t key_index = 0;  // 0: the pinned key, 1: the announced one
  std::optional<protocol::PolicyAnnouncement> announcement;
};
StatusOr<PolicySignature> VerifySignedPolicy(const std::string& envelope,
                                             const std::string& public_key_pem,
                                             int64_t min_version);

}  // namespace hearth::agent
