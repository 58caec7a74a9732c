// The SQL store's schema: the versioned migrations of both dialects (append only), applying
// them when the store opens, the schema version and the integrity check.
#include <chrono>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

struct Migration {
  int version;
  const char* sqlite;
  const char* postgres;
};

// v11 (below): the same text in both dialects.
constexpr const char* kFleetPendingSql = R"sql(
CREATE TABLE fleet_pending (
  package TEXT NOT NULL,
  candidate TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  PRIMARY KEY (package, candidate));
CREATE INDEX fleet_pending_last_seen ON fleet_pending(last_seen);
)sql";

// v13 (below): the same text in both dialects.
constexpr const char* kOwnerSourceSql = R"sql(
ALTER TABLE devices ADD COLUMN owner_source TEXT;
UPDATE devices SET owner_source = 'device' WHERE owner IS NOT NULL;
UPDATE devices SET owner_source = 'secret' WHERE owner IS NOT NULL AND EXISTS (SELECT 1 FROM
  enroll_secrets s WHERE s.id = devices.secret_id AND s.owner = devices.owner);
UPDATE devices SET owner_source = 'it' WHERE owner IS NOT NULL AND EXISTS (SELECT 1 FROM
  audit_log a WHERE a.action = 'device.owner' AND a.target = 'device:' || devices.device_id);
ALTER TABLE exemptions ADD COLUMN expiring_alerted INTEGER NOT NULL DEFAULT 0;
)sql";

// v16 (below): the same text in both dialects.
constexpr const char* kConsoleSessionsSql = R"sql(
CREATE TABLE console_sessions (
  id_hash TEXT PRIMARY KEY,
  token_id BIGINT NOT NULL,
  role TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used_at TEXT NOT NULL);
CREATE INDEX console_sessions_token ON console_sessions(token_id);
CREATE INDEX console_sessions_last_used ON console_sessions(last_used_at);
)sql";

// v20 (below): the same text in both dialects.
constexpr const char* kOidcPendingSql = R"sql(
CREATE TABLE oidc_pending (
  id_hash TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  nonce TEXT NOT NULL,
  verifier TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE INDEX oidc_pending_created ON oidc_pending(created_at);
)sql";

// v17 (below): the same in both dialects, and on SQLite two indexes more. SQLite keeps a
// device's latest result in its row, before the columns the counts by status read (pending,
// deadline): counting read every overflow page (58 MB at 100,000 devices, 0.2 s warm);
// devices_standing holds what the count reads, and check_state_failing the failing verdicts.
// PostgreSQL keeps the result out of line (TOAST), so its scans are small, and there an index on
// last_seen (or on verdict) would stop the report's row updates from being HOT: every index of
// the table written at every report (or verdict change), which the ingest budget cannot afford.
constexpr const char* kConsoleOverviewPostgres = R"sql(
CREATE TABLE status_daily (
  day TEXT PRIMARY KEY,
  counts TEXT NOT NULL,
  recorded_at TEXT NOT NULL);
CREATE INDEX events_fleet_alerts ON events(at) WHERE type IN ('enrolment_spike',
  'duplicate_machine_id');
)sql";
constexpr const char* kConsoleOverviewSqlite = R"sql(
CREATE TABLE status_daily (
  day TEXT PRIMARY KEY,
  counts TEXT NOT NULL,
  recorded_at TEXT NOT NULL);
CREATE INDEX events_fleet_alerts ON events(at) WHERE type IN ('enrolment_spike',
  'duplicate_machine_id');
CREATE INDEX check_state_failing ON check_state(check_id, device_id) WHERE verdict = 'fail';
CREATE INDEX devices_standing ON devices(retired_at, pending, status, deadline, last_seen,
  enrolled_at);
)sql";

// Append only: a released migration is never edited.
const Migration kMigrations[] = {
    {1,
     R"sql(
CREATE TABLE enroll_secrets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  secret_hash TEXT NOT NULL UNIQUE,
  level TEXT NOT NULL,
  owner TEXT,
  uses_left INTEGER,
  uses INTEGER NOT NULL DEFAULT 0,
  expires_at TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT);
CREATE TABLE admin_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT);
CREATE TABLE policies (
  level TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (level, version));
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  owner TEXT,
  level TEXT NOT NULL,
  cert_serial TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  retired_at TEXT,
  last_seen TEXT,
  agent_version TEXT NOT NULL DEFAULT '',
  machine_id TEXT NOT NULL DEFAULT '',
  last_sequence INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'unknown',
  latest_result TEXT,
  secret_id INTEGER);
