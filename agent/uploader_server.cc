// The network side's request loop (see uploader_server.h).
#include "hearth/agent/uploader_server.h"

#include "hearth/agent/child_process.h"
#include "hearth/agent/uploader_protocol.h"

namespace hearth::agent {

namespace {

using uploader::ErrorAnswer;
using uploader::Fields;

json::Value answerTransport(Transport& transport, const std::string& op, const json::Value& req) {
  if (op == "post") {
    const int64_t timeout_ms = Fields(req).intOr("timeout_ms", 0);
    return uploader::PostAnswer(
        timeout_ms > 0 ? transport.postReportPatiently(Fields(req).stringOr("body"),
                                                       std::chrono::milliseconds(timeout_ms))
                       : transport.postReport(Fields(req).stringOr("body")));
  }
  if (op == "policy") {
    auto p = transport.fetchPolicy(Fields(req).intOr("min_version", 0));
    if (!p.ok()) return ErrorAnswer(p.status());
    json::Value v = uploader::OkAnswer();
    v.set("policy", *p);
    return v;
  }
  if (op == "renew") {
    // The new key is made here (OpenSSL stays out of the root side) and handed over once.
    auto r = transport.renewCertificate(Fields(req).stringOr("device_id"));
    if (!r.ok()) return ErrorAnswer(r.status());
    json::Value v = uploader::OkAnswer();
    v.set("key", r->key_pem);
    v.set("certificate", r->cert_pem);
    v.set("ca_certificate", r->ca_pem);
    v.set("not_before", r->validity.not_before);
    v.set("not_after", r->validity.not_after);
    return v;
  }
  // cert_info
  auto r = transport.certificateValidity();
  if (!r.ok()) return ErrorAnswer(r.status());
  json::Value v = uploader::OkAnswer();
  v.set("not_before", r->not_before);
  v.set("not_after", r->not_after);
  return v;
}

}  // namespace

void ServeUploader(int fd, const TransportFactory& make_transport, const OtherOps& other) {
  std::unique_ptr<Transport> transport;
  while (true) {
    auto frame = ReadFrame(fd, uploader::kMaxFrame);
    if (!frame.ok()) return;
    auto req = uploader::ParseFrame(*frame);
    json::Value answer;
    const std::string op = req.ok() ? uploader::OpOf(*req) : "";
    if (!req.ok()) {
      answer = ErrorAnswer(InvalidArgumentError("bad request"));
    } else if (op == "configure") {
      auto t = make_transport(*req);
      if (t.ok()) {
        transport = std::move(t).value();
        answer = uploader::OkAnswer();
      } else {
        answer = ErrorAnswer(t.status());
      }
    } else if (op == "post" || op == "policy" || op == "renew" || op == "cert_info") {
      answer = transport ? answerTransport(*transport, op, *req)
                         : ErrorAnswer(FailedPreconditionError("the uploader is not configured"));
      if (auto date = transport ? transport->serverDate() : std::nullopt) {
        answer.set("server_date", *date);
      }
    } else if (auto done = other ? other(*req) : std::nullopt) {
      answer = std::move(*done);
    } else {
      answer = ErrorAnswer(InvalidArgumentError("unknown op \"" + op + "\""));
    }
    if (!WriteFrame(fd, json::write(answer)).ok()) return;
  }
}

}  // namespace hearth::agent
