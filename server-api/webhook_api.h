// IT's webhook endpoints on the admin listener (admin_api.cc routes /api/v1/webhooks... here):
//   POST   /api/v1/webhooks                  {"url","secret","events":[...],"format"} -> 201
//   GET    /api/v1/webhooks                  {"webhooks":[...]} (never a URL or a secret)
//   GET    /api/v1/webhooks/ID               one
//   DELETE /api/v1/webhooks/ID               the webhook and its delivery log
//   POST   /api/v1/webhooks/ID/test          a signed test delivery, sent now; its outcome
//   GET    /api/v1/webhooks/ID/deliveries    the delivery log, newest first (?before=&limit=)
// Every write needs the admin scope (checked before routing) and is audited with the change.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <Poco/Net/HTTPServerResponse.h>

#include "server_context.h"

namespace hearth::server {

struct WebhookRequest {
  const std::string& method;
  const std::string& path;  // starts with /api/v1/webhooks
  const std::map<std::string, std::string>& query;
  std::function<std::string()> body;  // reads the request body (throws HttpError)
  const TokenRecord& token;
};

// Answers the request and returns the status sent, or throws HttpError.
int RouteWebhooks(ServerContext& context, const WebhookRequest& req,
                  Poco::Net::HTTPServerResponse& resp);

}  // namespace hearth::server