CREATE INDEX devices_status ON devices(status, device_id);
CREATE TABLE reports (
  report_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  sent_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  compliant INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX reports_device ON reports(device_id, received_at);
CREATE TABLE check_state (
  device_id TEXT NOT NULL,
  check_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  PRIMARY KEY (device_id, check_id));
CREATE TABLE events (
  cursor INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  device_id TEXT NOT NULL,
  type TEXT NOT NULL,
  check_id TEXT,
  from_verdict TEXT,
  to_verdict TEXT);
CREATE INDEX events_device ON events(device_id, type);
)sql",
     R"sql(
CREATE TABLE enroll_secrets (
  id BIGSERIAL PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  level TEXT NOT NULL,
  owner TEXT,
  uses_left BIGINT,
  uses BIGINT NOT NULL DEFAULT 0,
  expires_at TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT);
CREATE TABLE admin_tokens (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT);
CREATE TABLE policies (
  level TEXT NOT NULL,
  version BIGINT NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (level, version));
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  owner TEXT,
  level TEXT NOT NULL,
  cert_serial TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  retired_at TEXT,
  last_seen TEXT,
  agent_version TEXT NOT NULL DEFAULT '',
  machine_id TEXT NOT NULL DEFAULT '',
  last_sequence BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'unknown',
  latest_result TEXT,
  secret_id BIGINT);
CREATE INDEX devices_status ON devices(status, device_id);
CREATE TABLE reports (
  report_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  sent_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  compliant INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX reports_device ON reports(device_id, received_at);
CREATE TABLE check_state (
  device_id TEXT NOT NULL,
  check_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  PRIMARY KEY (device_id, check_id));
CREATE TABLE events (
  cursor BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  device_id TEXT NOT NULL,
  type TEXT NOT NULL,
  check_id TEXT,
  from_verdict TEXT,
  to_verdict TEXT);
CREATE INDEX events_device ON events(device_id, type);
)sql"},
    // v2: how many reports each device's spool dropped (the envelope's "dropped", summed).
    {2, "ALTER TABLE devices ADD COLUMN reports_dropped INTEGER NOT NULL DEFAULT 0",
     "ALTER TABLE devices ADD COLUMN reports_dropped BIGINT NOT NULL DEFAULT 0"},
    // v3: enrolment control and IT accounts: secrets that need approval, devices waiting for it,
    // the machine_id index for cloned-disk detection, the enrolment-spike count, event details,
    // and the append-only audit log (a trigger refuses UPDATE and DELETE; `$$` quotes a body).
    {3,
     R"sql(
ALTER TABLE enroll_secrets ADD COLUMN approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enroll_secrets ADD COLUMN spike_at TEXT;
ALTER TABLE devices ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN detail TEXT;
CREATE INDEX devices_machine ON devices(machine_id);
CREATE INDEX devices_secret ON devices(secret_id, enrolled_at);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN $$SELECT RAISE(ABORT, 'audit_log is append-only');$$ END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN $$SELECT RAISE(ABORT, 'audit_log is append-only');$$ END;
)sql",
     R"sql(
