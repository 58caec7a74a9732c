// Reading CSV (RFC 4180) as spreadsheets write it: fields separated by commas, records by CRLF or
// LF; a field in double quotes may hold commas, line breaks and doubled quotes (""), and the
// quotes are not part of its value; a UTF-8 byte order mark at the start is skipped (Excel writes
// one). Blank lines are skipped. Every record keeps the line it starts on, for messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct CsvRecord {
  size_t line = 0;  // 1-based: where the record starts
  std::vector<std::string> fields;
};

// The records of `text`, at most `max_records` (ResourceExhausted beyond). InvalidArgument
// "line N: ..." for a quote inside an unquoted field, text after a closing quote, or a quoted
// field that never ends.
StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text, size_t max_records);

}  // namespace hearth
