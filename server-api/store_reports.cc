// The SQL store's reports: the ingest hot path (a batch of reports in one transaction, with
// the device's latest state, per-check verdicts and verdict_changed events), a device's history
// and missing reports, the feed, and staleness.
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hearth/policy.h"
#include "hearth/protocol/crypto.h"
#include "hearth/server/standing.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

IngestResult ingestResult(IngestOutcome outcome, int64_t previous_sequence) {
  IngestResult r;
  r.outcome = outcome;
  r.previous_sequence = previous_sequence;
  return r;
}

std::optional<TimePoint> optTimeText(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return parseTime(s);
}

Nullable<std::string> nullableTimeOf(const std::optional<TimePoint>& t) {
  return t ? Nullable<std::string>(fmt(*t)) : Nullable<std::string>();
}

// A history entry: the stored text as it is (not parsed), verified against its SHA-256 (every
// row has one from schema 7 on; check-db names one without).
StoredReport reportRow(RecordSet& rs) {
  StoredReport r;
  r.report_id = str(rs, "report_id");
  r.sequence = integer(rs, "sequence");
  r.sent_at = str(rs, "sent_at");
  r.received_at = parseTime(str(rs, "received_at"));
  r.compliant = integer(rs, "compliant") != 0;
  r.result_json = str(rs, "body");
  auto hash = optString(rs, "body_sha256");
  if (hash && protocol::Sha256Hex(r.result_json) != *hash) {
    r.result_json.clear();
    r.damaged = true;
  }
  return r;
}

}  // namespace

StatusOr<std::vector<IngestResult>> SqlStore::ingestReports(const std::vector<NewReport>& reports) {
  std::vector<IngestResult> outcomes;
  std::lock_guard<std::mutex> lock(ingest_mu_);
  fleetTransactionEnded(false);
  Status s = db_.transaction("store reports", [&]() -> Status {
    readBatchStanding(ingestStatements());
    for (const auto& r : reports) {
      HEARTH_ASSIGN_OR_RETURN(IngestResult result, ingestOne(r));
      // Pending updates are dated by the first report that names them, whichever approved
      // device sent it (a device awaiting approval reads the dates but writes none: it could
      // invent old ones); a report sent again is answered with the same dates.
      if (result.outcome != IngestOutcome::kSequenceReused) {
        result.fleet_first_seen = noteFleetPending(r, ingest_->pending == 0);
      }
      outcomes.push_back(std::move(result));
    }
    return OkStatus();
  });
  fleetTransactionEnded(s.ok());
  if (!s.ok()) {
    // A statement that failed half-way is prepared again rather than trusted (on PostgreSQL
    // the one that failed is kept, never destroyed: HotStatement says why).
    ingest_.reset();
    return s;
  }
  return outcomes;
}

StatusOr<int64_t> SqlStore::missingReports(const std::string& device_id) {
  int64_t missing = 0;
  Status s = db_.read("count missing reports", [&](Session& db) -> Status {
    std::string id = device_id;
    Poco::Int64 last = 0, have = 0;
    db_.execOn(db, "SELECT last_sequence FROM devices WHERE device_id = ?",
               [&](Statement& st) { st, use(id), into(last); });
    db_.execOn(db,
               "SELECT COUNT(DISTINCT sequence) FROM reports WHERE device_id = ? AND sequence <= ?",
               [&](Statement& st) { st, use(id), use(last), into(have); });
    missing = last - have;
    return OkStatus();
  });
  if (!s.ok()) return s;
  return missing;
}

