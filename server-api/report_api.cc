// The period report's endpoint.
#include "report_api.h"

#include <chrono>
#include <ostream>
#include <string>

#include <Poco/Net/HTTPServerRequestImpl.h>

#include "hearth/server/report.h"
#include "hearth/time.h"
#include "http_error.h"

namespace hearth::server {

namespace {

std::string param(const std::map<std::string, std::string>& q, const char* name) {
  auto it = q.find(name);
  return it == q.end() ? "" : it->second;
}

}  // namespace

int RouteComplianceReport(ServerContext& context, const std::map<std::string, std::string>& query,
                          const TokenRecord& token, Poco::Net::HTTPServerRequest& req,
                          Poco::Net::HTTPServerResponse& resp, const std::function<void()>& alive) {
  for (const auto& [k, unused] : query) {
    if (k != "from" && k != "to" && k != "format") {
      throw HttpError{400, "unknown parameter \"" + k.substr(0, 64) +
                               "\" (expected from, to, "
                               "format)"};
    }
  }
  std::string format_text = param(query, "format");
  auto format = ParseReportFormat(format_text.empty() ? "csv" : format_text);
  if (!format.ok()) throw HttpError{400, format.status().message()};
  auto period =
      ParseReportPeriod(param(query, "from"), param(query, "to"), std::chrono::system_clock::now());
  if (!period.ok()) throw HttpError{400, period.status().message()};
  bool csv = *format == ReportFormat::kCsv;

  // Recorded before a byte is sent: a report that cannot be recorded is not given.
  json::Value detail = json::Value::object();
  detail.set(
      "from",
      formatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(period->from))));
  detail.set(
      "to", formatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(period->to))));
  detail.set("format", csv ? "csv" : "json");
  detail.set("token_id", token.id);
  if (Status s = context.store->appendAudit(
          NewAuditEntry(token.name, "report.compliance", "compliance-report", detail));
      !s.ok()) {
    context.log->error("audit log: " + s.message());
    throw HttpError{503, "the report cannot be recorded in the audit log now; retry later"};
  }

  // The audit log's entries only for those who may read the audit log (GET /api/v1/audit needs
  // the admin scope): a read token's report leaves them out.
  ReportOptions options;
  options.admin_actions = token.scope == "admin";
  Status s = WriteComplianceReport(
      *context.store, *period, *format,
      [&]() -> std::ostream& {
        resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
        resp.setContentType(csv ? "text/csv; charset=utf-8" : "application/json");
        resp.set("Cache-Control", "no-store");
        resp.set("Content-Disposition", std::string("attachment; filename=\"hearth-compliance.") +
                                            (csv ? "csv" : "json") + "\"");
        resp.setChunkedTransferEncoding(true);
        return resp.send();
      },
      alive, options);
  if (s.ok()) return 200;
  context.log->error("compliance report: " + s.message());
  if (!resp.sent()) throw HttpError{503, "database unavailable"};
  // Cut short: the connection ends without the last chunk, so the client sees an incomplete
  // answer rather than a report that looks whole.
  resp.setKeepAlive(false);
  static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket().shutdown();
  return 503;
}

}  // namespace hearth::server
