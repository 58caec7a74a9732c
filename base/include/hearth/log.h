// The one logger of the agent and the server: lines on a stream (stderr), one line per message.
// Message text is escaped (control characters become \xNN), so text that came from a device or a
// request never starts a new line or drives the terminal or the journal. Thread-safe: lines of
// different threads never mix.
//
// The form of a line is a LogFormat:
//   journald (agent under systemd)   "<4>spool is full"                priority only
//   terminal (agent by hand)         "hearth-agent: warning: spool is full"
//   named journald (the server)      "<4>hearth-server: spool is full"
// The "<N>" prefix is the syslog priority journald files the line at (error 3, warning 4, info 6,
// debug 7).
#pragma once

#include <atomic>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace hearth {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

// "error", "warning", "info", "debug"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

struct LogFormat {
  std::string program;     // "hearth-agent": named in each line when `name` is set
  bool priority = false;   // "<N>" first
  bool name = true;        // "program: "
  bool level_word = true;  // "error: ", "warning: ", "debug: " (nothing for info)

  // "<4>text": under journald, which adds the program's name itself.
  static LogFormat Journal();
  // "program: warning: text".
  static LogFormat Terminal(std::string program);
  // "<4>program: text".
  static LogFormat NamedJournal(std::string program);
  // Journal() when stderr goes to journald (JOURNAL_STREAM is set), else Terminal(program).
  static LogFormat ForStderr(std::string program);
};

class Logger {
 public:
  // Messages above `level` are dropped. `out` must outlive the logger.
  Logger(std::ostream& out, LogLevel level, LogFormat format);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void error(const std::string& message) { write(LogLevel::kError, message); }
  void warning(const std::string& message) { write(LogLevel::kWarning, message); }
  void info(const std::string& message) { write(LogLevel::kInfo, message); }
  void debug(const std::string& message) { write(LogLevel::kDebug, message); }
  void write(LogLevel level, const std::string& message);
  void setLevel(LogLevel level) { level_ = level; }
  // For components that log to a plain stream (their lines are passed through as they are).
  std::ostream& stream() { return out_; }

 private:
  std::ostream& out_;
  const LogFormat format_;
  std::atomic<LogLevel> level_;
  std::mutex mu_;  // one line at a time on out_
};

}  // namespace hearth
