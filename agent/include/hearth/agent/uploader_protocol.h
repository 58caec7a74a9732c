// What the agent's root side and its network side (hearth-upload) say to each other: one JSON
// object per frame (child_process.h), a request {"op": ...} and its answer. Both sides are built
// from this tree; fields are read leniently (an absent field or one of another type reads as
// its fallback), and the root side takes from an answer only what it checks: a kind name, a
// bounded string, a non-negative integer.
//
//   op             request                               answer
//   configure      the server, HttpOptions (PEMs in      ok; the requests below then use them
//                  memory), the policy-signing keys
//   post           body: the report envelope, timeout_ms kind, http_status, retry_after, error,
//                  (absent: the configured one)          previous_sequence, next_sequence,
//                                                        timed_out
//   policy         min_version                           ok, policy (verified envelope) | error
//   renew          device_id                             ok, key, certificate, ca_certificate,
//                                                        not_before, not_after | error
//   cert_info      -                                     ok, not_before, not_after | error
//   request        HttpOptions, url, body (absent: GET)  ok, status, retry_after, body | error
//   new_key        common_name, key (absent: make one)   ok, key, public_key, csr | error
//   certificate    pem                                   ok, common_name, public_key, not_before,
//                                                        not_after | error
//   public_key     pem                                   ok | error (the PEM is a usable key)
//   verify_policy  envelope, keys, min_version           ok, key_index, announcement_verified |
//                                                        error
// An error answer is {"ok": false, "code": StatusCode, "error": text}. The answers to post,
// policy, renew and cert_info also carry "server_date" (the Date of the server's latest answer,
// seconds since the epoch) once the server sent one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hearth/agent/http_client.h"
#include "hearth/agent/transport.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/status.h"

namespace hearth::agent::uploader {

// A report is at most 1 MiB; JSON escaping can make its frame grow.
constexpr size_t kMaxFrame = 4 << 20;
// The longest error text taken from the network side.
constexpr size_t kMaxErrorText = 1024;

// The program and the names it runs under (argv[0], ps).
#if defined(_WIN32)
constexpr char kProgram[] = "hearth-upload.exe";
#else
constexpr char kProgram[] = "hearth-upload";
#endif
constexpr char kVerifierName[] = "hearth-verify";

json::Value Request(std::string_view op);
std::string OpOf(const json::Value& request);

// Lenient field reads.
json::ObjectReader Fields(const json::Value& v);

// {"ok": true} / {"ok": false, "code", "error"}.
json::Value OkAnswer();
json::Value ErrorAnswer(const Status& status);
bool AnswerOk(const json::Value& answer);
// The error of an answer (codes outside the known range become Unavailable).
Status AnswerStatus(const json::Value& answer);

// Parses one frame as an object (bounded depth).
StatusOr<json::Value> ParseFrame(const std::string& frame);

void PutHttpOptions(const HttpOptions& options, json::Value& out);
HttpOptions GetHttpOptions(const json::Value& in);

json::Value PostAnswer(const PostResult& result);
PostResult PostFromAnswer(const json::Value& answer);

}  // namespace hearth::agent::uploader
