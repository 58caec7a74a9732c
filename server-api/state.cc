#include "hearth/server/state.h"

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/files.h"
#include "hearth/ip_address.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/policy.h"
#include "hearth/time.h"

namespace hearth::server {

namespace {

using protocol::CertificateRequest;
using protocol::Key;

constexpr auto kDay = std::chrono::hours(24);

constexpr size_t kMaxStateFile = 64 * 1024;  // keys, certificates, small JSON

bool isIpAddress(const std::string& s) { return IpAddress::parse(s).ok(); }

Status writeSecret(const std::string& path, const std::string& content) {
  return WriteFileDurably(path, content, 0600);
}

}  // namespace

ServerPaths PathsFor(const std::string& state_dir) {
  ServerPaths p;
  p.dir = state_dir;
  auto f = [&](const char* name) { return state_dir + "/" + name; };
  p.device_ca_cert = f("device-ca.pem");
  p.device_ca_key = f("device-ca.key");
  p.device_ca_old_cert = f("device-ca.old.pem");
  p.device_ca_next_cert = f("device-ca.next.pem");
  p.device_ca_next_key = f("device-ca.next.key");
  p.ca_cert = f("ca.pem");
  p.tls_ca_key = f("tls-ca.key");
  p.server_cert = f("server.pem");
  p.server_key = f("server.key");
  p.server_next_key = f("server.next.key");
  p.server_cert_next = f("server.pem.next");
  p.signing_key = f("policy-signing.key");
  p.signing_pub = f("policy-signing.pub");
  p.signing_next_key = f("policy-signing.next.key");
  p.signing_next_pub = f("policy-signing.next.pub");
  p.signing_rotation = f("signing-rotation.json");
  p.admin_token = f("admin-token");
  p.enroll_secret = f("enroll-secret");
  p.sqlite_db = f("hearth.db");
  return p;
}

std::string DatabaseUri(const std::string& state_dir, const std::string& database) {
  return database.empty() ? PathsFor(state_dir).sqlite_db : database;
}

StatusOr<std::string> NewSecret(const std::string& prefix) {
  HEARTH_ASSIGN_OR_RETURN(std::string hex, protocol::RandomHex(24));
  return prefix + hex;
}

std::string HashSecret(const std::string& secret) { return protocol::Sha256Hex(secret); }

StatusOr<PolicyRecord> SetPolicy(Store& store, const Key& signing_key, const std::string& text,
                                 const std::string& source, TimePoint now,
                                 const AuditEntry* audit) {
  HEARTH_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(text, source));
  HEARTH_ASSIGN_OR_RETURN(std::string sig, protocol::SignEd25519(signing_key, text));
  PolicyRecord rec{policy.level, policy.version, text, sig, now};
  std::optional<AuditEntry> entry;
  if (audit != nullptr) {  // the level and version are known only now
    entry = *audit;
    entry->target = "level:" + policy.level;
    json::Value detail = json::Value::object();
    detail.set("version", policy.version);
    detail.set("source", source);
    entry->detail = json::write(detail);
  }
  HEARTH_RETURN_IF_ERROR(store.putPolicy(rec, entry ? &*entry : nullptr));
  return rec;
}

