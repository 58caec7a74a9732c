// GET /api/v1/compliance-report?from=&to=&format=csv|json on IT's listener (admin_api.cc routes
// it here): the period report for auditors (hearth/server/report.h), streamed (chunked) a page of
// devices at a time. A read token may read it, without the admin actions from the audit log
// (those need the admin scope, like GET /api/v1/audit); like the CSV export, it is recorded in
// the audit log before a byte is sent.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "server_context.h"

namespace hearth::server {

// Answers the request and returns the status sent, or throws HttpError. `alive` is called while
// the report is written (it moves the connection's deadline: a large fleet's report takes longer
// than one request may wait).
int RouteComplianceReport(ServerContext& context, const std::map<std::string, std::string>& query,
                          const TokenRecord& token, Poco::Net::HTTPServerRequest& req,
                          Poco::Net::HTTPServerResponse& resp, const std::function<void()>& alive);

}  // namespace hearth::server
