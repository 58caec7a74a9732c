// The server's storage: devices, enrolment secrets, admin tokens, signed policies, reports and the
// append-only feed, behind one interface with two backends through Poco::Data: SQLite (default,
// one file in the state dir, WAL, synchronous=FULL) and PostgreSQL (`postgresql://...`).
// Schema migrations are versioned (schema_migrations). No Poco type crosses this interface;
// Poco exceptions become Status values inside the implementation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/json.h"
#include "hearth/server/compliance_history.h"
#include "hearth/server/standing.h"
#include "hearth/server/webhooks.h"
#include "hearth/status.h"

namespace hearth::server {

using TimePoint = std::chrono::system_clock::time_point;

struct SecretRecord {
  int64_t id = 0;
  std::string level;
  std::optional<std::string> owner;  // per-person secret: devices get this owner
  std::optional<int64_t> uses_left;  // nullopt: unlimited
  int64_t uses = 0;
  std::optional<TimePoint> expires_at;
  TimePoint created_at;
  std::optional<TimePoint> revoked_at;
  bool approval = false;  // devices enrolled with it wait for IT's approval (status "pending")
};

// What a secret is for, from its limits: "single-use" (one enrolment), "per-person" (an owner),
// "limited" (N uses), "rollout" (unlimited uses, shared). `uses` + `uses_left` is the limit.
std::string SecretKind(const SecretRecord& secret);

struct TokenRecord {
  int64_t id = 0;
  std::string name;
  std::string scope;  // "read" or "admin"
  TimePoint created_at;
  std::optional<TimePoint> expires_at;
  std::optional<TimePoint> revoked_at;
};

// A session of the IT console (console_session.h), opened with an admin token. The store keeps
// it by the SHA-256 of its id, never the id.
struct SessionRecord {
  int64_t token_id = 0;
  std::string token_name;  // the token's (findSession fills it)
  std::string role;        // "read" or "admin": the token's scope
  std::string csrf_token;  // sent back by the page with every write (X-CSRF-Token)
  TimePoint created_at;
  TimePoint last_used_at;
};

// An OpenID Connect sign-in in progress (oidc_client.h), kept by the SHA-256 of the id in the
// browser's sign-in cookie: what the provider's answer is checked against.
struct OidcPendingRecord {
  std::string state;
  std::string nonce;
  std::string verifier;  // the PKCE code verifier
  TimePoint created_at;
};

struct PolicyRecord {
  std::string level;
  int64_t version = 0;
  std::string body;       // the exact bytes served and signed
  std::string signature;  // base64 Ed25519 over body
  TimePoint created_at;
};

struct DeviceRecord {
  std::string device_id;
  std::string hostname;
  std::optional<std::string> owner;
  // Who set the owner (migration 13): "it" (the admin API, the CLI, an owners import), "secret"
  // (the enrolment secret IT made for that person), "device" (the PC declared it at enrolment:
  // its word only; an owner's exemption does not cover it). None without an owner.
  std::optional<std::string> owner_source;
  std::string level;
  std::string cert_serial;
  // Hex SHA-256 of the current certificate's SubjectPublicKeyInfo (DER): a request is the device's
  // only with a certificate of this serial AND this key (anyone with the device CA key can mint
  // one with the serial). Empty for a device enrolled before the server stored it (schema v6): its
  // next request with the current serial binds the key it presents (bindCertificateKey).
  std::string cert_key_sha256;
  // A renewed certificate not used yet (deviceForAuth only): cert_serial stays valid until the
  // device first authenticates with this one, with this key.
  std::optional<std::string> pending_cert_serial;
  std::optional<std::string> pending_cert_key_sha256;
  // enrollDevice only: when the certificate issued at enrolment expires, recorded with the device
  // in the enrolment's transaction (certificate_expiring).
  std::optional<TimePoint> cert_not_after;
  TimePoint enrolled_at;
  std::optional<TimePoint> retired_at;
  std::optional<TimePoint> last_seen;
  std::string agent_version;
  std::string machine_id;
  int64_t last_sequence = 0;
  int64_t reports_dropped = 0;  // reports the device's spool dropped, summed over its reports
  // As stored at the latest report or exemption change: "compliant", "at_risk", "noncompliant",
  // "unknown" (no report yet: "unknown"). listDevices gives it as at the filter's `now`
  // (StatusAt: an at_risk device whose deadline passed is noncompliant); getDevice as stored.
  std::string status;
  // The earliest deadline (fix_by) of its failing required checks within their grace: past it
  // the device is noncompliant without a new report. None when compliant or already past.
  std::optional<TimePoint> deadline;
  // Since when the device has not been compliant; none while it is (or before its first report).
  std::optional<TimePoint> failing_since;
  // The whole result of the latest report: getDevice only (one device, one bounded body); lists
  // never read it. Left empty, with latest_result_damaged, when its text no longer matches the
  // SHA-256 stored with it.
  std::optional<json::Value> latest_result;
  bool latest_result_damaged = false;
  // The latest report's checks as lists show them, kept beside it at ingest so that no list
  // parses a report: an array of {"id","verdict","summary","required","since","fix_by",
  // "exempt_until"} (at most 64 checks of bounded fields; the last three RFC 3339 or null, absent
  // from rows stored before schema 9). Empty array before the first report.
  json::Value checks_summary = json::Value::array();
  // Enrolled with an approval secret and not yet approved: reports are stored, but the device is
  // listed as "pending" and left out of the compliance counts.
  bool pending_approval = false;
  // Another non-retired device reports the same machine_id (a cloned disk or image). Computed
  // when read, so retiring one of the pair clears it on the other.
  bool duplicate_machine_id = false;
};

// A history page holds at most this many bytes of stored results (docs/server.md "Report
// limits"): 4 of the largest results (1 MiB), about 190 real ones (22 KB).
constexpr int64_t kHistoryPageBytes = 4 << 20;

struct StoredReport {
  std::string report_id;
  int64_t sequence = 0;
  std::string sent_at;
  TimePoint received_at;
  bool compliant = false;
  // The stored result's JSON text as it was stored (not parsed: a history page costs the bytes
  // it returns), empty when `damaged`: the text no longer matches the SHA-256 stored with it.
  std::string result_json;
  bool damaged = false;
};

struct FeedEvent {
  int64_t cursor = 0;
  TimePoint at;
  std::string device_id;
  // enrolled, verdict_changed, stale, retired, renewed, device_noncompliant, device_compliant,
  // exemption_expired, ...
  std::string type;
  std::optional<std::string> check;
  std::optional<std::string> from;
  std::optional<std::string> to;
  // More fields of the event, a JSON object's text (enrolment_spike: secret_id, count,
  // window_seconds; duplicate_machine_id: other_device_id; certificate_expiring: serial,
  // not_after, days_left).
  std::optional<std::string> detail;
  // The device's hostname and owner when the event is read (feed: from the devices table).
  std::optional<std::string> hostname;
  std::optional<std::string> owner;
};

// An exemption granted by IT: one check of one device (device_id) or of every device of one
// owner (owner) does not count against compliance until `until`.
struct ExemptionRecord {
  int64_t id = 0;
  std::optional<std::string> device_id;
  std::optional<std::string> owner;
  std::string check;
  TimePoint until;
  std::string reason;
  TimePoint created_at;
  std::string created_by;  // the audit actor
  std::optional<TimePoint> revoked_at;
  std::optional<TimePoint> expired_at;  // when the maintenance pass saw it lapse
};

// The most exemptions one page of a list holds (Store::listExemptions, GET /api/v1/exemptions).
inline constexpr int kMaxExemptionPage = 1000;

// {"exemption_id","device_id","owner","check","until","reason","created_at","created_by",
// "revoked_at","expired_at","active"} (`active` at `now`).
json::Value ExemptionJson(const ExemptionRecord& e, TimePoint now);

// One entry of the append-only audit log: who did what to what.
struct AuditEntry {
  int64_t id = 0;  // the cursor, assigned by the store
  TimePoint at;
  std::string actor;   // the token's name (API) or "cli:<unix user>" (command line)
  std::string action;  // server.init, token.create, token.revoke, secret.create, secret.revoke,
                       // policy.set, device.retire, device.approve, device.reject, device.owner,
                       // export.csv, backup, ...
  std::string target;  // "token:3", "secret:5", "level:standard", "device:<id>", "" ...
  std::optional<std::string> detail;  // a JSON object's text
};

// {"cursor","at","actor","action","target","detail"?}: an entry as the API and the CLI show it.
json::Value AuditEntryJson(const AuditEntry& entry);

// An entry made now by `actor`; `detail` (an object) is kept as its JSON text, or none when null.
AuditEntry NewAuditEntry(std::string actor, std::string action, std::string target,
                         const json::Value& detail = json::Value());

// Enrolment spike: more than `threshold` enrolments with one secret within `window` appends
// one `enrolment_spike` feed event per window.
struct SpikeRule {
  int64_t threshold = 20;
  std::chrono::seconds window{600};
};

struct NewReport {
  std::string device_id;
  std::string report_id;
  int64_t sequence = 0;
  std::string sent_at;
  std::string agent_version;
  std::string machine_id;
  json::Value result;  // validated by protocol::ReportEnvelope::parse
  TimePoint received_at;
  int64_t dropped = 0;  // the envelope's "dropped": added to the device's reports_dropped once
};

// kSequenceReused: the device already has a report with this sequence and another report_id
// (an agent that lost its sequence counter); nothing was stored.
enum class IngestOutcome { kStored, kDuplicate, kSequenceReused };

// The earliest time any device of the fleet reported an update pending: a pending security
// update (name and candidate version, from os_patches' evidence) of a stored report; first_seen
// is the received_at of the first report that named it (docs/server.md "Fleet first-seen dates").
struct FleetFirstSeen {
  std::string name;
  std::string candidate;
  TimePoint first_seen;
};

// At most this many pending updates of one report are dated (the rest are not, and the agent
// counts their ages from its own first sight); longer names or versions are skipped.
inline constexpr size_t kMaxFleetUpdatesPerReport = 200;
inline constexpr size_t kMaxFleetFieldBytes = 128;

// What became of one report of a batch.
struct IngestResult {
  IngestOutcome outcome = IngestOutcome::kStored;
  // The server holds no report of this device with a sequence strictly between this number and
  // the report's: for a new report, the device's last_sequence before it (its highest ever
  // stored; retention never lowers it); for a duplicate, the highest sequence stored below it. An
  // agent that had reports in between acknowledged knows the server lost them (restored from an
  // older backup) and sends them again.
  int64_t previous_sequence = 0;
  // kSequenceReused only: one more than the highest sequence held for the device (its
  // last_sequence or any stored report's), the number the agent renumbers the report to.
  int64_t next_sequence = 0;
  // kStored and kDuplicate: the fleet's first-seen dates of the report's pending security
  // updates that some device reported before this report arrived (older than it), in the
  // report's order. The agent ages those updates from them (the acknowledgement carries them).
  std::vector<FleetFirstSeen> fleet_first_seen{};
  // kStored as the device's latest report: its status then, and each check with a deadline or an
  // exemption (for the acknowledgement: the person at the PC is told "fix by ..."). Empty else.
  std::string device_status;
  std::vector<CheckStanding> deadlines;
};

// A device silent this long is stale. Four days: a PC switched off from Friday afternoon over a
// weekend with a bank holiday on either side is not stale when it comes back (24 h made every
// home PC stale each Monday); a week's holiday still shows.
inline constexpr std::chrono::seconds kDefaultStaleAfter{96 * 3600};

// Store::levelStanding: a policy's effect on a level's latest results (the console's preview).
struct LevelStanding {
  int64_t devices = 0;
  int64_t failing = 0;
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> per_check;  // fail, unknown
};

// A day's device counts by status (Store::recordDailyStatus), for the console's trend chart.
struct DailyStatus {
  std::string day;                                      // YYYY-MM-DD, UTC
  std::vector<std::pair<std::string, int64_t>> counts;  // as deviceCounts
};

struct DeviceFilter {
  // compliant | at_risk | noncompliant | unknown | stale (devices awaiting approval are in none
  // of these) | pending (awaiting approval) | retired (retired devices, listed only so)
  std::optional<std::string> status;
  std::optional<std::string> level;
  std::optional<std::string> owner;
  std::optional<std::string> check;  // devices whose latest verdict of this check is fail
  // Devices whose hostname or owner contains this text (ASCII letters in any case).
  std::optional<std::string> search;
  // Devices not compliant since at least this long before `now` (failing_since <= now - it).
  std::optional<std::chrono::seconds> failing_for;
  // false: by device_id; true: by failing_since (oldest first, devices without one last), then
  // device_id.
  bool sort_failing_since = false;
  // The cursor (exclusive): "" = from the start; a device_id, or with sort_failing_since the
  // DeviceCursor of the last device of the previous page.
  std::string after;
  int limit = 100;
  TimePoint now;  // for staleness
  std::chrono::seconds stale_after = kDefaultStaleAfter;
};

// The cursor after device `d` in a list sorted as `filter` says ("failing_since|device_id" when
// sorted by failing_since, else the device_id).
std::string DeviceCursor(const DeviceRecord& d, const DeviceFilter& filter);

// Retention (GDPR: a person's data does not outlive its purpose). Times are passed in.
struct PruneOptions {
  TimePoint now;
  // Reports and feed events received before now - history_window are deleted, except each
  // device's latest report (its current state and the last entry of its history).
  std::chrono::seconds history_window{400 * 24 * 3600};
  // A device retired before now - retired_window is deleted entirely: its row, reports, check
  // state and feed events.
  std::chrono::seconds retired_window{30 * 24 * 3600};
  // Rows per delete transaction: the writer lock is released between batches so ingest goes on.
  int batch = 1000;
  bool dry_run = false;  // count what would go, delete nothing
  // Asked before each batch: true stops the pruning there (what was deleted stays deleted and
  // the retention horizon is recorded); the next prune goes on. `serve` stops on SIGTERM this
  // way instead of finishing a backlog of millions of rows first. Null: never stops early.
  std::function<bool()> should_stop;
};

struct PruneResult {
  int64_t reports = 0;  // old reports of devices that stay
  int64_t events = 0;   // old feed events of devices that stay
  // Fleet first-seen dates of updates no device has reported pending within history_window.
  int64_t fleet_pending = 0;
  // Recorded changes of a check's `required` flag or a device's level from before the window: a
  // period within it reads its start values from the first change after its start, kept.
  int64_t history_changes = 0;
  std::vector<std::string> retired_devices;  // deleted entirely (with all their rows)
  int64_t retired_reports = 0;               // reports and events that went with them
  int64_t retired_events = 0;
  bool stopped = false;  // PruneOptions::should_stop ended it before everything was pruned
};

// One device's new owner (nullopt: none) and the audit entry of the change (setDeviceOwners).
struct OwnerChange {
  std::string device_id;
  std::optional<std::string> owner;
  AuditEntry audit;
};

class Store {
 public:
  virtual ~Store() = default;

