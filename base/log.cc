#include "hearth/log.h"

#include <cstdlib>
#include <ostream>

namespace hearth {

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "error") return LogLevel::kError;
  if (name == "warning") return LogLevel::kWarning;
  if (name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

LogFormat LogFormat::Journal() { return LogFormat{"", true, false, false}; }

LogFormat LogFormat::Terminal(std::string program) {
  return LogFormat{std::move(program), false, true, true};
}

LogFormat LogFormat::NamedJournal(std::string program) {
  return LogFormat{std::move(program), true, true, false};
}

LogFormat LogFormat::ForStderr(std::string program) {
  return std::getenv("JOURNAL_STREAM") != nullptr ? Journal() : Terminal(std::move(program));
}

Logger::Logger(std::ostream& out, LogLevel level, LogFormat format)
    : out_(out), format_(std::move(format)), level_(level) {}

void Logger::write(LogLevel level, const std::string& message) {
  static const char* kPriority[] = {"<3>", "<4>", "<6>", "<7>"};
  static const char* kWord[] = {"error: ", "warning: ", "", "debug: "};
  if (static_cast<int>(level) > static_cast<int>(level_.load())) return;
  const auto i = static_cast<size_t>(level);
  std::string line;
  line.reserve(message.size() + format_.program.size() + 16);
  if (format_.priority) line += kPriority[i];
  if (format_.name) {
    line += format_.program;
    line += ": ";
  }
  if (format_.level_word) line += kWord[i];
  for (char c : message) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      line += "\\x";
      line += hex[u >> 4];
      line += hex[u & 15];
    } else {
      line += c;
    }
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line;
  out_.flush();
}

}  // namespace hearth
