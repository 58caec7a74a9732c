// How the admin API shows devices, their reports and the feed to IT: the JSON objects of
// /api/v1/devices, /api/v1/devices/ID, .../history and /api/v1/feed, and the lines of the CSV
// export (/api/v1/devices.csv). Pure functions of the stored records.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json.h"
#include "hearth/server/store.h"

namespace hearth::server {

// A device as listed (`full` = false) or as shown alone (`full`: machine_id, last_sequence,
// retired_at, the whole latest result). Its status is "retired" or "pending" when it is so.
json::Value DeviceJson(const DeviceRecord& d, bool full);

// A page of a device's history as JSON text: {"reports":[...],"next":"SEQUENCE"|null}, each
// entry's stored result spliced in as it was stored (never parsed: the page costs what it
// returns); a damaged one (its text no longer matches its SHA-256) has "damaged":true and a
// null result. `next`: the `before` of the following page.
std::string HistoryPageText(const std::vector<StoredReport>& reports, std::optional<int64_t> next);

// A feed event: its fields, with `from`/`to` for verdict_changed and its `detail` fields merged.
json::Value FeedEventJson(const FeedEvent& e);

// The first line of the CSV export (CRLF-terminated).
extern const char kDeviceCsvHeader[];

// One device as a line of the CSV export (CRLF-terminated).
std::string DeviceCsvLine(const DeviceRecord& d);

// CSV cell: quoted when it holds a comma, a semicolon (the separator of spreadsheets in many
// locales), a quote or a line end; a cell that a spreadsheet would run as a formula (it starts
// with = + - @, a tab or a CR) gets a leading apostrophe inside quotes.
std::string CsvCell(const std::string& s);
// CsvCell(s) appended to `out` (no string of its own: the period report writes millions).
void AppendCsvCell(std::string& out, std::string_view s);

}  // namespace hearth::server
