// The hearth-server command line as read: positional words and --options, from the arguments
// and from the config file (/etc/hearth/server.conf), and the typed readers of option values.
// Each reader says what is wrong on `err` ("hearth-server: ...") when it refuses a value.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace hearth::server::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;
  bool help = false;

  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = options.find(key);
    return it == options.end() || it->second.empty() ? fallback : it->second.back();
  }
  bool has(const std::string& key) const { return options.count(key) != 0; }
};

// Reads the arguments into `out`; false (and a message on `err`) on an unknown option, a value
// missing, or --passphrase (never on the command line).
bool ParseArgs(const std::vector<std::string>& in, Args& out, std::ostream& err);

// /etc/hearth/server.conf: `key = value` lines, each key the name of a command-line option
// without its dashes (state_dir = --state-dir). The command line wins. Values are checked here so
// that an error names the file, the line and the key. A missing file is fine unless
// `explicit_path` (--config). False (and a message on `err`) on any error.
bool LoadConfigFile(const std::string& path, bool explicit_path, Args& a, std::ostream& err);

// The value of `key` as a whole number from 1 to 1000000; nullopt when absent, or when wrong (then
// `bad` is set).
std::optional<int64_t> PositiveInt(const Args& a, const std::string& key, std::ostream& err,
                                   bool& bad);

// A rate: a number of events per second, more than 0 and at most 1000000 (fractions allowed);
// nullopt when absent, or when wrong (then `bad` is set).
std::optional<double> PositiveRate(const Args& a, const std::string& key, std::ostream& err,
                                   bool& bad);

// Days of retention from `key` (1 to 36500; absent: `fallback`); nullopt when wrong.
std::optional<std::chrono::seconds> RetentionDays(const Args& a, const std::string& key,
                                                  int64_t fallback, std::ostream& err);

}  // namespace hearth::server::cli