  // Schema version after migrate().
  virtual StatusOr<int> schemaVersion() = 0;

  // Every method that changes something on IT's behalf takes an optional `audit` entry: it is
  // appended to the audit log in the same transaction as the change (both or neither). For the
  // create methods, a target ending in ':' ("secret:") gets the new record's id appended.

  // Enrolment secrets: only a SHA-256 of the secret is stored.
  virtual StatusOr<SecretRecord> createSecret(const std::string& secret_hash,
                                              const SecretRecord& spec,
                                              const AuditEntry* audit = nullptr) = 0;
  virtual StatusOr<std::vector<SecretRecord>> listSecrets() = 0;
  virtual Status revokeSecret(int64_t id, TimePoint at, const AuditEntry* audit = nullptr) = 0;

  virtual StatusOr<TokenRecord> createToken(const std::string& token_hash, const TokenRecord& spec,
                                            const AuditEntry* audit = nullptr) = 0;
  virtual StatusOr<std::vector<TokenRecord>> listTokens() = 0;
  virtual Status revokeToken(int64_t id, TimePoint at, const AuditEntry* audit = nullptr) = 0;
  // The live (not revoked, not expired at `now`) token with this hash. NotFound otherwise.
  virtual StatusOr<TokenRecord> findToken(const std::string& token_hash, TimePoint now) = 0;

