// The spool (see spool.h and docs/agent-spool.md).
#include "hearth/agent/spool.h"

#include <algorithm>
#include <set>
#include <utility>

#include "hearth/json.h"
#include "report_files.h"

namespace hearth::agent {

namespace {

constexpr char kCounterName[] = "dropped.json";
constexpr size_t kCounterLimit = 4u << 20;

std::vector<std::string> checkIdsOf(std::string_view envelope) {
  std::vector<std::string> ids;
  auto v = json::parse(envelope, {.max_depth = 64, .max_bytes = envelope.size() + 1});
  if (!v.ok()) return ids;
  const json::Value* result = v->find("result");
  const json::Value* checks = result != nullptr ? result->find("checks") : nullptr;
  if (checks == nullptr || !checks->isArray()) return ids;
  for (const auto& c : checks->asArray()) {
    const json::Value* id = c.find("id");
    if (id != nullptr && id->isString()) ids.push_back(id->asString());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

Spool::Spool(std::string dir, size_t max_reports, size_t max_bytes)
    : Spool(std::move(dir), SpoolOptions{max_reports, max_bytes, nullptr}) {}

Spool::Spool(std::string dir, const SpoolOptions& options)
    : dir_(std::move(dir)),
      max_reports_(std::max<size_t>(options.max_reports, 1)),
      max_bytes_(options.max_bytes),
      files_(options.files != nullptr ? options.files : &PosixFileLayer()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string Spool::pathFor(int64_t sequence) const { return dir_ + "/" + ReportFileName(sequence); }

std::string Spool::counterPath() const { return dir_ + "/" + kCounterName; }

// --- the drop counter ------------------------------------------------------------------------

StatusOr<Spool::Counter> Spool::loadCounter() const {
  Counter c;
  auto text = files_->readFile(counterPath(), kCounterLimit);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return c;
    return text.status();
  }
  auto v = json::parse(*text, {.max_depth = 8, .max_bytes = kCounterLimit});
  auto bad = [&](const std::string& why) {
    return DataLossError(counterPath() + " is corrupt: " + why);
  };
  if (!v.ok()) return bad(v.status().message());
  auto intField = [&](const json::Value& o, const char* key, int64_t& out) {
    const json::Value* f = o.find(key);
    if (f == nullptr || !f->isInt() || f->asInt() < 0) return false;
    out = f->asInt();
    return true;
  };
  if (!intField(*v, "total", c.total) || !intField(*v, "unreported", c.unreported)) {
    return bad("\"total\" and \"unreported\" must be non-negative integers");
  }
  const json::Value* claims = v->find("claims");
  if (claims == nullptr || !claims->isArray()) return bad("\"claims\" must be an array");
  for (const auto& claim : claims->asArray()) {
    int64_t seq = 0, count = 0;
    if (!intField(claim, "sequence", seq) || !intField(claim, "count", count)) {
      return bad("each claim needs \"sequence\" and \"count\"");
    }
    c.claims[seq] += count;
  }
  const json::Value* dropping = v->find("dropping");
  if (dropping == nullptr || !dropping->isArray()) return bad("\"dropping\" must be an array");
  for (const auto& d : dropping->asArray()) {
    if (!d.isInt() || d.asInt() < 0) return bad("\"dropping\" must hold sequences");
    c.dropping.push_back(d.asInt());
  }
  return c;
}

Status Spool::saveCounter(const Counter& c) {
  json::Value o = json::Value::object();
  o.set("total", c.total);
  o.set("unreported", c.unreported);
  json::Value claims = json::Value::array();
  for (const auto& [seq, count] : c.claims) {
    json::Value claim = json::Value::object();
    claim.set("sequence", seq);
    claim.set("count", count);
    claims.push(std::move(claim));
  }
  o.set("claims", std::move(claims));
  json::Value dropping = json::Value::array();
  for (int64_t seq : c.dropping) dropping.push(seq);
  o.set("dropping", std::move(dropping));
  Status s =
      WriteFileDurably(*files_, counterPath(), dir_ + "/" + std::string(kTempPrefix) + kCounterName,
                       json::write(o) + "\n", 0600);
  if (!s.ok()) {
    // The file now holds the old or the new state: read it again before the next change.
    counter_.reset();
    recovered_ = false;
    return s;
  }
  counter_ = c;
  return OkStatus();
}

// --- recovery --------------------------------------------------------------------------------

Status Spool::recover() {
  recovered_ = false;
  counter_.reset();
  index_.clear();
  auto names = files_->listDir(dir_);
  if (!names.ok()) {
    if (names.status().code() != StatusCode::kNotFound) return names.status();
    counter_ = Counter{};
    recovered_ = true;
    return OkStatus();
  }
  for (const auto& n : *names) {
    if (!IsTempFileName(n)) continue;
    // Garbage from an interrupted write; durability of its removal does not matter.
    if (Status s = files_->unlink(dir_ + "/" + n); !s.ok() && s.code() != StatusCode::kNotFound) {
      return s.withContext("remove a stale temporary file from the spool");
    }
  }
  auto counter = loadCounter();
  if (!counter.ok()) {
    if (counter.status().code() != StatusCode::kDataLoss) return counter.status();
    // Only damage outside the agent gets here (the file is replaced atomically). Keep the bad
    // file for inspection and start counting again rather than stop spooling for good.
    HEARTH_RETURN_IF_ERROR(files_->rename(counterPath(), counterPath() + ".corrupt"));
    counter = Counter{};
  }
  counter_ = std::move(counter).value();
  if (!counter_->dropping.empty()) HEARTH_RETURN_IF_ERROR(finishDrop(*counter_));
  recovered_ = true;
  return OkStatus();
}

Status Spool::ensureRecovered() {
  if (!recovered_ || !counter_) return recover();
  // Read again: another agent process may have changed it since (one after the other, never at
  // the same time). The file is small.
  auto c = loadCounter();
  if (!c.ok()) return recover();
  counter_ = std::move(c).value();
  if (!counter_->dropping.empty()) return finishDrop(*counter_);
  return OkStatus();
}

// Completes the drop recorded in c.dropping (the intent is already durable, so the drop counts
// from then on whatever happens): unlink, make the unlinks durable, then count and clear.
Status Spool::finishDrop(Counter& c) {
  for (int64_t seq : c.dropping) {
    if (Status s = files_->unlink(pathFor(seq)); !s.ok() && s.code() != StatusCode::kNotFound) {
      return s.withContext("drop report " + std::to_string(seq) + " from the full spool");
    }
  }
  HEARTH_RETURN_IF_ERROR(files_->syncDir(dir_));
  Counter next = c;
  for (int64_t seq : next.dropping) {
    index_.erase(seq);
    if (auto it = next.claims.find(seq); it != next.claims.end()) {
      next.unreported += it->second;  // the count it carried was never acknowledged
      next.claims.erase(it);
    }
  }
  auto dropped = static_cast<int64_t>(next.dropping.size());
  next.total += dropped;
  next.unreported += dropped;
  next.dropping.clear();
  return saveCounter(next);
}

Status Spool::releaseOrphanClaims(int64_t below_sequence) {
  Counter next = *counter_;
  bool changed = false;
  for (auto it = next.claims.begin(); it != next.claims.end() && it->first < below_sequence;) {
    auto size = files_->fileSize(pathFor(it->first));
    if (size.ok() || size.status().code() != StatusCode::kNotFound) {
      ++it;
      continue;
    }
    next.unreported += it->second;
    it = next.claims.erase(it);
    changed = true;
  }
  return changed ? saveCounter(next) : OkStatus();
}

// --- bounds ----------------------------------------------------------------------------------

Status Spool::refreshIndex() {
  auto names = files_->listDir(dir_);
  if (!names.ok()) {
    if (names.status().code() != StatusCode::kNotFound) return names.status();
    index_.clear();
    return OkStatus();
  }
  std::vector<int64_t> present;
  present.reserve(names->size());
  for (const auto& n : *names) {
    if (auto seq = ParseReportFileName(n)) present.push_back(*seq);
  }
  std::sort(present.begin(), present.end());
  // One merge pass: forget what is gone, stat what is new (sizes of known reports never change).
  auto it = index_.begin();
  for (int64_t seq : present) {
    while (it != index_.end() && it->first < seq) it = index_.erase(it);
    if (it != index_.end() && it->first == seq) {
      ++it;
      continue;
    }
    auto size = files_->fileSize(pathFor(seq));
    if (!size.ok()) {
      if (size.status().code() == StatusCode::kNotFound) continue;
      // Not a regular file: never a report this spool wrote. It stays listed (delivery moves
      // it aside, see DeliveryOutcome::unreadable) but must not stop the spool from working.
      if (size.status().code() != StatusCode::kInvalidArgument) return size.status();
      size = uint64_t{0};
    }
    it = std::next(index_.emplace_hint(it, seq, Entry{*size, std::nullopt}));
  }
  index_.erase(it, index_.end());
  return OkStatus();
}

const std::vector<std::string>& Spool::checksOf(int64_t sequence) {
  Entry& e = index_[sequence];
  if (!e.checks) {
    auto text = files_->readFile(pathFor(sequence), std::max(max_bytes_, kMinReadLimit));
    // An unreadable report protects nothing; if it is really gone, refreshIndex notices.
    e.checks = text.ok() ? checkIdsOf(*text) : std::vector<std::string>{};
  }
  return *e.checks;
}

// Oldest first, skipping the newest report and the newest holder of each check id, until both
// bounds hold. The newest holder of an id is found by reading reports lazily from the newest
// down, only as far as the candidate's ids need, so a typical drop reads two or three reports.
std::vector<int64_t> Spool::chooseVictims() {
  std::vector<int64_t> victims;
  size_t count = index_.size();
  uint64_t bytes = 0;
  for (const auto& [seq, e] : index_) bytes += e.size;
  if (count <= max_reports_ && bytes <= max_bytes_) return victims;

  std::map<std::string, int64_t> newest_holder;  // check id -> newest report holding it
  auto scan = index_.rbegin();                   // next report to read, from the newest down
  const int64_t newest = index_.rbegin()->first;
  for (auto it = index_.begin(); it != index_.end(); ++it) {
    if (count <= max_reports_ && bytes <= max_bytes_) break;
    int64_t seq = it->first;
    if (seq == newest) break;  // the newest report is always kept
    const std::vector<std::string> ids = checksOf(seq);
    auto allKnown = [&] {
      return std::all_of(ids.begin(), ids.end(),
                         [&](const std::string& id) { return newest_holder.count(id) != 0; });
    };
    // Reading down to `seq` itself at most: then every id of it has a newest holder.
    while (!allKnown() && scan != index_.rend() && scan->first >= seq) {
      for (const auto& id : checksOf(scan->first)) newest_holder.emplace(id, scan->first);
      ++scan;
    }
    bool holds_newest = std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
      auto h = newest_holder.find(id);
      return h != newest_holder.end() && h->second == seq;
    });
    if (holds_newest) continue;  // the newest result of some check: kept
    victims.push_back(seq);
    --count;
    bytes -= it->second.size;
  }
  return victims;
}

Status Spool::enforceBounds() {
  std::vector<int64_t> victims = chooseVictims();
  if (victims.empty()) return OkStatus();
  Counter intent = *counter_;
  intent.dropping = std::move(victims);
  // The intent first: a crash from here on completes the drop in recover(), so every drop is
  // counted exactly once.
  HEARTH_RETURN_IF_ERROR(saveCounter(intent));
  return finishDrop(*counter_);
}

// --- the public operations -------------------------------------------------------------------

Status Spool::append(int64_t sequence, const std::string& envelope) {
  const std::string where = "report " + std::to_string(sequence) + " not spooled in " + dir_;
  if (sequence < 0) return InvalidArgumentError(where + ": negative sequence");
  if (envelope.size() > max_bytes_) {
    return ResourceExhaustedError(where + ": it is " + std::to_string(envelope.size()) +
                                  " bytes, more than the spool's whole limit of " +
                                  std::to_string(max_bytes_) + " bytes");
  }
  auto fail = [&](const Status& s) {
    if (IsDiskFull(s)) {
      return ResourceExhaustedError("disk full: " + where + " (" +
                                    s.message().substr(std::string_view("disk full: ").size()) +
                                    ")");
    }
    return s.withContext(where);
  };
  if (!dir_ready_) {
    if (Status s = CreateDirsDurably(*files_, dir_, 0700); !s.ok()) return fail(s);
    dir_ready_ = true;
  }
  if (Status s = ensureRecovered(); !s.ok()) return fail(s);
  std::string name = ReportFileName(sequence);
  if (Status s = WriteFileDurably(*files_, pathFor(sequence),
                                  dir_ + "/" + std::string(kTempPrefix) + name, envelope, 0600);
      !s.ok()) {
    if (s.code() == StatusCode::kNotFound) dir_ready_ = false;  // removed under us: make it again
    return fail(s);
  }
  // Stored. What follows only keeps the spool within its bounds.
  const std::string stored =
      "report " + std::to_string(sequence) + " is spooled in " + dir_ + ", but dropping old ones";
  if (Status s = refreshIndex(); !s.ok()) return s.withContext(stored);
  Entry& e = index_[sequence];
  e.size = envelope.size();
  e.checks = checkIdsOf(envelope);
  if (Status s = enforceBounds(); !s.ok()) return s.withContext(stored + " failed");
  return OkStatus();
}

StatusOr<std::vector<int64_t>> Spool::list() const {
  auto names = files_->listDir(dir_);
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return std::vector<int64_t>{};
    return names.status();
  }
  std::vector<int64_t> out;
  bool has_counter = false;
  for (const auto& n : *names) {
    if (auto seq = ParseReportFileName(n)) out.push_back(*seq);
    has_counter = has_counter || n == kCounterName;
  }
  std::sort(out.begin(), out.end());
  if (has_counter) {
    // Reports of a drop that a crash interrupted are gone already, logically.
    auto c = loadCounter();
    if (c.ok() && !c->dropping.empty()) {
      std::set<int64_t> gone(c->dropping.begin(), c->dropping.end());
      out.erase(
          std::remove_if(out.begin(), out.end(), [&](int64_t s) { return gone.count(s) != 0; }),
          out.end());
    }
  }
  return out;
}

StatusOr<std::string> Spool::read(int64_t sequence) const {
  return files_->readFile(pathFor(sequence), std::max(max_bytes_, kMinReadLimit));
}

Status Spool::unlinkReport(int64_t sequence) {
  Status s = files_->unlink(pathFor(sequence));
  if (!s.ok() && s.code() != StatusCode::kNotFound) {
    return s.withContext("remove report " + std::to_string(sequence) + " from the spool");
  }
  index_.erase(sequence);
  // Durable even when it was already gone: an earlier unlink may not have been.
  s = files_->syncDir(dir_);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  return OkStatus();
}

Status Spool::remove(int64_t sequence) {
  HEARTH_RETURN_IF_ERROR(ensureRecovered());
  if (auto it = counter_->claims.find(sequence); it != counter_->claims.end()) {
    // The claim ends first: a crash before the unlink sends the report again, and the server
    // stores it (and its count) once.
    Counter next = *counter_;
    next.claims.erase(sequence);
    HEARTH_RETURN_IF_ERROR(saveCounter(next));
  }
  return unlinkReport(sequence);
}

Status Spool::discard(int64_t sequence) {
  HEARTH_RETURN_IF_ERROR(ensureRecovered());
  HEARTH_RETURN_IF_ERROR(unlinkReport(sequence));
  // The report is gone for good, so its claim is an orphan now (a crash here leaves it to
  // releaseOrphanClaims, which does the same).
  return releaseOrphanClaims(sequence + 1);
}

size_t Spool::depth() const {
  auto l = list();
  return l.ok() ? l->size() : 0;
}

StatusOr<SpoolDrops> Spool::drops() const {
  auto c = loadCounter();
  if (!c.ok()) return c.status();
  SpoolDrops d;
  d.total = c->total;
  d.unreported = c->unreported;
  for (const auto& [seq, count] : c->claims) d.unreported += count;
  // A drop in progress (interrupted by a crash) counts already.
  d.total += static_cast<int64_t>(c->dropping.size());
  d.unreported += static_cast<int64_t>(c->dropping.size());
  return d;
}

int64_t Spool::dropped() const {
  auto d = drops();
  return d.ok() ? d->total : 0;
}

StatusOr<int64_t> Spool::takeDroppedForReport(int64_t sequence) {
  HEARTH_RETURN_IF_ERROR(ensureRecovered());
  HEARTH_RETURN_IF_ERROR(releaseOrphanClaims(sequence));
  auto it = counter_->claims.find(sequence);
  int64_t claimed = it != counter_->claims.end() ? it->second : 0;
  if (counter_->unreported == 0) return claimed;
  Counter next = *counter_;
  next.claims[sequence] += next.unreported;
  next.unreported = 0;
  HEARTH_RETURN_IF_ERROR(saveCounter(next));
  return counter_->claims[sequence];
}

}  // namespace hearth::agent
