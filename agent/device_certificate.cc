// The device certificate's lifetime on the PC (see device_certificate.h).
#include "hearth/agent/device_certificate.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unistd.h>

#include "hearth/agent/state_dir.h"
#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace

StatusOr<CertValidity> LoadCertValidity(const std::string& state_dir) {
  AgentPaths p = AgentPathsFor(state_dir);
  HEARTH_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(p.cert_info, 4096));
  auto v = json::parse(text);
  if (!v.ok()) return DataLossError(p.cert_info + ": " + v.status().message());
  HEARTH_ASSIGN_OR_RETURN(
      json::ObjectReader r,
      json::ObjectReader::Open(*v, {.source = p.cert_info, .code = StatusCode::kDataLoss}));
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  CertValidity c;
  HEARTH_RETURN_IF_ERROR(
      r.readInt("not_before", kMin, kMax, c.not_before, json::Presence::kRequired));
  HEARTH_RETURN_IF_ERROR(
      r.readInt("not_after", kMin, kMax, c.not_after, json::Presence::kRequired));
  if (c.not_after <= c.not_before) {
    return r.invalid("not_after", "a time after not_before", r.find("not_after"));
  }
  return c;
}

namespace {
std::string certValidityJson(const CertValidity& c) {
  json::Value o = json::Value::object();
  o.set("not_before", c.not_before);
  o.set("not_after", c.not_after);
  o.set("not_after_text", formatRfc3339(ExpiryTime(c)));
  o.set("renew_from", formatRfc3339(RenewalTime(c)));
  // When this certificate was stored, by this PC's clock (the daily renewal limit).
  o.set("stored_at", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()));
  return json::write(o, {.pretty = true}) + "\n";
}

Status renameIfPresent(const std::string& from, const std::string& to) {
  // The file layer's rename replaces `to` on every OS (MoveFileExW on Windows).
  if (Status s = PosixFileLayer().rename(from, to); !s.ok() && s.code() != StatusCode::kNotFound) {
    return InternalError(s.message());
  }
  return OkStatus();
}
}  // namespace

Status StoreCertValidity(const std::string& state_dir, const CertValidity& validity) {
  return WriteFileDurably(AgentPathsFor(state_dir).cert_info, certValidityJson(validity), 0644);
}

std::optional<std::chrono::system_clock::time_point> CertificateStoredAt(
    const std::string& state_dir) {
  auto text = ReadFileBounded(AgentPathsFor(state_dir).cert_info, 4096);
  auto v = text.ok() ? json::parse(*text) : StatusOr<json::Value>(text.status());
  const json::Value* at = v.ok() ? v->find("stored_at") : nullptr;
  if (at == nullptr || !at->isInt()) return std::nullopt;  // stored before this field existed
  return timePointFromSeconds(at->asInt());
}

std::chrono::system_clock::time_point ExpiryTime(const CertValidity& c) {
  return timePointFromSeconds(c.not_after);
}

std::chrono::system_clock::time_point RenewalTime(const CertValidity& c) {
  // Halfway, without overflowing whatever the two numbers are.
  return timePointFromSeconds(c.not_before / 2 + c.not_after / 2 +
                              (c.not_before % 2 + c.not_after % 2) / 2);
}

Status InstallRenewedCertificate(const std::string& state_dir, const RenewedCertificate& r) {
  AgentPaths p = AgentPathsFor(state_dir);
  // Stale pieces of an earlier attempt go first, so device.pem.next is only ever ours.
  HEARTH_RETURN_IF_ERROR(RecoverCertificateRenewal(state_dir).status());
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_key + ".next", r.key_pem, 0600));
  HEARTH_RETURN_IF_ERROR(
      WriteFileDurably(p.cert_info + ".next", certValidityJson(r.validity), 0644));
  // The commit point: from here on the new set wins.
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_cert + ".next", r.cert_pem, 0644));
  return RecoverCertificateRenewal(state_dir).status();
}

StatusOr<bool> RecoverCertificateRenewal(const std::string& state_dir) {
  AgentPaths p = AgentPathsFor(state_dir);
  const std::string key_next = p.device_key + ".next";
  const std::string info_next = p.cert_info + ".next";
  const std::string cert_next = p.device_cert + ".next";
  if (!exists(cert_next)) {
    // Incomplete: the old key and certificate are whole and still valid on the server.
    for (const std::string& f : {key_next, info_next}) {
      if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
        return InternalError("cannot remove " + f + ": " + std::strerror(errno));
      }
    }
    return false;
  }
  // Complete: roll forward. The key may already be in place (a crash between the renames).
  HEARTH_RETURN_IF_ERROR(renameIfPresent(key_next, p.device_key));
  HEARTH_RETURN_IF_ERROR(renameIfPresent(info_next, p.cert_info));
  HEARTH_RETURN_IF_ERROR(renameIfPresent(cert_next, p.device_cert));
  HEARTH_RETURN_IF_ERROR(PosixFileLayer().syncDir(p.dir));
  return true;
}

}  // namespace hearth::agent