StatusOr<InitResult> InitServerState(const InitOptions& o) {
  ServerPaths p = PathsFor(o.state_dir);
  struct stat st {};
  if (::stat(o.state_dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return InvalidArgumentError(o.state_dir + " is not a directory");
    // Another user who owns the directory could read the keys written into it or swap them.
    if (st.st_uid != ::geteuid()) {
      return FailedPreconditionError(o.state_dir + " belongs to another user (uid " +
                                     std::to_string(st.st_uid) +
                                     "); refusing to keep the server's keys there");
    }
    if (::access(p.device_ca_key.c_str(), F_OK) == 0 || ::access(p.sqlite_db.c_str(), F_OK) == 0) {
      return FailedPreconditionError(o.state_dir +
                                     " already holds a Hearth server (device-ca.key or "
                                     "hearth.db exists); refusing to overwrite it");
    }
    if (::chmod(o.state_dir.c_str(), 0700) != 0) {
      return ErrnoToStatus(errno, "chmod 0700 " + o.state_dir);
    }
  } else {
    // Parents as usual (0755), the state directory itself private.
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(o.state_dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (::mkdir(o.state_dir.c_str(), 0700) != 0) {
      return ErrnoToStatus(errno, "create state directory " + o.state_dir);
    }
  }
  for (const auto& san : o.sans) {
    if (san.empty() || san.size() > 253 || san.find_first_of(" ,/\t\n") != std::string::npos) {
      return InvalidArgumentError("--san \"" + san + "\": expected a DNS name or an IP address");
    }
  }
  // Validate the policy before creating anything that would make a retry refuse.
  HEARTH_ASSIGN_OR_RETURN(Policy first_policy, ParsePolicy(o.policy_text, o.policy_source));

  auto ca = [&](const std::string& name, const Key& key) {
    CertificateRequest r;
    r.common_name = name;
    r.is_ca = true;
    r.not_before = o.now - std::chrono::hours(1);
    r.not_after = o.now + 10 * 365 * kDay;
    return protocol::IssueCertificate(r, *key.publicPem(), key, "");
  };

  HEARTH_ASSIGN_OR_RETURN(Key device_ca_key, Key::generateP256());
  HEARTH_ASSIGN_OR_RETURN(std::string device_ca, ca("Hearth device CA", device_ca_key));
  HEARTH_ASSIGN_OR_RETURN(Key tls_ca_key, Key::generateP256());
  HEARTH_ASSIGN_OR_RETURN(std::string tls_ca, ca("Hearth server CA", tls_ca_key));
  HEARTH_ASSIGN_OR_RETURN(Key server_key, Key::generateP256());
  CertificateRequest sr;
  sr.common_name = o.sans.empty() ? "localhost" : o.sans.front();
  sr.dns_names = {"localhost"};
  sr.ip_addresses = {"127.0.0.1", "::1"};
  for (const auto& san : o.sans) {
    (isIpAddress(san) ? sr.ip_addresses : sr.dns_names).push_back(san);
  }
  sr.server_auth = true;
  sr.not_before = o.now - std::chrono::hours(1);
  sr.not_after = o.now + 825 * kDay;
  HEARTH_ASSIGN_OR_RETURN(
      std::string server_cert,
      protocol::IssueCertificate(sr, *server_key.publicPem(), tls_ca_key, tls_ca));
  HEARTH_ASSIGN_OR_RETURN(Key signing, Key::generateEd25519());

  HEARTH_RETURN_IF_ERROR(writeSecret(p.device_ca_key, *device_ca_key.privatePem()));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_ca_cert, device_ca, 0644));
  HEARTH_RETURN_IF_ERROR(writeSecret(p.tls_ca_key, *tls_ca_key.privatePem()));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.ca_cert, tls_ca, 0644));
  HEARTH_RETURN_IF_ERROR(writeSecret(p.server_key, *server_key.privatePem()));
  // The chain: server certificate then its CA, so clients that only pin the CA can build it.
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.server_cert, server_cert + tls_ca, 0644));
  HEARTH_RETURN_IF_ERROR(writeSecret(p.signing_key, *signing.privatePem()));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.signing_pub, *signing.publicPem(), 0644));

  HEARTH_ASSIGN_OR_RETURN(auto store, OpenStore(DatabaseUri(o.state_dir, o.database)));
  if (::access(p.sqlite_db.c_str(), F_OK) == 0) ::chmod(p.sqlite_db.c_str(), 0600);
  HEARTH_RETURN_IF_ERROR(
      SetPolicy(*store, signing, o.policy_text, o.policy_source, o.now).status());

  InitResult result;
  HEARTH_ASSIGN_OR_RETURN(result.admin_token, NewSecret("hat_"));
  HEARTH_ASSIGN_OR_RETURN(result.enroll_secret, NewSecret("hes_"));
  TokenRecord token;
  token.name = "initial admin";
  token.scope = "admin";
  token.created_at = o.now;
  HEARTH_RETURN_IF_ERROR(store->createToken(HashSecret(result.admin_token), token).status());
  SecretRecord secret;
  secret.level = first_policy.level;
  secret.created_at = o.now;
  HEARTH_RETURN_IF_ERROR(store->createSecret(HashSecret(result.enroll_secret), secret).status());
  HEARTH_RETURN_IF_ERROR(writeSecret(p.admin_token, result.admin_token + "\n"));
  HEARTH_RETURN_IF_ERROR(writeSecret(p.enroll_secret, result.enroll_secret + "\n"));
  HEARTH_ASSIGN_OR_RETURN(result.ca_pin, server_key.publicKeyPin());
  return result;
}