ALTER TABLE enroll_secrets ADD COLUMN approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enroll_secrets ADD COLUMN spike_at TEXT;
ALTER TABLE devices ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN detail TEXT;
CREATE INDEX devices_machine ON devices(machine_id);
CREATE INDEX devices_secret ON devices(secret_id, enrolled_at);
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT);
CREATE FUNCTION hearth_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'audit_log is append-only'; END$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION hearth_audit_log_append_only();
)sql"},
    // v4: retention finds old reports, old events and long-retired devices by time.
    {4,
     "CREATE INDEX reports_received ON reports(received_at);"
     "CREATE INDEX events_at ON events(at);"
     "CREATE INDEX devices_retired ON devices(retired_at)",
     "CREATE INDEX reports_received ON reports(received_at);"
     "CREATE INDEX events_at ON events(at);"
     "CREATE INDEX devices_retired ON devices(retired_at)"},
    // v5: certificate renewal. The serial of a certificate issued by POST /api/v1/renew that the
    // device has not used yet; the current one (cert_serial) stays valid until it does.
    {5, "ALTER TABLE devices ADD COLUMN pending_cert_serial TEXT",
     "ALTER TABLE devices ADD COLUMN pending_cert_serial TEXT"},
    // v6: a device is its key, not its serial (anyone holding the device CA key can mint a
    // certificate with a known serial): the hex SHA-256 of the SubjectPublicKeyInfo (DER) of the
    // current and of the pending certificate, required on every request. The store never kept
    // the certificates, so existing rows cannot be filled here: they stay NULL, and a device's
    // first request after the upgrade with its current serial binds the key it presents (a
    // warning names it in the log); from then on only that key is accepted. A pending renewal
    // made before the upgrade is promoted without a key and bound the same way on its first use.
    {6,
     "ALTER TABLE devices ADD COLUMN cert_key_sha256 TEXT;"
     "ALTER TABLE devices ADD COLUMN pending_cert_key_sha256 TEXT",
     "ALTER TABLE devices ADD COLUMN cert_key_sha256 TEXT;"
     "ALTER TABLE devices ADD COLUMN pending_cert_key_sha256 TEXT"},
    // v7: what reads need, kept beside each report at ingest so that no list parses one (issue
    // 12: a hostile 1 MiB result parsed again on every read), and a checksum of what was stored
    // (issue 13: bytes changed inside a page passed check-db).
    //  - reports.body_sha256, devices.latest_sha256: hex SHA-256 of the stored text, verified
    //    by check-db and whenever the text is served; reports.body_bytes bounds a history page.
    //  - devices.checks_summary: the latest report's checks as lists show them (JSON array of
    //    {id, verdict, summary, required}).
    //  - check_state (the current verdict per device and check): since when it holds, and the
    //    report that brought it; rows from before: the time of the check's last verdict_changed
    //    event, the report unknown.
    // The hashes and summaries of existing rows are filled in the same transaction
    // (SqlStore::backfill: they need a SHA-256 and a JSON parser).
    {7,
     R"sql(
ALTER TABLE reports ADD COLUMN body_sha256 TEXT;
ALTER TABLE reports ADD COLUMN body_bytes INTEGER;
ALTER TABLE devices ADD COLUMN latest_sha256 TEXT;
ALTER TABLE devices ADD COLUMN checks_summary TEXT;
ALTER TABLE check_state ADD COLUMN since TEXT;
ALTER TABLE check_state ADD COLUMN since_report_id TEXT;
ALTER TABLE check_state ADD COLUMN since_sequence INTEGER;
UPDATE reports SET body_bytes = LENGTH(CAST(body AS BLOB));
UPDATE check_state SET since = (SELECT MAX(e.at) FROM events e WHERE e.device_id =
  check_state.device_id AND e.check_id = check_state.check_id AND e.type = 'verdict_changed');
CREATE INDEX reports_device_sequence ON reports(device_id, sequence);
)sql",
     R"sql(
ALTER TABLE reports ADD COLUMN body_sha256 TEXT;
ALTER TABLE reports ADD COLUMN body_bytes BIGINT;
ALTER TABLE devices ADD COLUMN latest_sha256 TEXT;
ALTER TABLE devices ADD COLUMN checks_summary TEXT;
ALTER TABLE check_state ADD COLUMN since TEXT;
ALTER TABLE check_state ADD COLUMN since_report_id TEXT;
ALTER TABLE check_state ADD COLUMN since_sequence BIGINT;
UPDATE reports SET body_bytes = octet_length(body);
UPDATE check_state SET since = (SELECT MAX(e.at) FROM events e WHERE e.device_id =
  check_state.device_id AND e.check_id = check_state.check_id AND e.type = 'verdict_changed');
