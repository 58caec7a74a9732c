// RFC 4180 CSV records (csv.h): a single pass, one character at a time.
#include "hearth/csv.h"

#include <utility>

namespace hearth {

StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text, size_t max_records) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  CsvRecord record;
  std::string field;
  size_t line = 1;
  bool in_record = false;  // a field of the current record has begun
  bool quoted = false;     // inside a quoted field
  bool closed = false;     // after a quoted field's closing quote
  size_t quote_line = 0;   // where the open quoted field began
  auto endField = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    closed = false;
  };
  auto endRecord = [&]() -> Status {
    bool blank = record.fields.empty() && field.empty() && !closed;
    endField();
    if (!blank) {
      if (out.size() >= max_records) {
        return ResourceExhaustedError("more than " + std::to_string(max_records) + " records");
      }
      out.push_back(std::move(record));
    }
    record = CsvRecord{};
    in_record = false;
    return OkStatus();
  };
  auto bad = [&](const std::string& what) {
    return InvalidArgumentError("line " + std::to_string(line) + ": " + what);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!in_record) {
      record.line = line;
      in_record = true;
    }
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          closed = true;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == ',') {
      endField();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;  // the CR of a CRLF
    } else if (c == '\n') {
      if (Status s = endRecord(); !s.ok()) return s;
      ++line;
    } else if (closed) {
      return bad("text after the closing quote of a field (a quote in a field is written \"\")");
    } else if (c == '"') {
      if (!field.empty()) {
        return bad(
            "a quote inside a field that does not start with one (quote the field and "
            "double the quote: \"\"\")");
      }
      quoted = true;
      quote_line = line;
    } else {
      field += c;
    }
  }
  if (quoted) {
    return InvalidArgumentError("line " + std::to_string(quote_line) +
                                ": a quoted field is not closed before the end of the file");
  }
  if (in_record) {
    if (Status s = endRecord(); !s.ok()) return s;
  }
  return out;
}

}  // namespace hearth