  // A new version of a level's policy: version must be greater than the current one.
  virtual Status putPolicy(const PolicyRecord& policy, const AuditEntry* audit = nullptr) = 0;
  virtual StatusOr<PolicyRecord> latestPolicy(const std::string& level) = 0;
  virtual StatusOr<std::vector<PolicyRecord>> listLatestPolicies() = 0;

  // Atomically: takes one use of the live secret with this hash, creates the device and its
  // `enrolled` event (and `pending` when the secret needs approval; `enrolment_spike` when the
  // secret's enrolments within spike.window exceed spike.threshold, once per window).
  // Refusals: NotFound (unknown secret), FailedPrecondition (revoked), DeadlineExceeded
  // (expired), ResourceExhausted (used up); the message says so in words for people.
  virtual StatusOr<DeviceRecord> enrollDevice(const std::string& secret_hash,
                                              const DeviceRecord& device, TimePoint now,
                                              const SpikeRule& spike = SpikeRule{}) = 0;
  virtual StatusOr<DeviceRecord> getDevice(const std::string& device_id) = 0;
  // What authenticating a request needs (no result parsing): level, cert_serial, cert_key_sha256,
  // pending_cert_serial, pending_cert_key_sha256, retired_at. NotFound for an unknown device.
  virtual StatusOr<DeviceRecord> deviceForAuth(const std::string& device_id) = 0;
  virtual StatusOr<std::vector<DeviceRecord>> listDevices(const DeviceFilter& filter) = 0;
  virtual Status retireDevice(const std::string& device_id, TimePoint at,
                              const AuditEntry* audit = nullptr) = 0;
  // A device waiting for approval: approve (an `approved` event; it counts from then on) or
  // reject (retired, a `rejected` event; its certificate is refused). NotFound when the device
  // does not exist, is retired or is not waiting.
  virtual Status approveDevice(const std::string& device_id, TimePoint at,
                               const AuditEntry* audit = nullptr) = 0;
  virtual Status rejectDevice(const std::string& device_id, TimePoint at,
                              const AuditEntry* audit = nullptr) = 0;
  // Sets (or with nullopt clears) a device's owner. NotFound for an unknown or retired device.
  virtual Status setDeviceOwner(const std::string& device_id,
                                const std::optional<std::string>& owner,
                                const AuditEntry* audit = nullptr) = 0;

