// The curl program (/usr/bin/curl) as the client of integration tests: a client that is none of
// our code, as an IT person's script or another tool would be, so what these tests prove of the
// server's HTTPS, its client-certificate checks and its API holds for any standard client. (A
// test that needs many requests in-process uses HttpsClient, https_client.h.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hearth/json.h"

namespace hearth::testing {

inline const std::string kCurlProgram = "/usr/bin/curl";

struct CurlOptions {
  std::string ca_file;               // --cacert: the server's CA (state_dir/ca.pem)
  std::vector<std::string> extra{};  // more arguments, before the URL (-H, -X, --data-binary)
  int max_time_seconds = 20;         // --max-time
  // A command curl runs under, e.g. {ip, "netns", "exec", name}.
  std::vector<std::string> prefix{};
  // A client certificate and its key, as PEM text (--cert, --key); none when empty.
  std::string cert_pem{};
  std::string key_pem{};
  // POSTed with Content-Type: application/json.
  std::optional<std::string> json_body{};
};

struct CurlAnswer {
  int exit_code = -1;  // curl's
  int status = 0;      // the HTTP status; 0 when there was no answer (e.g. the handshake failed)
  double seconds = 0;  // %{time_total}
  std::string body;
  std::string headers;  // as received (-D)
  std::string err;      // curl's stderr
};

// curl -sS --max-time T --cacert CA `extra` URL.
CurlAnswer Curl(const std::string& url, const CurlOptions& options);

// A request presenting a client certificate and key (PEM; none when empty) that POSTs
// `json_body` when it is not null, else GETs.
CurlAnswer CurlAs(const std::string& url, const std::string& ca_file, const std::string& cert_pem,
                  const std::string& key_pem, const std::string* json_body = nullptr);

// The JSON answer of the admin API at https://`admin_address``path`, with `token` as bearer and
// `extra` (e.g. {"-X", "POST"}); a null Value, and a test failure, when the answer is not JSON.
json::Value CurlAdminJson(const std::string& admin_address, const std::string& ca_file,
                          const std::string& token, const std::string& path,
                          const std::vector<std::string>& extra = {},
                          const std::vector<std::string>& prefix = {});

}  // namespace hearth::testing
