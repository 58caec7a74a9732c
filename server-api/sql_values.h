// Conversions between the Store's values and SQL columns: times as RFC 3339 text, optional
// values as NULL, and NULL-aware reads of a RecordSet's columns by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <Poco/Data/RecordSet.h>
#include <Poco/Nullable.h>

#include "hearth/server/store.h"

namespace hearth::server::sql {

using Poco::Nullable;

// A time as stored: RFC 3339 text.
std::string fmt(TimePoint t);
// A stored time; the epoch when the text is not RFC 3339.
TimePoint parseTime(const std::string& s);
Poco::Nullable<std::string> nullableTime(const std::optional<TimePoint>& t);

template <typename T>
Poco::Nullable<T> nullable(const std::optional<T>& v) {
  if (!v) return Poco::Nullable<T>();
  return Poco::Nullable<T>(*v);
}

// A column of the current row; nullopt (or "", 0) when it is NULL.
std::optional<std::string> optString(Poco::Data::RecordSet& rs, const std::string& col);
std::string str(Poco::Data::RecordSet& rs, const std::string& col);
std::optional<int64_t> optInt(Poco::Data::RecordSet& rs, const std::string& col);
int64_t integer(Poco::Data::RecordSet& rs, const std::string& col);
std::optional<TimePoint> optTime(Poco::Data::RecordSet& rs, const std::string& col);

// A feed event from the columns cursor, at, device_id, type, check_id, from_verdict, to_verdict
// and detail of the current row, with its device's hostname and owner (columns of those names:
// a LEFT JOIN of devices).
FeedEvent feedEventRow(Poco::Data::RecordSet& rs);

}  // namespace hearth::server::sql