  // Sets the owners of several devices, each with its audit entry, in one transaction: all or
  // none. NotFound naming the first device that is unknown or retired (then nothing changed).
  virtual Status setDeviceOwners(const std::vector<OwnerChange>& changes) = 0;

  // The audit log: append only (no method, and on both backends a trigger, refuses UPDATE and
  // DELETE). appendAudit is for actions that change nothing in the store (an export, a backup).
  // Entries come back oldest first, after the cursor `after`.
  virtual Status appendAudit(const AuditEntry& entry) = 0;
  virtual StatusOr<std::vector<AuditEntry>> listAudit(int64_t after, int limit) = 0;

  // Certificate renewal. Records `new_serial` (with `new_key_sha256`, its SubjectPublicKeyInfo
  // hash) as the device's pending certificate while `current_serial` is its current one; a
  // pending certificate not used yet is replaced (the agent renewed again, e.g. after a crash
  // before it stored the first). FailedPrecondition when the device is retired or its current
  // certificate is another. `new_not_after`: when the new certificate expires, recorded in the
  // same transaction (certificate_expiring).
  virtual Status setPendingCertificate(
      const std::string& device_id, const std::string& current_serial,
      const std::string& new_serial, const std::string& new_key_sha256, TimePoint at,
      const std::optional<TimePoint>& new_not_after = std::nullopt) = 0;
  // A device enrolled before keys were stored (empty cert_key_sha256) presented its current
  // certificate `serial` with key `key_sha256`: that key is the device's from now on. Binds only
  // an unbound key: FailedPrecondition when the device's key is already bound (another request
  // bound it first: read it again), the serial is not current or the device is retired.
  virtual Status bindCertificateKey(const std::string& device_id, const std::string& serial,
                                    const std::string& key_sha256) = 0;
  // The device authenticated with its pending certificate `serial`: it becomes the current one
  // (with its key) and the previous one is refused from then on; appends a `renewed` event.
  // FailedPrecondition when `serial` is not (any more) the pending one.
  virtual Status promotePendingCertificate(const std::string& device_id, const std::string& serial,
                                           TimePoint at) = 0;
  // Records when certificate `serial` of the device (its current or its pending one) expires;
  // FailedPrecondition when it is neither. Certificate expiry (store_certificates.cc).
  virtual Status setCertificateExpiry(const std::string& device_id, const std::string& serial,
                                      TimePoint not_after) = 0;
  // One `certificate_expiring` feed event (detail {"serial","not_after","days_left"}) for each
  // active device whose current certificate expires before now + `within` and that has no
  // renewed one waiting: once per certificate, across servers too. How many were raised.
  virtual StatusOr<int> markExpiringCertificates(TimePoint now, std::chrono::seconds within) = 0;

