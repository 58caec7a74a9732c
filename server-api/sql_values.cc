// Time, NULL and column conversions of the SQL store.
#include "sql_values.h"

#include "hearth/time.h"

namespace hearth::server::sql {

std::string fmt(TimePoint t) { return formatRfc3339(t); }

TimePoint parseTime(const std::string& s) {
  auto t = parseRfc3339(s);
  return t.ok() ? *t : TimePoint{};
}

Poco::Nullable<std::string> nullableTime(const std::optional<TimePoint>& t) {
  if (!t) return Poco::Nullable<std::string>();
  return Poco::Nullable<std::string>(fmt(*t));
}

std::optional<std::string> optString(Poco::Data::RecordSet& rs, const std::string& col) {
  const Poco::Dynamic::Var& v = rs[col];
  if (v.isEmpty()) return std::nullopt;
  return v.convert<std::string>();
}

std::string str(Poco::Data::RecordSet& rs, const std::string& col) {
  return optString(rs, col).value_or("");
}

std::optional<int64_t> optInt(Poco::Data::RecordSet& rs, const std::string& col) {
  const Poco::Dynamic::Var& v = rs[col];
  if (v.isEmpty()) return std::nullopt;
  return v.convert<Poco::Int64>();
}

int64_t integer(Poco::Data::RecordSet& rs, const std::string& col) {
  return optInt(rs, col).value_or(0);
}

std::optional<TimePoint> optTime(Poco::Data::RecordSet& rs, const std::string& col) {
  auto s = optString(rs, col);
  if (!s) return std::nullopt;
  return parseTime(*s);
}

FeedEvent feedEventRow(Poco::Data::RecordSet& rs) {
  FeedEvent e;
  e.cursor = integer(rs, "cursor");
  e.at = parseTime(str(rs, "at"));
  e.device_id = str(rs, "device_id");
  e.type = str(rs, "type");
  e.check = optString(rs, "check_id");
  e.from = optString(rs, "from_verdict");
  e.to = optString(rs, "to_verdict");
  e.detail = optString(rs, "detail");
  e.hostname = optString(rs, "hostname");
  e.owner = optString(rs, "owner");
  return e;
}

}  // namespace hearth::server::sql