CREATE INDEX reports_device_sequence ON reports(device_id, sequence);
)sql"},
    // v8: webhooks (issue 14). The secret is kept as given: it signs every delivery (the
    // database and its encrypted backups hold it, like the keys of the state directory). A
    // delivery row is the outbox entry and then the delivery log; the trigger writes one for
    // every webhook subscribed to a new feed event's type, in the transaction that appends the
    // event. verdict_changed is delivered as check_failed (to fail) or check_fixed (fail to pass).
    {8,
     R"sql(
CREATE TABLE webhooks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  format TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE webhook_events (
  event TEXT NOT NULL,
  webhook_id INTEGER NOT NULL,
  PRIMARY KEY (event, webhook_id));
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id INTEGER NOT NULL,
  event TEXT NOT NULL,
  event_cursor INTEGER,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  next_at TEXT NOT NULL,
  claimed_until TEXT,
  last_attempt_at TEXT,
  last_http_status INTEGER,
  last_error TEXT,
  finished_at TEXT);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(status, webhook_id, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, id);
CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
  BEGIN $$INSERT INTO webhook_deliveries(webhook_id, event, event_cursor, created_at, next_at)
  SELECT s.webhook_id, s.event, NEW.cursor, NEW.at, NEW.at FROM webhook_events s
  WHERE s.event = CASE WHEN NEW.type <> 'verdict_changed' THEN NEW.type
    WHEN NEW.to_verdict = 'fail' THEN 'check_failed'
    WHEN NEW.from_verdict = 'fail' AND NEW.to_verdict = 'pass' THEN 'check_fixed' END;$$ END;
)sql",
     R"sql(
CREATE TABLE webhooks (
  id BIGSERIAL PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  format TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE webhook_events (
  event TEXT NOT NULL,
  webhook_id BIGINT NOT NULL,
  PRIMARY KEY (event, webhook_id));
CREATE TABLE webhook_deliveries (
  id BIGSERIAL PRIMARY KEY,
  webhook_id BIGINT NOT NULL,
  event TEXT NOT NULL,
  event_cursor BIGINT,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts BIGINT NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  next_at TEXT NOT NULL,
  claimed_until TEXT,
  last_attempt_at TEXT,
  last_http_status BIGINT,
  last_error TEXT,
  finished_at TEXT);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(status, webhook_id, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, id);
CREATE FUNCTION hearth_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN
  INSERT INTO webhook_deliveries(webhook_id, event, event_cursor, created_at, next_at)
  SELECT s.webhook_id, s.event, NEW."cursor", NEW.at, NEW.at FROM webhook_events s
  WHERE s.event = CASE WHEN NEW.type <> 'verdict_changed' THEN NEW.type
    WHEN NEW.to_verdict = 'fail' THEN 'check_failed'
    WHEN NEW.from_verdict = 'fail' AND NEW.to_verdict = 'pass' THEN 'check_fixed' END;
  RETURN NULL;
  END$$;
CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION hearth_webhook_outbox();
)sql"},
    // v9: the compliance workflow's time in state (issue 14). Per device, kept at ingest and
    // when an exemption or a deadline changes it: failing_since (since when it has not been
    // compliant), deadline (the earliest fix_by of a failing required check within its grace:
    // past it the device is noncompliant without a new report; lists compare it with the time
    // asked about) and alerted (1 while a device_noncompliant event stands without a
    // device_compliant after it). Per check: its deadline (fix_by) and whether it was required.
    // Exemptions: a device's (device_id) or an owner's (owner) check, until a time. Rows from
    // before: a device not compliant counts as failing since its oldest failing or unknown
    // check, and one noncompliant already had its event; deadlines come with the next report.
    // The outbox trigger of v8 delivers the new event types as they are.
    {9,
     R"sql(
ALTER TABLE devices ADD COLUMN failing_since TEXT;
ALTER TABLE devices ADD COLUMN deadline TEXT;
ALTER TABLE devices ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE check_state ADD COLUMN fix_by TEXT;
ALTER TABLE check_state ADD COLUMN required INTEGER NOT NULL DEFAULT 1;
CREATE TABLE exemptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT,
  owner TEXT,
  check_id TEXT NOT NULL,
  until_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at TEXT,
  expired_at TEXT);
CREATE INDEX exemptions_device ON exemptions(device_id);
CREATE INDEX exemptions_owner ON exemptions(owner);
CREATE INDEX exemptions_until ON exemptions(until_at);
UPDATE devices SET failing_since = (SELECT MIN(COALESCE(c.since, devices.last_seen)) FROM
  check_state c WHERE c.device_id = devices.device_id AND c.verdict IN ('fail', 'unknown')),
  alerted = CASE WHEN status = 'noncompliant' THEN 1 ELSE 0 END WHERE status <> 'compliant';