StatusOr<ServerKeys> LoadServerKeys(const std::string& state_dir) {
  ServerPaths p = PathsFor(state_dir);
  auto load = [&](const std::string& path) -> StatusOr<std::string> {
    auto r = ReadFileBounded(path, kMaxStateFile);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kNotFound) {
        return NotFoundError(
            path + " is missing: is " + state_dir +
            " a Hearth server state directory? (create one with hearth-server init)");
      }
      return r.status();
    }
    return r;
  };
  ServerKeys k;
  HEARTH_RETURN_IF_ERROR(RecoverDeviceCaRollover(state_dir));
  if (::access(p.device_ca_old_cert.c_str(), F_OK) == 0) {
    HEARTH_ASSIGN_OR_RETURN(k.old_device_ca_cert, load(p.device_ca_old_cert));
  }
  HEARTH_ASSIGN_OR_RETURN(std::string dkey, load(p.device_ca_key));
  auto device_key = Key::fromPem(dkey);
  if (!device_key.ok()) return device_key.status().withContext(p.device_ca_key);
  k.device_ca_key = std::move(device_key).value();
  HEARTH_ASSIGN_OR_RETURN(k.device_ca_cert, load(p.device_ca_cert));
  HEARTH_ASSIGN_OR_RETURN(std::string skey, load(p.signing_key));
  auto signing = Key::fromPem(skey);
  if (!signing.ok()) return signing.status().withContext(p.signing_key);
  k.signing_key = std::move(signing).value();
  // The public key from the private one: a crash in the middle of `rotate signing-key --finish`
  // cannot pair one key with the other's public half.
  HEARTH_ASSIGN_OR_RETURN(k.signing_pub, k.signing_key.publicPem());
  HEARTH_ASSIGN_OR_RETURN(k.ca_cert, load(p.ca_cert));
  if (::access(p.signing_rotation.c_str(), F_OK) == 0 &&
      ::access(p.signing_next_key.c_str(), F_OK) == 0) {
    HEARTH_ASSIGN_OR_RETURN(std::string nkey, load(p.signing_next_key));
    auto next = Key::fromPem(nkey);
    if (!next.ok()) return next.status().withContext(p.signing_next_key);
    HEARTH_ASSIGN_OR_RETURN(std::string next_pub, next->publicPem());
    HEARTH_ASSIGN_OR_RETURN(std::string rotation, load(p.signing_rotation));
    auto v = json::parse(rotation);
    auto when = parseRfc3339(v.ok() ? json::ObjectReader(*v, {}).stringOr("switch_at") : "");
    if (!when.ok()) {
      return DataLossError(p.signing_rotation + ": expected {\"switch_at\": RFC 3339 time}");
    }
    if (next_pub != k.signing_pub) {  // (equal: --finish was interrupted after the key moved)
      k.next_signing_key = std::move(next).value();
      k.next_signing_pub = next_pub;
      k.signing_switch_at = *when;
    }
  }
  if (::access(p.server_next_key.c_str(), F_OK) == 0) {
    HEARTH_ASSIGN_OR_RETURN(std::string nkey, load(p.server_next_key));
    auto next = Key::fromPem(nkey);
    if (!next.ok()) return next.status().withContext(p.server_next_key);
    HEARTH_ASSIGN_OR_RETURN(k.next_server_pin, next->publicKeyPin());
  }
  return k;
}

StatusOr<std::string> PrepareServerKeyRotation(const std::string& state_dir) {
  ServerPaths p = PathsFor(state_dir);
  HEARTH_RETURN_IF_ERROR(RecoverServerCertRotation(state_dir));
  if (::access(p.server_next_key.c_str(), F_OK) == 0) {
    return FailedPreconditionError("a next server key is already prepared (" + p.server_next_key +
                                   "); install it with `hearth-server rotate server-cert`");
  }
  if (::access(p.server_key.c_str(), F_OK) != 0) {
    return NotFoundError(p.server_key + " is missing: is " + state_dir +
                         " a Hearth server state directory?");
  }
  HEARTH_ASSIGN_OR_RETURN(Key next, Key::generateP256());
  HEARTH_RETURN_IF_ERROR(writeSecret(p.server_next_key, *next.privatePem()));
  return next.publicKeyPin();
}

