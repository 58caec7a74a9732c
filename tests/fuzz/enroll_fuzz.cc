// Fuzzes the enrolment and renewal requests as the server takes them (POST /api/v1/enroll and
// /api/v1/renew: EnrollRequest::parse and RenewRequest::parse in server-api/protocol/wire.cc,
// then VerifyCsr on the CSR they carry, as device_api.cc does): a refusal is InvalidArgument naming
// the field or the JSON problem; an accepted request keeps its documented bounds (secret 1..256
// bytes, hostname 1..253 printable bytes, owner at most 256 bytes, CSR 1 byte..16 KiB) and the
// agent's encoding of it (toJson) parses back to the same request; the CSR check answers too.
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"

using hearth::protocol::EnrollRequest;
using hearth::protocol::RenewRequest;

namespace {

void checkRefusal(const hearth::Status& s) {
  FUZZ_ASSERT(s.code() == hearth::StatusCode::kInvalidArgument);
  const std::string& m = s.message();
  FUZZ_ASSERT(m.find('"') != std::string::npos || hearth::fuzz::StartsWith(m, "invalid JSON: ") ||
              hearth::fuzz::StartsWith(m, "expected a JSON object"));
}

void checkCsr(const std::string& csr) {
  FUZZ_ASSERT(!csr.empty() && csr.size() <= 16 * 1024);
  auto info = hearth::protocol::VerifyCsr(csr);
  if (info.ok()) {
    FUZZ_ASSERT(hearth::protocol::Key::fromPem(info->public_key_pem, true).ok());
  } else {
    FUZZ_ASSERT(!info.status().message().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = hearth::fuzz::AsText(data, size);

  auto enroll = EnrollRequest::parse(body);
  if (!enroll.ok()) {
    checkRefusal(enroll.status());
  } else {
    FUZZ_ASSERT(!enroll->enroll_secret.empty() && enroll->enroll_secret.size() <= 256);
    FUZZ_ASSERT(!enroll->hostname.empty() && enroll->hostname.size() <= 253);
    for (char c : enroll->hostname) {
      auto u = static_cast<unsigned char>(c);
      FUZZ_ASSERT(u >= 0x20 && u != 0x7F);
    }
    // At most 256 characters (not bytes) of text a person may give (base/text.h).
    if (enroll->owner) FUZZ_ASSERT(hearth::text::validatePersonText(*enroll->owner, 256).ok());
    auto back = EnrollRequest::parse(hearth::json::write(enroll->toJson()));
    FUZZ_ASSERT(back.ok());
    FUZZ_ASSERT(back->enroll_secret == enroll->enroll_secret && back->csr == enroll->csr &&
                back->hostname == enroll->hostname && back->owner == enroll->owner);
    checkCsr(enroll->csr);
  }

  auto renew = RenewRequest::parse(body);
  if (!renew.ok()) {
    checkRefusal(renew.status());
  } else {
    auto back = RenewRequest::parse(hearth::json::write(renew->toJson()));
    FUZZ_ASSERT(back.ok() && back->csr == renew->csr);
    checkCsr(renew->csr);
  }
  return 0;
}
