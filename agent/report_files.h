// How the spool and the sent history name their files (private to the agent): one report per
// file, NNNNNNNNNNNNNNNNNNNN.json (its sequence, zero-padded to 20 digits), written through a
// temporary ".tmp-*" file beside it. See spool.h and sent_history.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::agent {

inline constexpr std::string_view kTempPrefix = ".tmp-";
// Reports are read with at least this limit, so lowering max_bytes never strands older reports.
inline constexpr size_t kMinReadLimit = 32u << 20;

std::string ReportFileName(int64_t sequence);

// The sequence of a report file name, or nullopt for anything else (temp files, the counter,
// garbage such as "12.json", "00000000000000000001.json~", or names with signs or spaces).
std::optional<int64_t> ParseReportFileName(std::string_view name);

// Temporary files of an interrupted write: ours (".tmp-...") and the older
// WriteFileAtomically form ("<name>.json.tmp-XXXXXX").
bool IsTempFileName(std::string_view name);

}  // namespace hearth::agent