Status RecoverServerCertRotation(const std::string& state_dir) {
  ServerPaths p = PathsFor(state_dir);
  // server.pem.next is written after the key it certifies: its presence means "install both".
  if (::access(p.server_cert_next.c_str(), F_OK) != 0) return OkStatus();
  if (::rename(p.server_next_key.c_str(), p.server_key.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, "rename " + p.server_next_key);
  }
  if (::rename(p.server_cert_next.c_str(), p.server_cert.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename " + p.server_cert_next);
  }
  return OkStatus();
}

StatusOr<ServerCertRotation> RotateServerCertificate(const std::string& state_dir, TimePoint now) {
  ServerPaths p = PathsFor(state_dir);
  HEARTH_RETURN_IF_ERROR(RecoverServerCertRotation(state_dir));
  auto load = [&](const std::string& path) -> StatusOr<std::string> {
    auto r = ReadFileBounded(path, kMaxStateFile);
    if (!r.ok()) return r.status().withContext(path);
    return r;
  };
  HEARTH_ASSIGN_OR_RETURN(std::string ca_key_pem, load(p.tls_ca_key));
  HEARTH_ASSIGN_OR_RETURN(Key ca_key, Key::fromPem(ca_key_pem));
  HEARTH_ASSIGN_OR_RETURN(std::string ca_pem, load(p.ca_cert));
  HEARTH_ASSIGN_OR_RETURN(std::string current_pem, load(p.server_cert));
  HEARTH_ASSIGN_OR_RETURN(protocol::CertificateInfo current,
                          protocol::ParseCertificate(current_pem));
  ServerCertRotation out;
  Key key;
  if (::access(p.server_next_key.c_str(), F_OK) == 0) {
    HEARTH_ASSIGN_OR_RETURN(std::string next_pem, load(p.server_next_key));
    HEARTH_ASSIGN_OR_RETURN(key, Key::fromPem(next_pem));
    out.announced = true;
  } else {
    HEARTH_ASSIGN_OR_RETURN(key, Key::generateP256());
    HEARTH_RETURN_IF_ERROR(writeSecret(p.server_next_key, *key.privatePem()));
  }
  CertificateRequest sr;
  sr.common_name = current.common_name;  // the names are kept
  sr.dns_names = current.dns_names;
  sr.ip_addresses = current.ip_addresses;
  sr.server_auth = true;
  sr.not_before = now - std::chrono::hours(1);
  sr.not_after = now + 825 * kDay;
  HEARTH_ASSIGN_OR_RETURN(std::string cert,
                          protocol::IssueCertificate(sr, *key.publicPem(), ca_key, ca_pem));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.server_cert_next, cert + ca_pem, 0644));
  HEARTH_RETURN_IF_ERROR(RecoverServerCertRotation(state_dir));
  HEARTH_ASSIGN_OR_RETURN(out.pin, key.publicKeyPin());
  out.not_after = sr.not_after;
  return out;
}

Status RecoverDeviceCaRollover(const std::string& state_dir) {
  ServerPaths p = PathsFor(state_dir);
  // device-ca.next.pem is written after its key and is the commit point.
  if (::access(p.device_ca_next_cert.c_str(), F_OK) != 0) {
    if (::unlink(p.device_ca_next_key.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, "remove " + p.device_ca_next_key);
    }
    return OkStatus();
  }
  if (::access(p.device_ca_next_key.c_str(), F_OK) == 0) {
    // The outgoing CA certificate is kept (its certificates stay valid for the overlap).
    auto old = ReadFileBounded(p.device_ca_cert, kMaxStateFile);
    if (!old.ok()) return old.status().withContext(p.device_ca_cert);
    HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_ca_old_cert, *old, 0644));
    if (::rename(p.device_ca_next_key.c_str(), p.device_ca_key.c_str()) != 0) {
      return ErrnoToStatus(errno, "rename " + p.device_ca_next_key);
    }
  }
  if (::rename(p.device_ca_next_cert.c_str(), p.device_ca_cert.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename " + p.device_ca_next_cert);
  }
  return OkStatus();
}

