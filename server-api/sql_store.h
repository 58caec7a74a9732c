// SqlStore: the Store on Poco::Data, for SQLite and PostgreSQL. SQL is written once with `?`
// placeholders (rewritten to `$1..$n` for PostgreSQL); the few dialect differences (types,
// auto-increment, pragmas) are in the migrations. Its methods are defined by concern:
//   store_schema.cc   opening, migrations, schema version, integrity check, health probe
//   store_admin.cc    enrolment secrets, admin tokens, policies, the audit log
//   store_devices.cc  enrolment, authentication, listing, renewal, retire/approve/owner/level,
//                     counts
//   store_exemptions.cc exemptions, deadlines passing, a device's standing decided again
//   store_reports.cc  report ingest (group commit), history, missing reports, feed, staleness
//   store_prune.cc    retention
//   store_webhooks.cc webhooks, their outbox and delivery log
//   store_summary.cc  what is kept beside each result: checks summary, SHA-256 (schema 7)
//   store_report.cc   the period report's history
//   store_sessions.cc the IT console's sessions
//   store_overview.cc the IT console's overview, daily counts, a device's events, newest feed
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include "hearth/server/store.h"
#include "sql_session.h"

namespace hearth::server::sql {

// store_summary.cc: a result's checks as lists show them, {"id","verdict","summary",
// "required"} each, as compact JSON text (DeviceRecord::checks_summary); and that text parsed
// (an empty array for none or for text that is not an array).
json::Value ChecksSummary(const json::Value& result);
std::string ChecksSummaryText(const json::Value& result);
json::Value ParseChecksSummary(const std::optional<std::string>& text);

// The owner sources (devices.owner_source, migration 13) of owners IT
// set: the admin API, the CLI, an owners import ('it') or a per-person secret ('secret'). An
// owner's exemption covers a device only when its owner has one of these: an owner the PC
// declared at enrolment ('device') is anyone's to claim.
inline constexpr const char* kItOwnerSources = "('it', 'secret')";

class SqlStore final : public Store {
 public:
  SqlStore(Dialect dialect, std::string connector, std::string connection)
      : db_(dialect, std::move(connector), std::move(connection)) {}

  // Opens the sessions and migrates the schema.
  Status open();
  // Opens the writer session read-only (SQLite: a `mode=ro` URI as the connection; PostgreSQL:
  // read-only transactions) and migrates nothing: for checkIntegrity(), which never writes.
  Status openReadOnly();

  // store_schema.cc
  StatusOr<int> schemaVersion() override;
  StatusOr<std::string> checkIntegrity() override;
  Status health() override { return db_.health(); }
  Status probe(std::chrono::seconds quiet) override;
  StatusOr<bool> runExclusive(const std::string& job, const std::function<void()>& run) override;

  // store_admin.cc
  StatusOr<SecretRecord> createSecret(const std::string& secret_hash, const SecretRecord& spec,
                                      const AuditEntry* audit) override;
  StatusOr<std::vector<SecretRecord>> listSecrets() override;
  Status revokeSecret(int64_t id, TimePoint at, const AuditEntry* audit) override;
  StatusOr<TokenRecord> createToken(const std::string& token_hash, const TokenRecord& spec,
                                    const AuditEntry* audit) override;
  StatusOr<std::vector<TokenRecord>> listTokens() override;
  Status revokeToken(int64_t id, TimePoint at, const AuditEntry* audit) override;
  StatusOr<TokenRecord> findToken(const std::string& token_hash, TimePoint now_time) override;
  Status putPolicy(const PolicyRecord& p, const AuditEntry* audit) override;
  StatusOr<PolicyRecord> latestPolicy(const std::string& level) override;
  StatusOr<std::vector<PolicyRecord>> listLatestPolicies() override;
  Status appendAudit(const AuditEntry& e) override;
  StatusOr<std::vector<AuditEntry>> listAudit(int64_t after, int limit) override;

