// The server's state directory: keys, certificates, first secrets and (by default) the SQLite
// database. Created by `hearth-server init`, read by every other command.
//
//   device-ca.pem / device-ca.key      issues device client certificates (ECDSA P-256)
//   device-ca.old.pem                  the previous device CA after `rotate device-ca`: its
//                                      certificates are still accepted until --finish
//   ca.pem / tls-ca.key                the server TLS CA agents pin (separate from the device CA)
//   server.pem / server.key            the TLS certificate of both listeners
//   server.next.key                    the next server key, prepared and announced to agents
//                                      (rotate server-cert --prepare); server.pem.next while
//                                      `rotate server-cert` installs it
//   policy-signing.key / .pub          Ed25519 key that signs policies
//   policy-signing.next.key / .pub     the next one, during a rotation (rotate signing-key)
//   signing-rotation.json              when the next key takes over
//   admin-token, enroll-secret         the first admin token and enrolment secret (one line each)
//   hearth.db                          the SQLite database (unless --database names another)
// Private keys and secrets are mode 0600; the directory is 0700.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/protocol/crypto.h"
#include "hearth/server/store.h"
#include "hearth/status.h"

namespace hearth::server {

struct ServerPaths {
  std::string dir;
  std::string device_ca_cert, device_ca_key;
  std::string device_ca_old_cert, device_ca_next_cert, device_ca_next_key;
  std::string ca_cert, tls_ca_key;
  std::string server_cert, server_key;
  std::string server_next_key, server_cert_next;
  std::string signing_key, signing_pub;
  std::string signing_next_key, signing_next_pub, signing_rotation;
  std::string admin_token, enroll_secret;
  std::string sqlite_db;
};
ServerPaths PathsFor(const std::string& state_dir);

// The database URI to use: `database` if given, else the SQLite file in the state dir.
std::string DatabaseUri(const std::string& state_dir, const std::string& database);

struct InitOptions {
  std::string state_dir;
  std::vector<std::string> sans;  // extra DNS names or IP addresses for the server certificate
  std::string database;           // "" = SQLite in the state dir
  std::string policy_text;        // the level's first policy (exact bytes)
  std::string policy_source;      // names it in errors
  TimePoint now;
};

struct InitResult {
  std::string admin_token;
  std::string enroll_secret;
  std::string ca_pin;  // sha256//... of the server certificate's public key (for --pin)
};

// Creates a new state directory. Refuses (FailedPrecondition) if it already holds a server.
StatusOr<InitResult> InitServerState(const InitOptions& options);

struct ServerKeys {
  protocol::Key device_ca_key;
  std::string device_ca_cert;
  // The previous device CA during a rollover (its certificates are still accepted), "" none.
  std::string old_device_ca_cert;
  protocol::Key signing_key;
  std::string signing_pub;
  std::string ca_cert;  // the server TLS CA certificate (what agents pin)
  // A policy-signing key rotation in progress: the next key, and when it takes over from
  // signing_key (before: policies are signed with signing_key and announce the next key).
  std::optional<protocol::Key> next_signing_key;
  std::string next_signing_pub;
  TimePoint signing_switch_at;
  // The pin (sha256//...) of the prepared next server key, "" none: announced to agents.
  std::string next_server_pin;
};
// Loads the keys `serve` and the admin commands need, with errors naming the file.
StatusOr<ServerKeys> LoadServerKeys(const std::string& state_dir);

// `rotate signing-key`: makes the next policy-signing key, which takes over `overlap` from `now`
// (until then, policies are signed with the current key and announce the next one). Returns
// when it takes over. FailedPrecondition when a rotation is already in progress.
StatusOr<TimePoint> StartSigningKeyRotation(const std::string& state_dir,
                                            std::chrono::seconds overlap, TimePoint now);
// `rotate signing-key --finish`: the next key becomes the current one now (its files replace
// policy-signing.key/.pub). FailedPrecondition when no rotation is in progress.
Status FinishSigningKeyRotation(const std::string& state_dir);

// `rotate server-cert --prepare`: makes the next server TLS key (server.next.key), whose pin
// `serve` announces to agents in every signed policy, so that agents that pin the server's key
// accept it after the rotation. Returns the pin. FailedPrecondition when one is prepared already.
StatusOr<std::string> PrepareServerKeyRotation(const std::string& state_dir);

struct ServerCertRotation {
  std::string pin;         // of the new server key
  bool announced = false;  // the key was prepared (and so announced) beforehand
  TimePoint not_after;
};
// `rotate server-cert`: a new server certificate under the same server CA, with the names of the
// current one, for the prepared key (or a new key when none was prepared: agents that pin the old
// key then fail to connect). Crash-safe with RecoverServerCertRotation. `serve` uses it from its
// next start.
StatusOr<ServerCertRotation> RotateServerCertificate(const std::string& state_dir, TimePoint now);
// Finishes what a crash left of RotateServerCertificate (`serve` calls it at start).
Status RecoverServerCertRotation(const std::string& state_dir);

// `rotate device-ca`: a new device CA issues every certificate from the next start of `serve`;
// the previous CA certificate is kept as device-ca.old.pem and the certificates it issued stay
// accepted (until --finish). The previous CA's private key is deleted. Crash-safe with
// RecoverDeviceCaRollover. FailedPrecondition when a rollover is already in progress.
Status RollOverDeviceCa(const std::string& state_dir, TimePoint now);
// `rotate device-ca --finish`: the previous device CA is no longer trusted.
Status FinishDeviceCaRollover(const std::string& state_dir);
Status RecoverDeviceCaRollover(const std::string& state_dir);

// `join` (state_join.cc): another server of a cluster on one PostgreSQL database. Copies every
// regular file at the top of the state directory `from` (an existing server's, or a copy of it:
// keys, certificates, the rotation state, the first admin token and enrolment secret) into
// `to`, each with its mode, written durably; not the SQLite database. `to` must be new or hold
// no server's files, unless `again` (after a rotation on the server the files come from): then
// they replace the files of `to`, and files `from` no longer has are deleted. The keys of `from`
// must load (FailedPrecondition naming the problem), and do in `to` after the copy.
struct JoinResult {
  std::vector<std::string> copied, removed;  // file names
};
StatusOr<JoinResult> JoinServerState(const std::string& from, const std::string& to, bool again);

// Secrets and tokens: random, prefixed so they are recognisable in a leaked paste ("hes_",
// "hat_"); only their SHA-256 is stored.
StatusOr<std::string> NewSecret(const std::string& prefix);
std::string HashSecret(const std::string& secret);

// Validates `text` as a policy (strictly, as the agent does), signs its exact bytes and stores it
// as the next version of its level. Returns the stored record.
// `audit` (actor, action, time), if given, is recorded with it in one transaction, with the
// target "level:NAME" and the version and source as its detail.
StatusOr<PolicyRecord> SetPolicy(Store& store, const protocol::Key& signing_key,
                                 const std::string& text, const std::string& source, TimePoint now,
                                 const AuditEntry* audit = nullptr);

// The example policy shipped in packaging/ (compiled in).
const std::string& ExamplePolicy();

}  // namespace hearth::server
