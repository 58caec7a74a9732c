// The sent history (see sent_history.h and docs/agent-delivery.md "After a server restore").
#include "hearth/agent/sent_history.h"

#include <algorithm>
#include <utility>

#include "hearth/json.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "report_files.h"

namespace hearth::agent {

SentHistory::SentHistory(std::string dir, SentHistoryOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      files_(options_.files != nullptr ? options_.files : &PosixFileLayer()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (!options_.now) options_.now = [] { return std::chrono::system_clock::now(); };
}

std::string SentHistory::pathFor(int64_t sequence) const {
  return dir_ + "/" + ReportFileName(sequence);
}

StatusOr<std::vector<int64_t>> SentHistory::list() const {
  auto names = files_->listDir(dir_);
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return std::vector<int64_t>{};
    return names.status();
  }
  std::vector<int64_t> out;
  for (const auto& n : *names) {
    if (auto seq = ParseReportFileName(n)) out.push_back(*seq);
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::string> SentHistory::read(int64_t sequence) const {
  return files_->readFile(pathFor(sequence), kMinReadLimit);
}

Status SentHistory::keep(int64_t sequence, const std::string& envelope) {
  if (options_.keep_reports == 0) return OkStatus();
  const std::string where =
      "keeping a copy of sent report " + std::to_string(sequence) + " in " + dir_;
  if (!dir_ready_) {
    if (Status s = CreateDirsDurably(*files_, dir_, 0700); !s.ok()) return s.withContext(where);
    dir_ready_ = true;
  }
  auto names = files_->listDir(dir_);
  if (names.ok()) {
    for (const auto& n : *names) {
      if (IsTempFileName(n)) (void)files_->unlink(dir_ + "/" + n);  // left by a crash
    }
  }
  const std::string name = ReportFileName(sequence);
  if (Status s = WriteFileDurably(*files_, pathFor(sequence),
                                  dir_ + "/" + std::string(kTempPrefix) + name, envelope, 0600);
      !s.ok()) {
    if (s.code() == StatusCode::kNotFound) dir_ready_ = false;
    return s.withContext(where);
  }
  auto held = list();
  if (!held.ok()) return held.status().withContext(where);
  return trim(std::move(held).value()).withContext(where);
}

Status SentHistory::bindTo(const std::string& device_id) {
  const std::string owner = dir_ + "/device";
  auto current = files_->readFile(owner, 4096);
  if (current.ok() && text::trim(*current) == device_id) return OkStatus();
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
  if (options_.keep_reports == 0 && !current.ok()) return OkStatus();
  HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> held, list());
  for (int64_t seq : held) {
    Status s = files_->unlink(pathFor(seq));
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  if (Status s = CreateDirsDurably(*files_, dir_, 0700); !s.ok()) return s;
  dir_ready_ = true;
  return WriteFileDurably(*files_, owner, dir_ + "/" + std::string(kTempPrefix) + "device",
                          device_id + "\n", 0600);
}

Status SentHistory::trim(std::vector<int64_t> held) {
  if (held.empty()) return OkStatus();
  const size_t keep = std::max<size_t>(options_.keep_reports, 1);
  std::vector<int64_t> victims;
  size_t first_kept = held.size() > keep ? held.size() - keep : 0;
  victims.assign(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(first_kept));
  // By age, oldest first, never the newest: reading stops at the first one young enough (the
  // sequence order is the sending order).
  const auto cutoff = options_.now() - options_.keep_for;
  for (size_t i = first_kept; i + 1 < held.size(); ++i) {
    auto text = read(held[i]);
    if (!text.ok()) continue;
    auto v = json::parse(*text, {.max_depth = 64, .max_bytes = text->size() + 1});
    const json::Value* at = v.ok() ? v->find("sent_at") : nullptr;
    if (at == nullptr || !at->isString()) continue;  // not ours to judge: the count bound applies
    auto when = parseRfc3339(at->asString());
    if (!when.ok()) continue;
    if (*when >= cutoff) break;
    victims.push_back(held[i]);
  }
  if (victims.empty()) return OkStatus();
  for (int64_t seq : victims) {
    Status s = files_->unlink(pathFor(seq));
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      return s.withContext("forget sent report " + std::to_string(seq));
    }
  }
  // Not required for safety (an old copy that comes back is harmless), but keeps the bound.
  return files_->syncDir(dir_);
}

StatusOr<Requeued> SentHistory::requeue(Spool& spool, int64_t previous, int64_t acked) {
  Requeued r;
  if (previous < 0 || previous >= acked - 1) return r;
  HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> held, list());
  std::vector<int64_t> lacking;
  for (int64_t seq : held) {
    if (seq > previous && seq < acked) lacking.push_back(seq);
  }
  if (lacking.empty()) return r;
  r.lacked_from = previous + 1;
  r.lacked_to = lacking.back();
  for (int64_t seq : lacking) {
    auto bytes = read(seq);
    if (!bytes.ok()) {
      if (bytes.status().code() == StatusCode::kNotFound) continue;  // trimmed meanwhile
      return bytes.status().withContext("re-sending report " + std::to_string(seq));
    }
    // The copy stays here until the history trims it: a crash at any point leaves the report in
    // the spool, here, or both (sent again, stored once).
    if (Status s = spool.append(seq, *bytes); !s.ok()) {
      return s.withContext("re-sending report " + std::to_string(seq));
    }
    r.sequences.push_back(seq);
  }
  r.requeued = static_cast<int64_t>(r.sequences.size());
  r.not_kept = (r.lacked_to - previous) - r.requeued;
  return r;
}

}  // namespace hearth::agent
