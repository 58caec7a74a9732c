// The agent's log: lines on stderr. Under systemd (JOURNAL_STREAM set) each line starts with the
// syslog priority ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug) so journald files it at
// the right level; otherwise "hearth-agent: warning: ...". Device-originated text is escaped (one
// line per message: control characters never reach the terminal or the journal).
#pragma once

#include <iosfwd>
#include <string>

#include "hearth/agent/config.h"

namespace hearth::agent {

class Logger {
 public:
  Logger(std::ostream& out, LogLevel level, bool journal);
  // journal = getenv("JOURNAL_STREAM") != nullptr
  static Logger ForStderr(LogLevel level);

  void error(const std::string& message) { write(LogLevel::kError, message); }
  void warning(const std::string& message) { write(LogLevel::kWarning, message); }
  void info(const std::string& message) { write(LogLevel::kInfo, message); }
  void debug(const std::string& message) { write(LogLevel::kDebug, message); }
  void write(LogLevel level, const std::string& message);
  void setLevel(LogLevel level) { level_ = level; }
  // For components that log to a plain stream (their lines are passed through at info level).
  std::ostream& stream() { return out_; }

 private:
  std::ostream& out_;
  LogLevel level_;
  bool journal_;
};

}  // namespace hearth::agent