  // store_devices.cc
  StatusOr<DeviceRecord> enrollDevice(const std::string& secret_hash, const DeviceRecord& device,
                                      TimePoint now_time, const SpikeRule& spike) override;
  StatusOr<DeviceRecord> getDevice(const std::string& device_id) override;
  StatusOr<DeviceRecord> deviceForAuth(const std::string& device_id) override;
  StatusOr<std::vector<DeviceRecord>> listDevices(const DeviceFilter& f) override;
  Status setPendingCertificate(const std::string& device_id, const std::string& current_serial,
                               const std::string& new_serial, const std::string& new_key_sha256,
                               TimePoint at,
                               const std::optional<TimePoint>& new_not_after) override;
  Status bindCertificateKey(const std::string& device_id, const std::string& serial,
                            const std::string& key_sha256) override;
  Status promotePendingCertificate(const std::string& device_id, const std::string& serial,
                                   TimePoint at) override;
  // store_certificates.cc
  Status setCertificateExpiry(const std::string& device_id, const std::string& serial,
                              TimePoint not_after) override;
  StatusOr<int> markExpiringCertificates(TimePoint now, std::chrono::seconds within) override;
  Status retireDevice(const std::string& device_id, TimePoint at, const AuditEntry* audit) override;
  Status approveDevice(const std::string& device_id, TimePoint at,
                       const AuditEntry* audit) override;
  Status rejectDevice(const std::string& device_id, TimePoint at, const AuditEntry* audit) override;
  Status setDeviceOwner(const std::string& device_id, const std::optional<std::string>& owner,
                        const AuditEntry* audit) override;
  // store_owners.cc
  Status setDeviceOwners(const std::vector<OwnerChange>& changes) override;
  StatusOr<std::vector<std::pair<std::string, int64_t>>> deviceCounts(
      TimePoint now_time, std::chrono::seconds stale_after) override;

  // store_overview.cc
  StatusOr<std::vector<std::pair<std::string, int64_t>>> failingChecks() override;
  Status recordDailyStatus(TimePoint now, std::chrono::seconds stale_after) override;
  StatusOr<std::vector<DailyStatus>> dailyStatus(const std::string& from_day) override;
  StatusOr<std::vector<FeedEvent>> fleetAlerts(TimePoint since, int limit) override;
  StatusOr<std::vector<FeedEvent>> deviceEvents(const std::string& device_id, int64_t before,
                                                int limit) override;
  StatusOr<std::vector<FeedEvent>> feedNewest(int limit) override;
  StatusOr<std::vector<AuditEntry>> auditNewest(int limit) override;
  StatusOr<LevelStanding> levelStanding(const std::string& level,
                                        const std::vector<std::string>& checks) override;
  Status setDeviceLevel(const std::string& device_id, const std::string& level, TimePoint at,
                        const AuditEntry* audit) override;

  // store_exemptions.cc
  StatusOr<ExemptionRecord> createExemption(const ExemptionRecord& spec,
                                            const AuditEntry* audit) override;
  StatusOr<std::vector<ExemptionRecord>> listExemptions(bool active_only, TimePoint now,
                                                        int64_t before, int limit) override;
  Status revokeExemption(int64_t id, TimePoint at, const AuditEntry* audit) override;
  StatusOr<int> expireDeadlines(TimePoint now_time) override;
  StatusOr<int> markExpiringExemptions(TimePoint now_time, std::chrono::seconds within) override;

  // store_reports.cc
  StatusOr<std::vector<IngestResult>> ingestReports(const std::vector<NewReport>& reports) override;
  StatusOr<int64_t> missingReports(const std::string& device_id) override;
  StatusOr<std::vector<StoredReport>> deviceHistory(const std::string& device_id, int limit,
                                                    int64_t before, bool* more) override;
  StatusOr<std::vector<FeedEvent>> feed(int64_t after, int limit) override;
  StatusOr<int> markStale(TimePoint now_time, std::chrono::seconds window) override;

  // store_report.cc
  StatusOr<std::vector<DeviceHistory>> reportHistory(const ReportPageQuery& query) override;
  StatusOr<ReportContext> reportContext(const ReportPeriod& period, bool admin_actions) override;

  // store_prune.cc
  StatusOr<PruneResult> prune(const PruneOptions& o) override;
  // store_fleet.cc
  StatusOr<std::vector<FleetFirstSeen>> fleetFirstSeen(
      const std::vector<std::pair<std::string, std::string>>& updates) override;

