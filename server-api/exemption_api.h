// IT's exemption endpoints on the admin listener (admin_api.cc routes /api/v1/exemptions... here):
//   POST   /api/v1/exemptions       {"device_id" | "owner", "check", "until", "reason"} -> 201
//   GET    /api/v1/exemptions       {"exemptions":[...]}, newest first (?active=true: in force)
//   GET    /api/v1/exemptions/ID    one
//   DELETE /api/v1/exemptions/ID    revokes it
// Every write needs the admin scope (checked before routing) and is audited with the change.
#pragma once

#include <Poco/Net/HTTPServerResponse.h>

#include "server_context.h"
#include "webhook_api.h"

namespace hearth::server {

// The request as the webhook endpoints take it (its path starts with /api/v1/exemptions).
using ExemptionRequest = WebhookRequest;

// When an exemption may end: an RFC 3339 time, or a date YYYY-MM-DD meaning through that day
// (until 00:00 UTC of the next). InvalidArgument for anything else.
StatusOr<TimePoint> ParseExemptionUntil(const std::string& text);

// A new exemption from what IT gave: exactly one of `device_id` and `owner` (the other empty), a
// known check, `until` (ParseExemptionUntil; after `now`, within a year) and a non-empty
// reason. InvalidArgument names the field that is wrong.
StatusOr<ExemptionRecord> NewExemptionSpec(const std::string& device_id, const std::string& owner,
                                           const std::string& check, const std::string& until,
                                           const std::string& reason, const std::string& created_by,
                                           TimePoint now);

// What the audit log records of a new exemption: {"device_id","owner","check","until","reason"}.
json::Value ExemptionAuditDetail(const ExemptionRecord& spec);

// Answers the request and returns the status sent, or throws HttpError.
int RouteExemptions(ServerContext& context, const ExemptionRequest& req,
                    Poco::Net::HTTPServerResponse& resp);

}  // namespace hearth::server