  // Stores a batch of reports in ONE durable transaction (group commit). Each report is stored
  // once: a repeated report_id is kDuplicate. Updates the device's latest result, status and
  // per-check verdicts, appending verdict_changed events, only when the report's sequence is the
  // device's highest (an older sequence arriving late is stored as history, nothing else moves).
  // Results come in input order.
  virtual StatusOr<std::vector<IngestResult>> ingestReports(
      const std::vector<NewReport>& reports) = 0;

  // Sequence numbers from 1 to the device's highest that never arrived (lost or still spooled).
  virtual StatusOr<int64_t> missingReports(const std::string& device_id) = 0;

  // A device's reports, newest first: at most `limit` (1..1000) with a sequence below `before`
  // (0: from the newest), and no more stored result bytes than kHistoryPageBytes (one report at
  // least; the reports of one sequence are never split). `more`, if given, says whether older
  // reports remain: the next page is `before` = the last report's sequence.
  virtual StatusOr<std::vector<StoredReport>> deviceHistory(const std::string& device_id, int limit,
                                                            int64_t before = 0,
                                                            bool* more = nullptr) = 0;
  virtual StatusOr<std::vector<FeedEvent>> feed(int64_t after, int limit) = 0;
  // Appends `stale` events for devices whose last report (or enrolment) is older than
  // now - window and that have no stale event since. Returns how many were added.
  virtual StatusOr<int> markStale(TimePoint now, std::chrono::seconds window) = 0;