UPDATE devices SET failing_since = last_seen WHERE failing_since IS NULL AND
  status <> 'compliant' AND last_seen IS NOT NULL;
CREATE INDEX devices_failing ON devices(failing_since);
CREATE INDEX devices_failing_order ON devices(COALESCE(failing_since, '~'), device_id);
CREATE INDEX devices_deadline ON devices(deadline);
)sql",
     R"sql(
ALTER TABLE devices ADD COLUMN failing_since TEXT;
ALTER TABLE devices ADD COLUMN deadline TEXT;
ALTER TABLE devices ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE check_state ADD COLUMN fix_by TEXT;
ALTER TABLE check_state ADD COLUMN required INTEGER NOT NULL DEFAULT 1;
CREATE TABLE exemptions (
  id BIGSERIAL PRIMARY KEY,
  device_id TEXT,
  owner TEXT,
  check_id TEXT NOT NULL,
  until_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at TEXT,
  expired_at TEXT);
CREATE INDEX exemptions_device ON exemptions(device_id);
CREATE INDEX exemptions_owner ON exemptions(owner);
CREATE INDEX exemptions_until ON exemptions(until_at);
UPDATE devices SET failing_since = (SELECT MIN(COALESCE(c.since, devices.last_seen)) FROM
  check_state c WHERE c.device_id = devices.device_id AND c.verdict IN ('fail', 'unknown')),
  alerted = CASE WHEN status = 'noncompliant' THEN 1 ELSE 0 END WHERE status <> 'compliant';
UPDATE devices SET failing_since = last_seen WHERE failing_since IS NULL AND
  status <> 'compliant' AND last_seen IS NOT NULL;