  // store_webhooks.cc
  StatusOr<WebhookRecord> createWebhook(const WebhookRecord& spec,
                                        const AuditEntry* audit) override;
  StatusOr<std::vector<WebhookRecord>> listWebhooks() override;
  Status deleteWebhook(int64_t id, const AuditEntry* audit) override;
  StatusOr<DueDelivery> createTestDelivery(int64_t id, TimePoint now,
                                           std::chrono::seconds claim_for,
                                           const AuditEntry* audit) override;
  StatusOr<std::vector<DueDelivery>> claimDueDeliveries(TimePoint now,
                                                        std::chrono::seconds claim_for,
                                                        int limit) override;
  StatusOr<std::vector<DueDelivery>> claimDeliveryRuns(TimePoint now,
                                                       std::chrono::seconds claim_for, int limit,
                                                       int per_webhook) override;
  Status recordDeliveryAttempt(int64_t delivery_id, const DeliveryAttempt& attempt) override;
  Status recordDeliveryAttempts(const std::vector<std::pair<int64_t, DeliveryAttempt>>& attempts,
                                const std::vector<int64_t>& released) override;
  StatusOr<std::vector<WebhookDelivery>> listDeliveries(int64_t id, int64_t before,
                                                        int limit) override;
  StatusOr<int64_t> pruneDeliveries(TimePoint before) override;
  // store_sessions.cc
  Status createSession(const std::string& id_hash, const SessionRecord& session,
                       const AuditEntry* audit) override;
  StatusOr<SessionRecord> findSession(const std::string& id_hash, TimePoint now_time) override;
  Status touchSession(const std::string& id_hash, TimePoint at) override;
  Status deleteSession(const std::string& id_hash, const AuditEntry* audit) override;
  StatusOr<int64_t> pruneSessions(TimePoint idle_before, TimePoint opened_before) override;
  Status createOidcPending(const std::string& id_hash, const OidcPendingRecord& pending,
                           TimePoint expired_before, int64_t max) override;
  StatusOr<OidcPendingRecord> takeOidcPending(const std::string& id_hash) override;

 private:
  // The ingest hot path: statements prepared once per connection and re-executed with their
  // bound variables (by reference), instead of being parsed again for every report
  // (SqlSession::prepareHot: on SQLite through its own statement cache, as Poco prepares again
  // at every execution there).
  struct IngestStatements {
    std::string report_id, device, sent, received, body, body_sha256, summary, agent, machine,
        status, check_id, verdict, prev_machine, event_type = "verdict_changed", level, owner,
                                                 device_event;
    Poco::Nullable<std::string> old_verdict, failing_since, deadline, fix_by, grace_from;
    Poco::Int64 seq = 0, last_seq = 0, dropped = 0, reused = 0, highest = 0, body_bytes = 0,
                alerted = 0, policy_version = 0, exemptions = 0, required = 1, pending = 0;
    int compliant = 0;
    // SQLite: read once per batch (readBatchStanding), each level's newest policy version and
    // whether any exemption is in force at all (only then are a device's exemptions read); its
    // writer transaction excludes every other writer, so they hold for the whole batch.
    // PostgreSQL: read per report (select_standing), after the device's row lock (another
    // server may change them during the batch).
    std::map<std::string, int64_t> policy_versions;
    bool any_exemptions = false;
    std::vector<std::string> state_ids, state_verdicts, state_since, state_fix_by, state_grace_from,
        exempt_checks, exempt_until;
    std::vector<Poco::Int64> state_required;
    std::unique_ptr<HotStatement> insert_report, select_device, select_below, select_reused,
        select_highest, update_seen, update_device, select_states, insert_state, update_state,
        update_standing, select_exemptions, insert_event, insert_device_event, select_standing;
  };
  // The grace days of each check of one level's policy version (Policy::checks' grace_days).
  struct GracePeriods {
    int64_t version = -1;
    std::map<std::string, int64_t> days;
  };

  // store_schema.cc: applies every migration not applied yet. Throws Poco exceptions.
  Status migrate();

  // store_admin.cc: in one transaction, runs `insert` (parameters bound by `bind`), reads the new
  // row's id into `id` with `select_id` (its one parameter: `hash`, the row's unique hash) and
  // appends `audit` for it.
  template <typename Bind>
  Status insertHashed(const char* what, const std::string& insert, Bind&& bind,
                      const std::string& select_id, std::string& hash, int64_t& id,
                      const AuditEntry* audit);
  // Appends `audit` (if any) on the writer session, inside the caller's
  // transaction: the action and its entry are committed together or not at all. A target ending
  // in ':' ("secret:") gets `id` (the record just made) appended.
  void insertAudit(const AuditEntry* audit, int64_t id);
  // Revokes the live row `id` of `table` (enroll_secrets, admin_tokens) with its audit entry;
  // NotFound "no live <noun> with id N" when there is none.
  Status revokeRow(const char* what, const char* table, const char* noun, int64_t id, TimePoint at,
                   const AuditEntry* audit);

  // store_devices.cc: appends one feed event on the writer session (inside the caller's
  // transaction).
  void appendEvent(const std::string& at, const std::string& device_id, const std::string& type,
                   const std::optional<std::string>& detail);
  // Approves (pending = 0) or rejects (retired) a device that waits for approval.
  Status decidePending(const std::string& device_id, TimePoint at, bool approve,
                       const AuditEntry* audit);

