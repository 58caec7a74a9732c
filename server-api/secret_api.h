// IT's enrolment-secret endpoints on the admin listener (admin_api.cc routes /api/v1/secrets...
// here), what `hearth-server secret create|list|revoke` does, for the IT console:
//   POST   /api/v1/secrets      {"level", "uses", "expires_days", "owner", "approval"} (all
//                               optional; level "standard" by default) -> 201 with the secret,
//                               shown this once (only its hash is kept)
//   GET    /api/v1/secrets      {"secrets": [...]}: every secret without its value, with its kind
//                               and state
//   DELETE /api/v1/secrets/ID   revokes it (devices it enrolled stay enrolled)
// Writes need the admin scope (checked before routing) and are audited with the change.
#pragma once

#include <Poco/Net/HTTPServerResponse.h>

#include "server_context.h"
#include "webhook_api.h"

namespace hearth::server {

// The request as the webhook endpoints take it (its path starts with /api/v1/secrets).
using SecretRequest = WebhookRequest;

// Answers the request and returns the status sent, or throws HttpError.
int RouteSecrets(ServerContext& context, const SecretRequest& req,
                 Poco::Net::HTTPServerResponse& resp);

}  // namespace hearth::server
