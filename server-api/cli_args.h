// The hearth-server command line as read: positional words and --options (base's ParsedFlags),
// from the arguments and from the config file (/etc/hearth/server.conf), and the typed readers of
// option values. Each reader says what is wrong on `err` ("hearth-server: ...") when it refuses a
// value.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "hearth/flags.h"
#include "hearth/status.h"

namespace hearth::server::cli {

// Reads the arguments (after the program's name). Errors (for "hearth-server: " in front, exit 2):
// NotFound "unknown option \"--x\" (see hearth-server --help)"; InvalidArgument "--san needs a
// value", "--json takes no value", "--passphrase: ..." (a passphrase is never an argument).
StatusOr<ParsedFlags> ParseArgs(const std::vector<std::string>& raw);

// True when -h or --help was given.
bool WantsHelp(const ParsedFlags& a);

// /etc/hearth/server.conf: `key = value` lines, each key the name of a command-line option
// without its dashes (state_dir = --state-dir), added to `a` where the command line did not give
// that option (the command line wins). Values are checked here so that an error names the file,
// the line and the key. A missing file is fine unless `explicit_path` (--config). Errors are for
// "hearth-server: " in front (exit 2): "configuration PATH: <why it cannot be read>", or
// "PATH:LINE: KEY: <problem>, got \"VALUE\"" (never the value of `database`: it may hold a
// password).
Status LoadConfigFile(const std::string& path, bool explicit_path, ParsedFlags& a);

// The value of `key` as a whole number from `min` to `max`; nullopt when absent, or when wrong:
// then "hearth-server: KEY \"VALUE\": <expected>" on `err` and `bad` is set.
std::optional<int64_t> WholeNumber(const ParsedFlags& a, const std::string& key, int64_t min,
                                   int64_t max, const std::string& expected, std::ostream& err,
                                   bool& bad);

// The value of `key` as a whole number from 1 to 1000000; nullopt when absent, or when wrong (then
// `bad` is set).
std::optional<int64_t> PositiveInt(const ParsedFlags& a, const std::string& key, std::ostream& err,
                                   bool& bad);

// A rate: a number of events per second, more than 0 and at most 1000000 (fractions allowed);
// nullopt when absent, or when wrong (then `bad` is set).
std::optional<double> PositiveRate(const ParsedFlags& a, const std::string& key, std::ostream& err,
                                   bool& bad);

// Days of retention from `key` (1 to 36500; absent: `fallback`); nullopt when wrong.
std::optional<std::chrono::seconds> RetentionDays(const ParsedFlags& a, const std::string& key,
                                                  int64_t fallback, std::ostream& err);

}  // namespace hearth::server::cli
