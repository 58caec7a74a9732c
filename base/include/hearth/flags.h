// The command-line parser of hearth-agent and hearth-server: a table of the options a command
// takes, and one pass over its arguments.
//
//   constexpr FlagSpec kFlags[] = {{.name = "--policy", .non_empty = true},
//                                  {.name = "--json", .kind = FlagKind::kSwitch}};
//   HEARTH_ASSIGN_OR_RETURN(ParsedFlags f, ParseFlags(args, kFlags));
//   if (f.has("--json")) ...   f.get("--policy", "/etc/hearth/policy.json")
//
// Values come as "--name VALUE" or "--name=VALUE" (the "=" form only for names that start with
// "--"). An option given twice keeps both values (all()); get() gives the last.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

enum class FlagKind {
  kValue,    // takes a value
  kSwitch,   // takes none
  kRefused,  // recognised only to be refused with `refusal` (an option that must never be used)
};

struct FlagSpec {
  std::string_view name = "";  // "--policy", "-h"
  FlagKind kind = FlagKind::kValue;
  bool non_empty = false;         // kValue: an empty value is an error
  std::string_view refusal = "";  // kRefused: why, and what to use instead
};

struct FlagOptions {
  // true: an argument that does not start with "--" and is not in the table is positional
  // ("secret create"); false: it is an unknown option.
  bool positional = false;
};

// The options given, in the order given, and the positional arguments.
class ParsedFlags {
 public:
  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
  // The last value of `name` (a switch: "1"), or `fallback` when absent.
  std::string get(std::string_view name, std::string fallback = "") const;
  // Every value of `name`, in order; empty when absent.
  const std::vector<std::string>& all(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  void add(std::string_view name, std::string value);
  // Adds `value` only when `name` was not given: for a default from a config file, which the
  // command line overrides.
  void addIfAbsent(std::string_view name, std::string value);
  void addPositional(std::string value) { positional_.push_back(std::move(value)); }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// Parses `args` (without the program and command names) against `specs`. Errors, for the caller
// to prefix with the program and command ("hearth-agent check: ..."), in the language of the
// process's gettext set-up (i18n::InitForCommandLine; English without it):
//   NotFound         unknown option "--x=1" (the argument as given; callers add where help is)
//   InvalidArgument  --policy needs a value | --policy needs a non-empty value |
//                    --json takes no value | --passphrase: <refusal>
StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                 std::span<const FlagSpec> specs, FlagOptions options = {});

}  // namespace hearth