StatusOr<std::vector<StoredReport>> SqlStore::deviceHistory(const std::string& device_id, int limit,
                                                            int64_t before, bool* more) {
  std::string id = device_id;
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  Poco::Int64 below = before > 0 ? before : std::numeric_limits<Poco::Int64>::max();
  const std::string where = " FROM reports WHERE device_id = ? AND sequence < ? ";
  const std::string order = "ORDER BY sequence DESC, received_at DESC LIMIT ?";
  // First the sizes (small rows), to cut the page at kHistoryPageBytes; then that many bodies.
  Poco::Int64 probe = lim + 1;
  HEARTH_ASSIGN_OR_RETURN(
      auto sizes,
      db_.readRows(
          "read history sizes", "SELECT sequence, COALESCE(body_bytes, 0) AS n" + where + order,
          [](RecordSet& rs) { return std::make_pair(integer(rs, "sequence"), integer(rs, "n")); },
          id, below, probe));
  size_t take = 0;
  int64_t bytes = 0;
  while (take < sizes.size() && take < static_cast<size_t>(lim)) {
    bool same_sequence = take > 0 && sizes[take].first == sizes[take - 1].first;
    if (take > 0 && !same_sequence && bytes + sizes[take].second > kHistoryPageBytes) break;
    bytes += sizes[take].second;
    ++take;
  }
  // A sequence stored twice (before issue 13 refused that) stays on one page.
  while (take > 0 && take < sizes.size() && sizes[take].first == sizes[take - 1].first) ++take;
  if (more != nullptr) *more = take < sizes.size();
  if (take == 0) return std::vector<StoredReport>();
  Poco::Int64 n = static_cast<Poco::Int64>(take);
  return db_.readRows("read history",
                      "SELECT report_id, sequence, sent_at, received_at, compliant, body, "
                      "body_sha256" +
                          where + order,
                      reportRow, id, below, n);
}

StatusOr<std::vector<FeedEvent>> SqlStore::feed(int64_t after, int limit) {
  Poco::Int64 a = after;
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  return db_.readRows("read feed",
                      "SELECT e.cursor, e.at, e.device_id, e.type, e.check_id, e.from_verdict, "
                      "e.to_verdict, e.detail, d.hostname, d.owner FROM events e LEFT JOIN "
                      "devices d ON d.device_id = e.device_id WHERE e.cursor > ? "
                      "ORDER BY e.cursor LIMIT ?",
                      feedEventRow, a, lim);
}

