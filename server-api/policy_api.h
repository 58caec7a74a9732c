// IT's policy endpoints on the admin listener (admin_api.cc routes /api/v1/policies... here):
//   GET  /api/v1/policies          each level's policy in force (its newest version)
//   POST /api/v1/policies          a new version of a level's policy: the body is the policy
//                                  document itself (docs/policy.md), validated as
//                                  `hearth-server policy set --file` does, signed and stored
//                                  -> 201 {"level","version"}; audited as policy.set
//   POST /api/v1/policies/preview  the same body, validated, and what it would do with the
//                                  devices' latest results, stored nothing:
//                                  {"level","version","current_version","devices",
//                                   "failing_now","would_fail","checks":[...]}
// Writes need the admin scope (checked before routing; the preview writes nothing but is the
// first half of a write, so it needs it too).
#pragma once

#include <Poco/Net/HTTPServerResponse.h>

#include "server_context.h"
#include "webhook_api.h"

namespace hearth::server {

using PolicyRequest = WebhookRequest;

int RoutePolicies(ServerContext& context, const PolicyRequest& req,
                  Poco::Net::HTTPServerResponse& resp);

}  // namespace hearth::server
