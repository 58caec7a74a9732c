// The server's log: one line per event to one stream (stderr: journald), with a syslog priority
// prefix. Callers JSON-escape device-supplied text (json::escape) so that a line stays one line.
// Thread-safe.
#pragma once

#include <mutex>
#include <ostream>
#include <string>

namespace hearth::server {

class Log {
 public:
  explicit Log(std::ostream& out) : out_(out) {}
  void info(const std::string& line) { write("<6>", line); }
  void warn(const std::string& line) { write("<4>", line); }
  void error(const std::string& line) { write("<3>", line); }

 private:
  void write(const char* prio, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    out_ << prio << "hearth-server: " << line << std::endl;
  }
  std::ostream& out_;
  std::mutex mu_;
};

}  // namespace hearth::server