  // The fleet's first-seen date of each (name, candidate) of `updates` it holds (any order;
  // absent ones are left out). For tests and tools; ingest answers them with each report.
  virtual StatusOr<std::vector<FleetFirstSeen>> fleetFirstSeen(
      const std::vector<std::pair<std::string, std::string>>& updates) = 0;
  // The period report's input (compliance_history.h), a page of devices at a time: each with
  // its checks' verdict at the period's start and changes within it (from the feed's
  // verdict_changed events and check_state), and its stale spans. Reads only what is stored: a
  // period older than retention (PruneOptions) lacks the changes pruned.
  virtual StatusOr<std::vector<DeviceHistory>> reportHistory(const ReportPageQuery& query) = 0;
  // What the period report says beside the fleet: before when retention has deleted history
  // (schema 13 on; none when nothing was deleted since) and, with `admin_actions`, the audit
  // log's entries within the period, oldest first.
  struct ReportContext {
    std::optional<TimePoint> pruned_before;
    std::vector<AuditEntry> admin_actions;
  };
  virtual StatusOr<ReportContext> reportContext(const ReportPeriod& period, bool admin_actions) = 0;

  // Deletes what retention says must go (see PruneOptions), in batches. With dry_run, counts.
  // The fleet's first-seen dates go only when no device reported the update pending within
  // history_window (an update still pending somewhere keeps its oldest date, however old).
  virtual StatusOr<PruneResult> prune(const PruneOptions& options) = 0;

  // Checks the database's own consistency: "ok", or what is wrong, one line each. SQLite: PRAGMA
  // integrity_check (the file's structure: pages, b-trees, indexes against tables; not what a
  // row holds). PostgreSQL has no such check; it verifies that every table of the schema is
  // readable. On both, from schema 7: every stored report body, and each device's latest
  // result, against the SHA-256 stored with it at ingest (a line names the device and report
  // whose bytes changed). Unavailable when the check itself cannot run.
  virtual StatusOr<std::string> checkIntegrity() = 0;

  // Whether the store works, from what its latest reads and writes met (no database access):
  // OK; Unavailable saying what failed (a lock held by another connection past its wait, a full
  // disk, a lost connection); DataLoss once the database reported a damaged page (until
  // restart: that does not heal by itself).
  virtual Status health() = 0;
  // Keeps health() current on an idle server: when no read has worked within `quiet` (or the
  // latest failed), reads every row of the devices table; when no write has, makes one small
  // durable write (and no change). Returns health().
  virtual Status probe(std::chrono::seconds quiet) = 0;

  // Runs `run` (a periodic job of `serve`: staleness, retention, ...) unless another server on
  // this database is running the job named `job` right now; whether it ran. PostgreSQL: the job
  // holds a session-level advisory lock, on a connection of its own, for as long as `run` runs,
  // so two servers never run one job at once; the lock ends with its connection, so a server
  // that dies (kill -9, a lost network) leaves the job to the others at their next round.
  // SQLite: always runs it (one server per database file). An error when the lock cannot be
  // asked for (the database is unreachable): `run` did not run.
  virtual StatusOr<bool> runExclusive(const std::string& job, const std::function<void()>& run) = 0;

  // Moves a device to another level at `at` (its policy from its next request on) and, in the
  // same transaction, decides its standing again under that level's newest policy: a check
  // that becomes required while failing gets its grace period from `at`. NotFound for an
  // unknown or retired device; FailedPrecondition when the level has no policy.
  virtual Status setDeviceLevel(const std::string& device_id, const std::string& level,
                                TimePoint at, const AuditEntry* audit = nullptr) = 0;

