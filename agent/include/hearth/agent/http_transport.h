// The network side's Transport (hearth-upload): HTTPS requests through HttpClient (libcurl), the
// server's answers classified into what the delivery loop does next, the policy's signature
// verified, and the new key and CSR of a certificate renewal made here.
#pragma once

#include <memory>
#include <string>

#include "hearth/agent/http_client.h"
#include "hearth/agent/transport.h"
#include "hearth/status.h"

namespace hearth::agent {

// The in-process transport: `client` carries the device certificate and the pinned server trust;
// `client_cert_pem` is that certificate again (for certificateValidity; may be empty).
std::unique_ptr<Transport> NewHttpTransport(std::unique_ptr<HttpClient> client, std::string server,
                                            std::string signing_public_key_pem,
                                            std::string client_cert_pem = "");

// Maps an HTTP answer (or a client error) to a PostResult. Exposed for tests.
PostResult ClassifyPost(const StatusOr<HttpResponse>& response);

}  // namespace hearth::agent