CREATE INDEX devices_failing ON devices(failing_since);
CREATE INDEX devices_failing_order ON devices(COALESCE(failing_since, '~'), device_id);
CREATE INDEX devices_deadline ON devices(deadline);
)sql"},
    // v10: the period report (issue 14) reads a page of devices' events of one type within a
    // time range: (device_id, type, at) serves it, and every query events_device (device_id,
    // type) served, which it replaces. (v9 is the time-in-state migration of the same issue.)
    {10,
     "CREATE INDEX events_device_type_at ON events(device_id, type, at);"
     "DROP INDEX events_device",
     "CREATE INDEX events_device_type_at ON events(device_id, type, at);"
     "DROP INDEX events_device"},
    // v11: the fleet's first-seen dates of pending security updates (issue 14 item 6): the
    // earliest received_at of a report naming (package, candidate) pending, whichever device sent
    // it; last_seen (written at most daily) lets retention drop what no device reports any more.
    // No device id: which PC has what pending stays in the reports.
    {11, kFleetPendingSql, kFleetPendingSql},
    // v12: certificate expiry (issue 14, certificate_expiring). The server records the validity
    // of each certificate it issues (the current and the pending one; a promotion moves it), and
    // the serial of the certificate a certificate_expiring event was raised for (once per
    // certificate). Certificates issued before this version are not known: NULL until renewal.
    {12,
     "ALTER TABLE devices ADD COLUMN cert_not_after TEXT;"
     "ALTER TABLE devices ADD COLUMN pending_cert_not_after TEXT;"
     "ALTER TABLE devices ADD COLUMN cert_expiry_event_serial TEXT",
     "ALTER TABLE devices ADD COLUMN cert_not_after TEXT;"
     "ALTER TABLE devices ADD COLUMN pending_cert_not_after TEXT;"
     "ALTER TABLE devices ADD COLUMN cert_expiry_event_serial TEXT"},
    // v13: who set a device's owner (owner_source): 'it' (the admin API, the CLI, an owners
    // import), 'secret' (the owner IT bound to a per-person enrolment secret) or 'device' (what
    // the PC declared when it enrolled with a shared secret). An owner's exemption covers only
    // devices whose owner IT set ('it' or 'secret'): any PC holding the rollout secret can
    // declare itself "bob". Rows from before: an owner is IT's when an owner change is in the
    // audit log for the device or it came with a per-person secret, else the device's. And
    // exemptions.expiring_alerted: its exemption_expiring event was raised (once, across servers).
    {13, kOwnerSourceSql, kOwnerSourceSql},
    // v14: per check, since when its failure counts against the device (grace_from: its grace
    // period counts from then, not from when it started failing: a check that becomes required
    // on a device already failing it gets its whole grace; an unknown between two failures
    // does not restart it). Rows from before: a required failing check counts from its since,
    // as its deadline did.
    {14,
     "ALTER TABLE check_state ADD COLUMN grace_from TEXT;"
     "UPDATE check_state SET grace_from = since WHERE verdict = 'fail' AND required = 1",
     "ALTER TABLE check_state ADD COLUMN grace_from TEXT;"
     "UPDATE check_state SET grace_from = since WHERE verdict = 'fail' AND required = 1"},
    // v15: the period report reads what held at each time (issue 14 item 5). history_changes:
    // a check's `required` flag as reports changed it (kind 'required', values "1"/"0") and a
    // device's level as `device level` changed it (kind 'level'), each with the value before;
    // a report reads the value at a time backwards from the first change after it, else the
    // current one. Nothing was recorded before this version: older periods show the flags and
    // levels that held when it was applied. retention_horizon: before when retention has
    // deleted history (feed events, reports, retired devices); unknown (NULL) for pruning
    // before this version. audit_log_at: a report reads the audit log of its period only.
    // PostgreSQL: the device list sorts by failing_since in "C" (devices_failing_order_c), where
    // the NULL placeholder '~' sorts last whatever the database's collation.
    // devices_active_failing: `device list --failing-for N` finds the page of active devices
    // failing since before a time in the index alone (SQLite, without statistics, took
    // devices_retired and read every active device's row).
    {15,
     "CREATE TABLE history_changes (device_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT "
     "NULL, check_id TEXT NOT NULL DEFAULT '', from_value TEXT, to_value TEXT NOT NULL);"
     "CREATE INDEX history_changes_device ON history_changes(device_id, kind, at);"
     "CREATE INDEX history_changes_at ON history_changes(at);"
     "CREATE TABLE retention_horizon (id INTEGER PRIMARY KEY, pruned_before TEXT);"
     "INSERT INTO retention_horizon(id, pruned_before) VALUES (1, NULL);"
     "CREATE INDEX audit_log_at ON audit_log(at);"
     "CREATE INDEX devices_active_failing ON devices(retired_at, failing_since, device_id)",
     "CREATE TABLE history_changes (device_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT "
     "NULL, check_id TEXT NOT NULL DEFAULT '', from_value TEXT, to_value TEXT NOT NULL);"
     "CREATE INDEX history_changes_device ON history_changes(device_id, kind, at);"
     "CREATE INDEX history_changes_at ON history_changes(at);"
     "CREATE TABLE retention_horizon (id BIGINT PRIMARY KEY, pruned_before TEXT);"
     "INSERT INTO retention_horizon(id, pruned_before) VALUES (1, NULL);"
     "CREATE INDEX audit_log_at ON audit_log(at);"
     "CREATE INDEX devices_failing_order_c ON devices((COALESCE(failing_since, '~') COLLATE "
     "\"C\"), device_id);"
     "CREATE INDEX devices_active_failing ON devices(retired_at, failing_since, device_id)"},
    // v16: the IT console's sessions (issue 15), in the database so that several servers share
    // them. Only a SHA-256 of the session id is kept (the id is the cookie); the token it was
    // opened with (its revocation ends the session), the role, the CSRF token the page sends
    // back with every write, and when it was opened and last used (idle and absolute expiry).
    {16, kConsoleSessionsSql, kConsoleSessionsSql},
    // v17: the IT console's overview (issue 15). Each day's device counts by status (a JSON
    // object, the day's last count: the trend chart); the fleet's alerts found by time without
    // reading every event, and the failing checks counted without reading every device (partial
    // indexes: the ingest path touches them only for those events and verdicts); on SQLite the
    // counts by status from an index (above).
    {17, kConsoleOverviewSqlite, kConsoleOverviewPostgres},
    // v18: console sessions opened with OpenID Connect (issue 15) have no token (token_id 0):
    // `subject` is the name they are shown and audited by ("oidc:" and the person's name at the
    // provider); NULL for a session opened with a token.
    {18, "ALTER TABLE console_sessions ADD COLUMN subject TEXT",
     "ALTER TABLE console_sessions ADD COLUMN subject TEXT"},
    // v19: feed cursors in commit order across servers (issue 18), PostgreSQL only (SQLite has
    // one writer: its transactions commit in the order they draw cursors). A cursor drawn at
    // insert let a consumer read cursor 11 (committed) before 10 (committed later by another
    // server's transaction) and never see 10. Now every event's final cursor is drawn at commit:
    // a deferred trigger takes a transaction-level advisory lock (held until the commit is
    // visible), draws the next value of the same sequence, renumbers the row and writes its
    // outbox deliveries (the trigger of v8 moves here, so deliveries carry the final cursor and
    // their ids follow the commit order too). Cursors committed later are always higher. Only
    // the last step of a commit that appends events waits for another's; no lock is taken while
    // the transaction still takes others (no deadlock), and existing cursors stay as they are.
    {19, "",
     R"sql(
CREATE FUNCTION hearth_events_commit_order() RETURNS trigger LANGUAGE plpgsql AS
  $$DECLARE next_cursor BIGINT;
  BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('hearth.' || current_schema() || '.feed', 0));
  next_cursor := nextval('events_cursor_seq');
  UPDATE events SET "cursor" = next_cursor WHERE "cursor" = NEW."cursor";
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_deliveries(webhook_id, event, event_cursor, created_at, next_at)
  SELECT s.webhook_id, s.event, next_cursor, NEW.at, NEW.at FROM webhook_events s
  WHERE s.event = CASE WHEN NEW.type <> 'verdict_changed' THEN NEW.type
    WHEN NEW.to_verdict = 'fail' THEN 'check_failed'
    WHEN NEW.from_verdict = 'fail' AND NEW.to_verdict = 'pass' THEN 'check_fixed' END;
  RETURN NULL;
  END$$;