  // Exemptions. createExemption: for spec.device_id (an active device: NotFound otherwise) or
  // spec.owner; the devices it covers are re-decided at spec.created_at (device_compliant when it
  // makes one compliant). The audit target "exemption:" gets its id.
  virtual StatusOr<ExemptionRecord> createExemption(const ExemptionRecord& spec,
                                                    const AuditEntry* audit = nullptr) = 0;
  // A page of exemptions, newest first: at most `limit` (1..kMaxExemptionPage) with an id below
  // `before` (0: from the newest); with active_only, those neither revoked nor lapsed at `now`.
  // The next page is `before` = the last one's id.
  virtual StatusOr<std::vector<ExemptionRecord>> listExemptions(bool active_only, TimePoint now,
                                                                int64_t before, int limit) = 0;
  // Revokes a live exemption and re-decides its devices at `at`. NotFound when there is none.
  virtual Status revokeExemption(int64_t id, TimePoint at, const AuditEntry* audit = nullptr) = 0;
  // The passing of time, once each: an exemption that lapsed by `now` gets `exemption_expired`
  // (one per device it covered) and its devices are re-decided; a device whose deadline passed
  // gets `device_noncompliant` (at its deadline). Returns how many events were appended.
  virtual StatusOr<int> expireDeadlines(TimePoint now) = 0;
  // An exemption in force that lapses before now + `within` gets `exemption_expiring` (one per
  // device it covers, at `now`, detail {"exemption_id","until","days_left"}): once per
  // exemption, across restarts and servers. Returns how many events were appended.
  virtual StatusOr<int> markExpiringExemptions(TimePoint now, std::chrono::seconds within) = 0;

  // Device counts by status (for /metrics).
  virtual StatusOr<std::vector<std::pair<std::string, int64_t>>> deviceCounts(
      TimePoint now, std::chrono::seconds stale_after) = 0;

  // The IT console's overview, feed and device history (store_overview.cc; issue 15).
  // Active devices whose latest verdict of a check is fail, per check, most first (then by id):
  // what the device list's `check` filter counts.
  virtual StatusOr<std::vector<std::pair<std::string, int64_t>>> failingChecks() = 0;
  // Records the device counts by status at `now` (deviceCounts) as the figures of `now`'s UTC
  // day, replacing that day's earlier record: a day's figures are its last count.
  virtual Status recordDailyStatus(TimePoint now, std::chrono::seconds stale_after) = 0;
  // The recorded days from `from_day` (YYYY-MM-DD) on, oldest first.
  virtual StatusOr<std::vector<DailyStatus>> dailyStatus(const std::string& from_day) = 0;
  // The fleet's alerts at or after `since` (enrolment_spike and duplicate_machine_id events),
  // newest first, at most `limit` (1 to 1000).
  virtual StatusOr<std::vector<FeedEvent>> fleetAlerts(TimePoint since, int limit) = 0;
  // A device's events, newest first, with a cursor below `before` (0: from the newest), at most
  // `limit` (1 to 1000).
  virtual StatusOr<std::vector<FeedEvent>> deviceEvents(const std::string& device_id,
                                                        int64_t before, int limit) = 0;
  // The newest `limit` (1 to 1000) feed events, oldest first (as feed() pages them).
  virtual StatusOr<std::vector<FeedEvent>> feedNewest(int limit) = 0;
  // A level's active devices (not awaiting approval) and, of those, how many have a latest
  // verdict fail or unknown of at least one of `checks` (none: 0), and per check how many fail
  // and how many are unknown: what a policy requiring `checks` would make of the latest results
  // (before grace periods and exemptions).
  virtual StatusOr<LevelStanding> levelStanding(const std::string& level,
                                                const std::vector<std::string>& checks) = 0;
  // The newest `limit` (1 to 1000) audit entries, oldest first (as listAudit() pages them).
  virtual StatusOr<std::vector<AuditEntry>> auditNewest(int limit) = 0;

