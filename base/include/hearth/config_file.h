// The `key = value` configuration files (agent.conf, enroll.conf, server.conf): one parser, driven
// by a table of the keys a file may hold and how each value is taken.
//
//   interval = 15m        # a comment
//   ; also a comment
//
// Blank lines and lines whose first non-blank character is '#' or ';' are skipped; key and value
// are trimmed. Every error is InvalidArgument and starts with "<path>:<line>: ":
//   "<path>:3: expected `key = value`, got \"words\""   (without the line where it may be secret)
//   "<path>:3: intervall: unknown key (expected one of a, b, c)"   (keys sorted)
//   "<path>:4: interval: set twice (first on line 3)"
//   "<path>:5: splay: <what the key's setter said>"     ("expected a percentage from 0 to 50, ...")
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct ConfigKey {
  std::string name;
  // Takes the (trimmed) value. An error's message says what was expected ("expected an absolute
  // path"); the parser puts the file, line and key in front of it. Whether the value is echoed
  // is the setter's choice (never for secrets).
  std::function<Status(const std::string& value)> set;
};

struct ConfigParseOptions {
  // false: a line without '=' is not quoted in the error (it may be a secret pasted without its
  // key).
  bool quote_malformed_lines = true;
};

// Parses `text`, the contents of the file `path`, calling each key's setter in the order of the
// lines. Returns the line each key was set on.
StatusOr<std::map<std::string, int>> ParseConfig(std::string_view text, const std::string& path,
                                                 const std::vector<ConfigKey>& keys,
                                                 const ConfigParseOptions& options = {});

}  // namespace hearth