DROP TRIGGER events_webhook_outbox ON events;
CREATE CONSTRAINT TRIGGER events_commit_order AFTER INSERT ON events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hearth_events_commit_order();
)sql"},
    // v20: OpenID Connect sign-ins in progress (issue 18), in the database so that the
    // provider's answer may reach another server than the one that started the sign-in: the
    // SHA-256 of the id in the browser's cookie, and state, nonce and PKCE verifier (live for
    // ten minutes, used once).
    {20, kOidcPendingSql, kOidcPendingSql},
};

// Splits a migration script into statements at semicolons, except inside `$$ ... $$` (a
// PostgreSQL function body, or a SQLite trigger body). SQLite has no dollar quoting: there the
// `$$` marks are removed. No semicolons inside our string literals.
std::vector<std::string> statements(const std::string& script, Dialect dialect) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  auto flush = [&] {
    if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
    current.clear();
  };
  for (size_t i = 0; i < script.size(); ++i) {
    if (script.compare(i, 2, "$$") == 0) {
      quoted = !quoted;
      if (dialect == Dialect::kPostgres) current += "$$";
      ++i;
      continue;
    }
    if (script[i] == ';' && !quoted) {
      flush();
      continue;
    }
    current += script[i];
  }
  flush();
  return out;
}

}  // namespace

Status SqlStore::open() {
  return guard("open database", [&]() -> Status {
    db_.openWriter();
    HEARTH_RETURN_IF_ERROR(migrate());
    // Reads (device authentication on every request, the feed) use their own connections, so
    // they never wait behind the writer's commit (WAL readers do not block the writer).
    db_.openReaders();
    return OkStatus();
  });
}

Status SqlStore::openReadOnly() {
  return guard("open database read-only", [&]() -> Status {
    db_.openWriter(/*read_only=*/true);
    return OkStatus();
  });
}

