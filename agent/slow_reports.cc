// Reports that keep timing out on a slow uplink (see slow_reports.h).
#include "hearth/agent/slow_reports.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/text.h"

namespace hearth::agent {

SlowReports::SlowReports(std::string path, std::chrono::milliseconds patient_timeout)
    : path_(std::move(path)), patient_timeout_(patient_timeout) {
  auto text = ReadFileBounded(path_, 64 * 1024);
  auto v = text.ok() ? json::parse(*text) : StatusOr<json::Value>(text.status());
  const json::Value* counts = v.ok() ? v->find("timeouts") : nullptr;
  if (counts == nullptr || !counts->isObject()) return;  // none yet, or unusable: start over
  for (const auto& [key, value] : counts->asObject()) {
    auto seq = text::parseInt(key);
    if (seq && *seq > 0 && value.isInt() && value.asInt() > 0) {
      timeouts_[*seq] = static_cast<int>(std::min<int64_t>(value.asInt(), 1 << 20));
    }
  }
}

int SlowReports::timeouts(int64_t sequence) const {
  auto it = timeouts_.find(sequence);
  return it == timeouts_.end() ? 0 : it->second;
}

int SlowReports::noteTimeout(int64_t sequence) {
  changed_ = true;
  int& n = timeouts_[sequence];
  if (n < 1 << 20) ++n;
  return n;
}

void SlowReports::clear(int64_t sequence) {
  if (timeouts_.erase(sequence) > 0) changed_ = true;
}

void SlowReports::keepOnly(const std::vector<int64_t>& spooled) {
  for (auto it = timeouts_.begin(); it != timeouts_.end();) {
    if (std::binary_search(spooled.begin(), spooled.end(), it->first)) {
      ++it;
    } else {
      it = timeouts_.erase(it);
      changed_ = true;
    }
  }
}

Status SlowReports::save() {
  if (!changed_) return OkStatus();
  if (timeouts_.empty()) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return InternalError("cannot remove " + path_ + ": " + std::strerror(errno));
    }
    changed_ = false;
    return OkStatus();
  }
  json::Value counts = json::Value::object();
  for (const auto& [seq, n] : timeouts_) counts.set(std::to_string(seq), static_cast<int64_t>(n));
  json::Value doc = json::Value::object();
  doc.set("timeouts", counts);
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(path_, json::write(doc) + "\n", 0600));
  changed_ = false;
  return OkStatus();
}

}  // namespace hearth::agent
