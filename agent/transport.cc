// The names of what became of a report (see transport.h).
#include "hearth/agent/transport.h"

#include <string_view>

#include "hearth/json.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxErrorBytes = 200;

// `text` cut to kMaxErrorBytes (at a character boundary), what could act on a terminal or a log
// line replaced by a space.
std::string printable(std::string_view text) {
  std::string out;
  for (size_t pos = 0; pos < text.size();) {
    auto cp = text::decodeUtf8(text, pos);
    size_t len = cp ? cp->length : 1;
    if (out.size() + len > kMaxErrorBytes) break;
    if (!cp || text::isDisallowedInPersonText(cp->value)) {
      out.push_back(' ');
    } else {
      out.append(text.substr(pos, len));
    }
    pos += len;
  }
  return out;
}

}  // namespace

ServerError ParseServerError(const std::string& body) {
  ServerError e;
  auto v = json::parse(body);
  if (v.ok() && v->isObject()) {
    if (const json::Value* c = v->find("code"); c != nullptr && c->isString()) {
      e.code = printable(c->asString());
    }
    if (const json::Value* m = v->find("error"); m != nullptr && m->isString()) {
      e.message = printable(m->asString());
      return e;
    }
  }
  e.message = printable(body);
  return e;
}

const char* PostKindName(PostResult::Kind kind) {
  switch (kind) {
    case PostResult::Kind::kAccepted:
      return "accepted";
    case PostResult::Kind::kRetryLater:
      return "retry_later";
    case PostResult::Kind::kRefused:
      return "refused";
    case PostResult::Kind::kRetired:
      return "retired";
    case PostResult::Kind::kAuthFailed:
      return "auth_failed";
    case PostResult::Kind::kTlsFailure:
      return "tls_failure";
    case PostResult::Kind::kSequenceReused:
      return "sequence_reused";
    case PostResult::Kind::kNetwork:
      return "network";
  }
  return "unknown";
}

}  // namespace hearth::agent