Status SqlStore::migrate() {
  Session& session = db_.writer();
  session << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
             "applied_at TEXT NOT NULL)",
      now;
  Poco::Int64 current = 0;
  session << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
  std::vector<Poco::Int64> applied_list;
  session << "SELECT version FROM schema_migrations", into(applied_list), now;
  std::set<Poco::Int64> applied(applied_list.begin(), applied_list.end());
  int latest = kMigrations[std::size(kMigrations) - 1].version;
  if (current > latest) {
    return FailedPreconditionError("the database schema is version " + std::to_string(current) +
                                   ", newer than this hearth-server knows (" +
                                   std::to_string(latest) + "); upgrade hearth-server");
  }
  // Every migration not applied yet, in order: by set, not by "above the highest applied", so
  // that one added below a version an older build already applied still runs.
  Dialect dialect = db_.dialect();
  for (const auto& m : kMigrations) {
    if (applied.count(m.version) != 0) continue;
    HEARTH_RETURN_IF_ERROR(db_.inTransaction([&]() -> Status {
      for (const auto& stmt :
           statements(dialect == Dialect::kSqlite ? m.sqlite : m.postgres, dialect)) {
        session << stmt, now;
      }
      // What SQL alone cannot fill (a SHA-256, a parsed summary), in the same transaction: an
      // interrupted upgrade leaves no row without them.
      if (m.version == 7) {
        if (Status filled = backfill(); !filled.ok()) return filled;
      }
      Poco::Int64 v = m.version;
      std::string at = fmt(std::chrono::system_clock::now());
      db_.exec("INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)",
               [&](Statement& st) { st, use(v), use(at); });
      return OkStatus();
    }));
  }
  return OkStatus();
}

StatusOr<int> SqlStore::schemaVersion() {
  int version = 0;
  Status s = db_.write("schema version", [&]() -> Status {
    Poco::Int64 v = 0;
    db_.writer() << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(v), now;
    version = static_cast<int>(v);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return version;
}

StatusOr<std::string> SqlStore::checkIntegrity() {
  std::string out;
  Status s = db_.write("check the database", [&]() -> Status {
    Session& session = db_.writer();
    if (db_.dialect() == Dialect::kSqlite) {
      std::vector<std::string> rows;
      session << "PRAGMA integrity_check", into(rows), now;
      for (const auto& r : rows) out += (out.empty() ? "" : "\n") + r;
    } else {
      // PostgreSQL checks its own pages (checksums, WAL); here: every table is readable.
      for (const char* table :
           {"schema_migrations", "enroll_secrets", "admin_tokens", "policies", "devices", "reports",
            "check_state", "events", "audit_log", "webhooks", "webhook_events",
            "webhook_deliveries", "fleet_pending", "exemptions", "history_changes",
            "retention_horizon", "console_sessions", "status_daily", "oidc_pending"}) {
        Poco::Int64 n = 0;
        session << std::string("SELECT COUNT(*) FROM ") + table, into(n), now;
      }
      out = "ok";
    }
    // What a row holds, which neither check sees (a sound file can hold changed bytes): the
    // stored results against their SHA-256. Only in a sound file (reading a damaged one fails).
    if (out != "ok") return OkStatus();
    std::vector<std::string> damaged = verifyChecksums();
    for (size_t i = 0; i < damaged.size(); ++i) out = (i == 0 ? "" : out + "\n") + damaged[i];
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlStore::probe(std::chrono::seconds quiet) {
  if (db_.quietFor(HealthRecord::Kind::kRead, quiet)) {
    // Every row of the devices table (the table every request reads), so a damaged page in it
    // is found on an idle server too; /metrics reads as much at each scrape.
    (void)db_.readRows("health probe: read devices",
                       "SELECT device_id, retired_at FROM devices WHERE retired_at IS NULL",
                       [](RecordSet&) { return 0; });
  }
  if (db_.quietFor(HealthRecord::Kind::kWrite, quiet)) {
    // One row written again as it is, committed durably: the write lock, the disk and (on
    // PostgreSQL) the connection all have to work, and nothing changes. PostgreSQL locks per
    // table: the probe also takes the lock every write to the tables that requests write needs,
    // so a table locked by another session fails it as it fails them.
    (void)db_.transaction("health probe: write", [&]() -> Status {
      if (db_.dialect() == Dialect::kPostgres) {
        db_.exec(
            "LOCK TABLE devices, reports, check_state, events, audit_log, enroll_secrets IN ROW "
            "EXCLUSIVE MODE",
            [](Statement&) {});
      }
      db_.exec(
          "UPDATE schema_migrations SET applied_at = applied_at "
          "WHERE version = (SELECT MAX(version) FROM schema_migrations)",
          [](Statement&) {});
      return OkStatus();
    });
  }
  return db_.health();
}

StatusOr<bool> SqlStore::runExclusive(const std::string& job, const std::function<void()>& run) {
  return db_.exclusive("periodic job lock", "job." + job, run);
}

}  // namespace hearth::server::sql