Status RollOverDeviceCa(const std::string& state_dir, TimePoint now) {
  ServerPaths p = PathsFor(state_dir);
  HEARTH_RETURN_IF_ERROR(RecoverDeviceCaRollover(state_dir));
  if (::access(p.device_ca_key.c_str(), F_OK) != 0) {
    return NotFoundError(p.device_ca_key + " is missing: is " + state_dir +
                         " a Hearth server state directory?");
  }
  if (::access(p.device_ca_old_cert.c_str(), F_OK) == 0) {
    return FailedPreconditionError(
        "a device CA rollover is already in progress (" + p.device_ca_old_cert +
        " is still trusted); finish it first with `hearth-server rotate device-ca --finish`");
  }
  HEARTH_ASSIGN_OR_RETURN(Key key, Key::generateP256());
  CertificateRequest r;
  r.common_name = "Hearth device CA " + formatRfc3339(now).substr(0, 10);
  r.is_ca = true;
  r.not_before = now - std::chrono::hours(1);
  r.not_after = now + 10 * 365 * kDay;
  HEARTH_ASSIGN_OR_RETURN(std::string cert,
                          protocol::IssueCertificate(r, *key.publicPem(), key, ""));
  HEARTH_RETURN_IF_ERROR(writeSecret(p.device_ca_next_key, *key.privatePem()));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_ca_next_cert, cert, 0644));
  return RecoverDeviceCaRollover(state_dir);
}

Status FinishDeviceCaRollover(const std::string& state_dir) {
  ServerPaths p = PathsFor(state_dir);
  if (::access(p.device_ca_old_cert.c_str(), F_OK) != 0) {
    return FailedPreconditionError("no device CA rollover is in progress in " + state_dir);
  }
  if (::unlink(p.device_ca_old_cert.c_str()) != 0) {
    return ErrnoToStatus(errno, "remove " + p.device_ca_old_cert);
  }
  return OkStatus();
}

StatusOr<TimePoint> StartSigningKeyRotation(const std::string& state_dir,
                                            std::chrono::seconds overlap, TimePoint now) {
  ServerPaths p = PathsFor(state_dir);
  HEARTH_ASSIGN_OR_RETURN(ServerKeys keys, LoadServerKeys(state_dir));
  if (keys.next_signing_key) {
    return FailedPreconditionError(
        "a policy-signing key rotation is already in progress (the next key takes over at " +
        formatRfc3339(keys.signing_switch_at) +
        "); finish it first with `hearth-server rotate signing-key --finish`");
  }
  HEARTH_ASSIGN_OR_RETURN(Key next, Key::generateEd25519());
  TimePoint switch_at = now + overlap;
  HEARTH_RETURN_IF_ERROR(writeSecret(p.signing_next_key, *next.privatePem()));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.signing_next_pub, *next.publicPem(), 0644));
  json::Value r = json::Value::object();
  r.set("started_at", formatRfc3339(now));
  r.set("switch_at", formatRfc3339(switch_at));
  // Written last: its presence starts the rotation.
  HEARTH_RETURN_IF_ERROR(
      WriteFileDurably(p.signing_rotation, json::write(r, {.pretty = true}) + "\n", 0644));
  return switch_at;
}

Status FinishSigningKeyRotation(const std::string& state_dir) {
  ServerPaths p = PathsFor(state_dir);
  if (::access(p.signing_next_key.c_str(), F_OK) != 0) {
    return FailedPreconditionError("no policy-signing key rotation is in progress in " + state_dir +
                                   " (start one with `hearth-server rotate " + "signing-key`)");
  }
  // The private key is what counts (the public key is derived from it when loading).
  auto move = [](const std::string& from, const std::string& to) -> Status {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, "rename " + from + " to " + to);
    }
    return OkStatus();
  };
  HEARTH_RETURN_IF_ERROR(move(p.signing_next_key, p.signing_key));
  HEARTH_RETURN_IF_ERROR(move(p.signing_next_pub, p.signing_pub));
  if (::unlink(p.signing_rotation.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, "remove " + p.signing_rotation);
  }
  return OkStatus();
}

}  // namespace hearth::server