  // store_summary.cc: fills the SHA-256 and checks summary of rows stored before schema 7, on
  // the writer inside migration 7's transaction. Throws Poco exceptions.
  Status backfill();
  // store_summary.cc: one line for each stored result whose text does not match its SHA-256
  // (none before schema 7). On the writer. Throws Poco exceptions.
  std::vector<std::string> verifyChecksums();

  // store_webhooks.cc, PostgreSQL: claims `due` (in order, grouped by webhook) in one statement
  // and returns those claimed (moved out of `due`); frees the claims of a JSON array of delivery
  // ids; records attempts (each delivery named once) in one statement. On the writer, inside the
  // caller's transaction.
  std::vector<DueDelivery> claimAll(std::vector<DueDelivery>& due, const std::string& until,
                                    const std::string& at);
  void releaseAll(const std::string& id_list);
  void recordAll(const std::vector<std::pair<int64_t, DeliveryAttempt>>& attempts);

  // store_reports.cc
  IngestStatements& ingestStatements();
  // One report of the batch, inside its transaction; an error ends the batch (rolled back).
  StatusOr<IngestResult> ingestOne(const NewReport& r);
  // SQLite: fills `s`'s per-batch fields (policy_versions, any_exemptions) inside the ingest
  // transaction (PostgreSQL reads them per report: nothing to do).
  void readBatchStanding(IngestStatements& s);
  // The grace periods of `level`'s policy `version` (read and parsed once per version; none when
  // the level has no policy). On the writer, inside the ingest transaction.
  const std::map<std::string, int64_t>& gracePeriods(const std::string& level, int64_t version);
  // store_exemptions.cc: decides the standing of `device_id` again at `at` from its stored checks
  // and the exemptions in force then, and stores it with the device event it brings. On the
  // writer, inside the caller's transaction.
  void redecideDevice(const std::string& device_id, TimePoint at);
  // store_owners.cc: setDeviceOwners, with the changes' audit entries appended or not (their
  // `at` is when the devices are decided again either way).
  Status setDeviceOwners(const std::vector<OwnerChange>& changes, bool audited);
  // store_standing.cc: after a device moved to `level` at `at`, its stored checks' `required`,
  // grace clocks and deadlines follow that level's newest policy, and its standing is decided
  // again (redecideDevice). On the writer, inside the caller's transaction.
  void restandForLevel(const std::string& device_id, const std::string& level, TimePoint at);
  // " FOR UPDATE OF <table>" on PostgreSQL (a row lock held until commit, so that another
  // server deciding the same row waits and reads it after this one), nothing on SQLite (its
  // writer transaction is already exclusive: BEGIN IMMEDIATE).
  std::string rowLock(const char* table) const {
    return db_.dialect() == Dialect::kPostgres ? std::string(" FOR UPDATE OF ") + table : "";
  }
  void noteMachineId(const std::string& device_id, const std::string& machine_id,
                     const std::string& at);
  // store_report.cc: records that `kind` ("required" of `check_id`, or "level") of `device_id`
  // changed at `at` (history_changes, read by the period report). On the writer, inside the
  // caller's transaction.
  void noteHistoryChange(const std::string& device_id, const std::string& at,
                         const std::string& kind, const std::string& check_id,
                         const std::string& from, const std::string& to);

  // store_fleet.cc: the fleet's first-seen dates of `r`'s pending security updates (upserted
  // on the writer, inside the ingest transaction, when `write`: a device awaiting approval only
  // reads them) that are older than `r`. Throws Poco exceptions.
  std::vector<FleetFirstSeen> noteFleetPending(const NewReport& r, bool write);
  // store_fleet.cc: what the ingest transaction learnt becomes known (committed) or is forgotten.
  void fleetTransactionEnded(bool committed);

  // What this process knows is in fleet_pending (committed): first_seen only ever moves earlier,
  // so a report received after it needs no write, until last_seen is a day old (retention reads
  // it). Bounded (cleared when full); other servers sharing the database may hold an earlier
  // date, which a cache miss reads.
  struct FleetKnown {
    std::string first_seen, last_seen;  // as stored (RFC 3339 in seconds, ordered as text)
  };
  using FleetKey = std::pair<std::string, std::string>;
  std::map<FleetKey, FleetKnown> fleet_known_, fleet_staged_;  // guarded by ingest_mu_
  std::mutex ingest_mu_;  // one ingestReports at a time (the server has one writer thread)

  SqlSession db_;
  std::unique_ptr<IngestStatements> ingest_;   // after db_: destroyed first
  std::map<std::string, GracePeriods> grace_;  // by level; the ingest transaction's
};

}  // namespace hearth::server::sql
