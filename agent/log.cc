#include "hearth/agent/log.h"

#include <cstdlib>
#include <iostream>

namespace hearth::agent {

Logger::Logger(std::ostream& out, LogLevel level, bool journal)
    : out_(out), level_(level), journal_(journal) {}

Logger Logger::ForStderr(LogLevel level) {
  return Logger(std::cerr, level, std::getenv("JOURNAL_STREAM") != nullptr);
}

void Logger::write(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) > static_cast<int>(level_)) return;
  std::string line;
  line.reserve(message.size() + 32);
  for (char c : message) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      line += "\\x";
      line += hex[u >> 4];
      line += hex[u & 15];
    } else {
      line += c;
    }
  }
  static const char* kPriority[] = {"<3>", "<4>", "<6>", "<7>"};
  static const char* kWord[] = {"error: ", "warning: ", "", "debug: "};
  int i = static_cast<int>(level);
  if (journal_) {
    out_ << kPriority[i] << line << "\n";
  } else {
    out_ << "hearth-agent: " << kWord[i] << line << "\n";
  }
  out_.flush();
}

}  // namespace hearth::agent