  // Webhooks (webhooks.h). The outbox: a trigger on the feed's table writes a pending delivery
  // for every webhook subscribed to an event's type in the transaction that appends the event.
  // createWebhook: the webhook and its event types; the audit target "webhook:" gets its id.
  virtual StatusOr<WebhookRecord> createWebhook(const WebhookRecord& spec,
                                                const AuditEntry* audit = nullptr) = 0;
  // Every webhook, without its secret (empty); people are shown WebhookEndpoint(url), never url.
  virtual StatusOr<std::vector<WebhookRecord>> listWebhooks() = 0;
  // Deletes the webhook, its event types and its deliveries. NotFound when there is none.
  virtual Status deleteWebhook(int64_t id, const AuditEntry* audit = nullptr) = 0;
  // A `test` delivery for webhook `id`, claimed for `claim_for` (the caller sends it at once and
  // records the attempt). NotFound when there is no such webhook.
  virtual StatusOr<DueDelivery> createTestDelivery(int64_t id, TimePoint now,
                                                   std::chrono::seconds claim_for,
                                                   const AuditEntry* audit = nullptr) = 0;
  // The first pending delivery of each webhook (later ones wait behind it) that is due at `now`
  // and not claimed, each claimed until now + claim_for (so that another server, or this one's
  // next round, leaves it alone; a server killed meanwhile leaves a claim that lapses), oldest
  // first, at most `limit`.
  virtual StatusOr<std::vector<DueDelivery>> claimDueDeliveries(TimePoint now,
                                                                std::chrono::seconds claim_for,
                                                                int limit) = 0;
  // claimDueDeliveries with a run per webhook: its head (as there) and the pending deliveries
  // after it, in order, up to `per_webhook` in all; a run stops before the first one that is not
  // due or is claimed. Grouped by webhook, each run in order. One claim transaction in all.
  virtual StatusOr<std::vector<DueDelivery>> claimDeliveryRuns(TimePoint now,
                                                               std::chrono::seconds claim_for,
                                                               int limit, int per_webhook) = 0;
  // Records an attempt: delivered, failed (no retry_at) or pending until retry_at; unclaims it.
  virtual Status recordDeliveryAttempt(int64_t delivery_id, const DeliveryAttempt& attempt) = 0;
  // Records the attempts of a run (delivery id, attempt) and unclaims `released` (claimed, not
  // attempted: due again at once), in one transaction.
  virtual Status recordDeliveryAttempts(
      const std::vector<std::pair<int64_t, DeliveryAttempt>>& attempts,
      const std::vector<int64_t>& released) = 0;
  // The delivery log of webhook `id`, newest first, ids below `before` (0: from the newest).
  virtual StatusOr<std::vector<WebhookDelivery>> listDeliveries(int64_t id, int64_t before,
                                                                int limit) = 0;
  // Deletes deliveries that finished (delivered or failed) before `before`; how many.
  virtual StatusOr<int64_t> pruneDeliveries(TimePoint before) = 0;

  // The IT console's sessions (store_sessions.cc), by the SHA-256 of their id. createSession
  // stores one, with its audit entry (the login) in the same transaction.
  virtual Status createSession(const std::string& id_hash, const SessionRecord& session,
                               const AuditEntry* audit = nullptr) = 0;
  // The session with this hash whose token is live (not revoked, not expired) at `now`, with the
  // token's name. NotFound otherwise (a revoked token ends its sessions).
  virtual StatusOr<SessionRecord> findSession(const std::string& id_hash, TimePoint now) = 0;
  // Records that the session was used at `at` (idle expiry counts from it).
  virtual Status touchSession(const std::string& id_hash, TimePoint at) = 0;
  // Deletes the session, with its audit entry (the logout). NotFound when there is none.
  virtual Status deleteSession(const std::string& id_hash, const AuditEntry* audit = nullptr) = 0;
  // Deletes the sessions last used before `idle_before` or opened before `opened_before`; how
  // many.
  virtual StatusOr<int64_t> pruneSessions(TimePoint idle_before, TimePoint opened_before) = 0;

  // OpenID Connect sign-ins in progress (store_sessions.cc, schema 20), by the SHA-256 of their
  // id, in the database so that the provider may send the browser back to any server.
  // createOidcPending first deletes those created before `expired_before`, then stores this
  // one; ResourceExhausted when `max` are in progress already.
  virtual Status createOidcPending(const std::string& id_hash, const OidcPendingRecord& pending,
                                   TimePoint expired_before, int64_t max) = 0;
  // Reads and deletes the sign-in (each is used once, whichever server its answer reaches).
  // NotFound when there is none (never made, expired and deleted, or taken already).
  virtual StatusOr<OidcPendingRecord> takeOidcPending(const std::string& id_hash) = 0;
};

// Converts "postgresql://user:pass@host:port/db?sslmode=require" (percent-encoded parts) to a
// libpq keyword string ("host='h' port='5432' ..."), which is what Poco's connector takes.
// A string without "://" is returned unchanged (already keyword form).
StatusOr<std::string> PostgresUriToConninfo(const std::string& uri);

// OK when the SQLite database `path` is a file that is not empty; else FailedPrecondition saying
// to run init or restore a backup. SQLite takes a missing or empty (0-byte) file for a new
// database, and a server that started empty would answer every agent "unknown device".
Status CheckDatabaseFile(const std::string& path);

// How OpenStore treats the database it names.
enum class OpenMode {
  kCreate,    // creates it when there is none, and migrates it (init, restore)
  kExisting,  // SQLite: FailedPrecondition when the file is missing or empty (0 bytes: a failed
              // copy, a full disk); only init and restore make a database. Migrates it.
  kReadOnly,  // as kExisting, but opened read-only and never migrated (check-db)
};

// Opens the database (and migrates it, except kReadOnly). `uri` is a path to an SQLite file, or
// "postgresql://user:pass@host:port/db" / a libpq keyword string starting with "postgresql:".
StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri,
                                           OpenMode mode = OpenMode::kCreate);

}  // namespace hearth::server