StatusOr<int> SqlStore::markStale(TimePoint now_time, std::chrono::seconds window) {
  int added = 0;
  Status s = db_.transaction("mark stale devices", [&]() -> Status {
    std::string cutoff = fmt(now_time - window), at = fmt(now_time), type = "stale";
    // A device goes stale once per silence: no stale event since its last report.
    size_t n = db_.exec(
        "INSERT INTO events(at, device_id, type) SELECT ?, d.device_id, ? FROM devices d "
        "WHERE d.retired_at IS NULL AND COALESCE(d.last_seen, d.enrolled_at) < ? "
        "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.device_id = d.device_id "
        "AND e.type = 'stale' AND e.at >= COALESCE(d.last_seen, d.enrolled_at))",
        [&](Statement& st) { st, use(at), use(type), use(cutoff); });
    added = static_cast<int>(n);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return added;
}

SqlStore::IngestStatements& SqlStore::ingestStatements() {
  if (ingest_) return *ingest_;
  auto s = std::make_unique<IngestStatements>();
  s->insert_report = db_.prepareHot(
      "INSERT INTO reports(report_id, device_id, sequence, sent_at, received_at, compliant, "
      "body, body_sha256, body_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (report_id) DO NOTHING");
  s->insert_report->use(s->report_id)
      .use(s->device)
      .use(s->seq)
      .use(s->sent)
      .use(s->received)
      .use(s->compliant)
      .use(s->body)
      .use(s->body_sha256)
      .use(s->body_bytes);
  // Duplicates only (a report sent again): what the server holds right below it.
  s->select_below = db_.prepareHot(
      "SELECT COALESCE(MAX(sequence), 0) FROM reports WHERE device_id = ? AND sequence < ?");
  s->select_below->use(s->device).use(s->seq).into(s->last_seq);
  // A sequence this device already used for another report (issue 13, defect 4).
  s->select_reused = db_.prepareHot(
      "SELECT COUNT(*) FROM reports WHERE device_id = ? AND sequence = ? AND report_id <> ?");
  s->select_reused->use(s->device).use(s->seq).use(s->report_id).into(s->reused);
  s->select_highest =
      db_.prepareHot("SELECT COALESCE(MAX(sequence), 0) FROM reports WHERE device_id = ?");
  s->select_highest->use(s->device).into(s->highest);
  s->update_seen = db_.prepareHot(
      "UPDATE devices SET last_seen = ?, reports_dropped = reports_dropped + ? "
      "WHERE device_id = ?");
  s->update_seen->use(s->received).use(s->dropped).use(s->device);
  // The device as the report's standing needs it, with its last_sequence and whether it awaits
  // approval, in one round trip before the report is stored. Its owner only when IT set it
  // (kItOwnerSources), else ''. On PostgreSQL the row is locked until commit: another server
  // deciding the same device (its own ingest, an exemption, the expiry pass) reads it after this
  // one's event, not before (one event, not two).
  s->select_device = db_.prepareHot(
      std::string("SELECT d.last_sequence, d.machine_id, d.pending, d.level, CASE WHEN "
                  "d.owner_source IN ") +
      kItOwnerSources + " THEN COALESCE(d.owner, '') ELSE '' END, d.failing_since, d.alerted" +
      " FROM devices d WHERE d.device_id = ?" + rowLock("d"));
  s->select_device->use(s->device)
      .into(s->last_seq)
      .into(s->prev_machine)
      .into(s->pending)
      .into(s->level)
      .into(s->owner)
      .into(s->failing_since)
      .into(s->alerted);
  // PostgreSQL: the level's newest policy version (for grace periods) and whether any exemption
  // in force names the device or its IT-set owner (only then are they read), as another server
  // may have changed them during the batch. A statement of their own, after the device's lock
  // is taken: a subquery of the locking SELECT would read them as they were before it waited
  // for another server's transaction on the device (READ COMMITTED re-reads the locked row
  // only). On SQLite they are read once per batch (readBatchStanding): its writer transaction
  // excludes every other writer.
  if (db_.dialect() == Dialect::kPostgres) {
    s->select_standing = db_.prepareHot(
        "SELECT COALESCE((SELECT MAX(p.version) FROM policies p WHERE p.level = ?), 0), "
        "(SELECT COUNT(*) FROM exemptions e WHERE e.revoked_at IS NULL AND e.expired_at IS NULL "
        "AND (e.device_id = ? OR (e.owner = ? AND e.owner <> '')))");
    s->select_standing->use(s->level)
        .use(s->device)
        .use(s->owner)
        .into(s->policy_version)
        .into(s->exemptions);
  }
  s->update_device = db_.prepareHot(
      "UPDATE devices SET last_seen = ?, agent_version = ?, machine_id = ?, last_sequence = ?, "
      "status = ?, latest_result = ?, latest_sha256 = ?, checks_summary = ?, "
      "reports_dropped = reports_dropped + ?, failing_since = ?, deadline = ?, alerted = ? "
      "WHERE device_id = ?");
  s->update_device->use(s->received)
      .use(s->agent)
      .use(s->machine)
      .use(s->seq)
      .use(s->status)
      .use(s->body)
      .use(s->body_sha256)
      .use(s->summary)
      .use(s->dropped)
      .use(s->failing_since)
      .use(s->deadline)
      .use(s->alerted)
      .use(s->device);
  s->select_states = db_.prepareHot(
      "SELECT check_id, verdict, COALESCE(since, ''), COALESCE(fix_by, ''), required, "
      "COALESCE(grace_from, '') FROM check_state WHERE device_id = ?");
  s->select_states->use(s->device)
      .into(s->state_ids)
      .into(s->state_verdicts)
      .into(s->state_since)
      .into(s->state_fix_by)
      .into(s->state_required)
      .into(s->state_grace_from);
  // A verdict holds since the report that brought it (issue 14's failing-since and deadlines).
  // Its verdict_changed event comes with it: on PostgreSQL in the same statement (one round trip
  // per changed check, not two: eventWithState), on SQLite by insert_event after it.
  const bool pg = db_.dialect() == Dialect::kPostgres;
  const std::string event =
      "INSERT INTO events(at, device_id, type, check_id, from_verdict, to_verdict) "
      "VALUES (?, ?, ?, ?, ?, ?)";
  auto eventWithState = [&](const std::string& state_write) {
    return pg ? "WITH state AS (" + state_write + ") " + event : state_write;
  };
  auto useEvent = [&](HotStatement& st) {
    st.use(s->received)
        .use(s->device)
        .use(s->event_type)
        .use(s->check_id)
        .use(s->old_verdict)
        .use(s->verdict);
  };
  s->insert_state = db_.prepareHot(eventWithState(
      "INSERT INTO check_state(device_id, check_id, verdict, since, since_report_id, "
      "since_sequence, fix_by, required, grace_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s->insert_state->use(s->device)
      .use(s->check_id)
      .use(s->verdict)
      .use(s->received)
      .use(s->report_id)
      .use(s->seq)
      .use(s->fix_by)
      .use(s->required)
      .use(s->grace_from);
  if (pg) useEvent(*s->insert_state);
  s->update_state = db_.prepareHot(eventWithState(
      "UPDATE check_state SET verdict = ?, since = ?, since_report_id = ?, since_sequence = ?, "
      "fix_by = ?, required = ?, grace_from = ? WHERE device_id = ? AND check_id = ?"));
  s->update_state->use(s->verdict)
      .use(s->received)
      .use(s->report_id)
      .use(s->seq)
      .use(s->fix_by)
      .use(s->required)
      .use(s->grace_from)
      .use(s->device)
      .use(s->check_id);
  if (pg) useEvent(*s->update_state);
  // The same verdict under another policy (a grace period or `required` changed).
  s->update_standing = db_.prepareHot(
      "UPDATE check_state SET fix_by = ?, required = ?, grace_from = ? WHERE device_id = ? AND "
      "check_id = ?");
  s->update_standing->use(s->fix_by)
      .use(s->required)
      .use(s->grace_from)
      .use(s->device)
      .use(s->check_id);
  s->select_exemptions = db_.prepareHot(
      "SELECT check_id, MAX(until_at) FROM exemptions WHERE revoked_at IS NULL AND expired_at IS "
      "NULL AND until_at > ? AND (device_id = ? OR (owner = ? AND owner <> '')) GROUP BY "
      "check_id");
  s->select_exemptions->use(s->received)
      .use(s->device)
      .use(s->owner)
      .into(s->exempt_checks)
      .into(s->exempt_until);
  if (!pg) {
    s->insert_event = db_.prepareHot(event);
    useEvent(*s->insert_event);
  }
  s->insert_device_event =
      db_.prepareHot("INSERT INTO events(at, device_id, type) VALUES (?, ?, ?)");
  s->insert_device_event->use(s->received).use(s->device).use(s->device_event);
  ingest_ = std::move(s);
  return *ingest_;
}

StatusOr<IngestResult> SqlStore::ingestOne(const NewReport& r) {
  IngestStatements& s = ingestStatements();
  s.report_id = r.report_id;
  s.device = r.device_id;
  s.sent = r.sent_at;
  s.received = fmt(r.received_at);
  s.body = json::write(r.result);
  s.body_sha256 = protocol::Sha256Hex(s.body);
  s.body_bytes = static_cast<Poco::Int64>(s.body.size());
  const json::Value* c = r.result.find("compliant");
  s.compliant = (c != nullptr && c->isBool() && c->asBool()) ? 1 : 0;
  s.seq = r.sequence;
  s.dropped = r.dropped;
  // The device first (one round trip: on PostgreSQL its row is locked from here until commit,
  // so its last_sequence cannot move under this report and is not read again after the insert).
  s.last_seq = 0;
  s.prev_machine.clear();
  s.pending = 0;
  s.owner.clear();
  s.failing_since = Nullable<std::string>();
  s.alerted = 0;
  s.policy_version = 0;
  s.exemptions = 0;
  HEARTH_RETURN_IF_ERROR(s.select_device->execute().status());
  // Another report under a sequence already used (the agent lost its counter): refused, with
  // the number to use instead; the agent renumbers the report and sends it again. Only a
  // sequence at or below the device's highest can be taken (the usual new report is above it:
  // one primary-key read, no scan of its reports).
  s.reused = 0;
  if (s.seq <= s.last_seq) HEARTH_RETURN_IF_ERROR(s.select_reused->execute().status());
  if (s.reused > 0) {
    s.highest = 0;
    HEARTH_RETURN_IF_ERROR(s.select_highest->execute().status());
    IngestResult refused = ingestResult(IngestOutcome::kSequenceReused, s.last_seq);
    refused.next_sequence = std::max<int64_t>(s.last_seq, s.highest) + 1;
    return refused;
  }
  // A repeated report_id changes nothing, so its "dropped" is not counted twice.
  HEARTH_ASSIGN_OR_RETURN(size_t inserted, s.insert_report->execute());
  if (inserted == 0) {
    // Sent again, e.g. after an agent crashed before it saw the acknowledgement: answer with
    // the highest sequence held below it, so that a loss this report revealed the first time
    // (a restore) is revealed again.
    s.last_seq = 0;
    HEARTH_RETURN_IF_ERROR(s.select_below->execute().status());
    return ingestResult(IngestOutcome::kDuplicate, s.last_seq);
  }
  IngestResult stored = ingestResult(IngestOutcome::kStored, s.last_seq);

  // The device's latest state follows the highest sequence, not arrival order: a report sent
  // again after a restore (older than the device's latest) is kept as history only.
  if (s.seq < s.last_seq) {
    HEARTH_RETURN_IF_ERROR(s.update_seen->execute().status());
    return stored;
  }
  if (s.select_standing) {
    HEARTH_RETURN_IF_ERROR(s.select_standing->execute().status());
  } else {
    auto version = s.policy_versions.find(s.level);
    s.policy_version = version == s.policy_versions.end() ? 0 : version->second;
    s.exemptions = s.any_exemptions ? 1 : 0;
  }
  s.agent = r.agent_version;
  s.machine = r.machine_id;
  // Rare: only when the device's machine_id changes (its first report, usually).
  if (!s.machine.empty() && s.machine != s.prev_machine)
    noteMachineId(s.device, s.machine, s.received);

  // Each check's standing: since when its verdict holds (from check_state while it is the same),
  // its deadline under the level's grace period, its exemption; verdict_changed for a change.
  s.state_ids.clear();
  s.state_verdicts.clear();
  s.state_since.clear();
  s.state_fix_by.clear();
  s.state_required.clear();
  s.state_grace_from.clear();
  HEARTH_RETURN_IF_ERROR(s.select_states->execute().status());
  struct Previous {
    std::string verdict, since, fix_by;
    Poco::Int64 required;
    std::string grace_from;
  };
  std::map<std::string, Previous> previous;
  for (size_t i = 0; i < s.state_ids.size(); ++i) {
    previous[s.state_ids[i]] = {s.state_verdicts[i], s.state_since[i], s.state_fix_by[i],
                                s.state_required[i], s.state_grace_from[i]};
  }
  std::map<std::string, std::string> exempt;
  if (s.exemptions > 0) {  // select_exemptions finds those of this device or its IT-set owner
    s.exempt_checks.clear();
    s.exempt_until.clear();
    HEARTH_RETURN_IF_ERROR(s.select_exemptions->execute().status());
    for (size_t i = 0; i < s.exempt_checks.size(); ++i)
      exempt[s.exempt_checks[i]] = s.exempt_until[i];
  }
  const std::map<std::string, int64_t>& grace = gracePeriods(s.level, s.policy_version);
  std::vector<CheckStanding> standing;
  const json::Value* checks = r.result.find("checks");
  if (checks != nullptr && checks->isArray()) {
    for (const auto& ch : checks->asArray()) {
      CheckStanding one;
      one.id = ch.find("id")->asString();
      one.verdict = ch.find("verdict")->asString();
      const json::Value* req = ch.find("required");
      one.required = req == nullptr || !req->isBool() || req->asBool();
      auto it = previous.find(one.id);
      bool same = it != previous.end() && it->second.verdict == one.verdict;
      one.since = same ? optTimeText(it->second.since) : std::optional<TimePoint>(r.received_at);
      // The grace period counts from when the failure started counting against the device
      // (kept through an unknown, started again when the check becomes required): GraceFrom.
      one.grace_from =
          GraceFrom(one, it == previous.end() ? std::nullopt : optTimeText(it->second.grace_from),
                    r.received_at);
      auto days = grace.find(one.id);
      one.fix_by = FixBy(one, days == grace.end() ? 0 : days->second);
      if (auto e = exempt.find(one.id); e != exempt.end()) one.exempt_until = parseTime(e->second);
      s.check_id = one.id;
      s.verdict = one.verdict;
      s.fix_by = nullableTimeOf(one.fix_by);
      s.grace_from = nullableTimeOf(one.grace_from);
      s.required = one.required ? 1 : 0;
      // A policy that made the check required or optional: what held when, for the report.
      if (it != previous.end() && s.required != it->second.required) {
        noteHistoryChange(s.device, s.received, "required", one.id,
                          it->second.required != 0 ? "1" : "0", one.required ? "1" : "0");
      }
      if (same) {
        // Only when the policy moved the deadline, `required` or the grace clock (no write on a
        // usual report).
        if (s.fix_by.isNull() != it->second.fix_by.empty() ||
            (!s.fix_by.isNull() && s.fix_by.value() != it->second.fix_by) ||
            s.required != it->second.required ||
            s.grace_from.isNull() != it->second.grace_from.empty() ||
            (!s.grace_from.isNull() && s.grace_from.value() != it->second.grace_from)) {
          HEARTH_RETURN_IF_ERROR(s.update_standing->execute().status());
        }
      } else {
        if (it == previous.end()) {
          s.old_verdict = Nullable<std::string>();
          HEARTH_RETURN_IF_ERROR(s.insert_state->execute().status());
        } else {
          s.old_verdict = Nullable<std::string>(it->second.verdict);
          HEARTH_RETURN_IF_ERROR(s.update_state->execute().status());
        }
        previous[one.id] = {one.verdict, s.received, s.fix_by.isNull() ? "" : s.fix_by.value(),
                            s.required, s.grace_from.isNull() ? "" : s.grace_from.value()};
        if (s.insert_event) HEARTH_RETURN_IF_ERROR(s.insert_event->execute().status());
      }
      standing.push_back(std::move(one));
    }
  }

  // The device's standing at the time of the report, and the device event it brings.
  const json::Value* compliant = r.result.find("compliant");
  DeviceStanding decided = DecideStanding(
      standing, compliant != nullptr && compliant->isBool() && compliant->asBool(), r.received_at);
  s.status = decided.status;
  s.deadline = nullableTimeOf(decided.deadline);
  std::optional<TimePoint> failing =
      s.failing_since.isNull() ? std::nullopt
                               : std::optional<TimePoint>(parseTime(s.failing_since.value()));
  s.failing_since = nullableTimeOf(FailingSince(decided.status, failing, r.received_at));
  s.summary = json::write(SummaryWithStanding(ChecksSummary(r.result), standing));
  // A device awaiting approval raises no device event: IT is not alerted about a device it has
  // not accepted (its standing is decided again when it is approved).
  const char* event = s.pending != 0 ? nullptr : DeviceEventFor(decided.status, s.alerted != 0);
  if (event != nullptr) {
    s.device_event = event;
    s.alerted = s.device_event == "device_noncompliant" ? 1 : 0;
    HEARTH_RETURN_IF_ERROR(s.insert_device_event->execute().status());
  }
  HEARTH_RETURN_IF_ERROR(s.update_device->execute().status());
  stored.device_status = decided.status;
  for (const auto& one : standing) {
    if (one.fix_by || one.exempt_until) stored.deadlines.push_back(one);
  }
  return stored;
}

void SqlStore::readBatchStanding(IngestStatements& s) {
  if (db_.dialect() != Dialect::kSqlite) return;
  std::vector<std::string> levels;
  std::vector<Poco::Int64> versions;
  db_.exec("SELECT level, MAX(version) FROM policies GROUP BY level",
           [&](Statement& st) { st, into(levels), into(versions); });
  s.policy_versions.clear();
  for (size_t i = 0; i < levels.size() && i < versions.size(); ++i)
    s.policy_versions[levels[i]] = versions[i];
  Poco::Int64 in_force = 0;
  db_.exec(
      "SELECT COUNT(*) FROM (SELECT 1 FROM exemptions WHERE revoked_at IS NULL AND expired_at "
      "IS NULL LIMIT 1) AS e",
      [&](Statement& st) { st, into(in_force); });
  s.any_exemptions = in_force > 0;
}

const std::map<std::string, int64_t>& SqlStore::gracePeriods(const std::string& level,
                                                             int64_t version) {
  GracePeriods& cached = grace_[level];
  if (cached.version == version) return cached.days;
  cached.version = version;
  cached.days.clear();
  std::string l = level, body;
  Poco::Int64 v = version;
  db_.exec("SELECT body FROM policies WHERE level = ? AND version = ?",
           [&](Statement& st) { st, use(l), use(v), into(body); });
  // Stored policies were validated by `policy set`; one that no longer parses gives no grace.
  if (auto policy = ParsePolicy(body, "policy " + level); policy.ok()) {
    for (const auto& c : policy->checks) cached.days[c.id] = c.grace_days;
  }
  return cached.days;
}

// A device's machine_id changed (its first report, or a new disk): every other non-retired
// device with the same machine_id is a clone of it. One `duplicate_machine_id` event per pair,
// ever (the flag itself is computed when devices are read).
void SqlStore::noteMachineId(const std::string& device_id, const std::string& machine_id,
                             const std::string& at) {
  std::string m = machine_id, dev = device_id;
  std::vector<std::string> others;
  db_.exec(
      "SELECT device_id FROM devices WHERE machine_id = ? AND device_id <> ? AND retired_at IS "
      "NULL",
      [&](Statement& st) { st, use(m), use(dev), into(others); });
  for (const auto& other : others) {
    std::string mine = "{\"other_device_id\":\"" + other + "\"}";
    std::string theirs = "{\"other_device_id\":\"" + dev + "\"}";
    std::string o = other;
    Poco::Int64 seen = 0;
    db_.exec(
        "SELECT COUNT(*) FROM events WHERE type = 'duplicate_machine_id' AND "
        "((device_id = ? AND detail = ?) OR (device_id = ? AND detail = ?))",
        [&](Statement& st) { st, use(dev), use(mine), use(o), use(theirs), into(seen); });
    if (seen == 0) appendEvent(at, dev, "duplicate_machine_id", mine);
  }
}

}  // namespace hearth::server::sql
