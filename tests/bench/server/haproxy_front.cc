// HAProxy in front of hearth-servers for the load bench (see haproxy_front.h).
#include "haproxy_front.h"

#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hearth/text.h"
#include "support/server_process.h"

namespace hearth::bench {

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

std::string HaproxyConfig(const std::string& shipped, int port,
                          const std::vector<std::pair<std::string, std::string>>& servers,
                          const std::string& ca_file) {
  const std::string ca_path = "/etc/haproxy/hearth-ca.pem";
  std::string out;
  bool servers_written = false;
  for (const std::string& line : text::split(shipped, '\n')) {
    std::string t = text::trim(line);
    if (t.rfind("log /dev/log", 0) == 0) {
      out += "    log stderr format raw local0\n";
    } else if (t.rfind("bind ", 0) == 0) {
      out += "    bind 127.0.0.1:" + std::to_string(port) + "\n";
    } else if (t.rfind("server ", 0) == 0) {
      if (servers_written) continue;
      servers_written = true;
      for (size_t i = 0; i < servers.size(); ++i) {
        std::string admin_port = servers[i].second.substr(servers[i].second.rfind(':') + 1);
        out += "    server hearth" + std::to_string(i + 1) + " " + servers[i].first + " port " +
               admin_port + "\n";
      }
    } else {
      std::string l = line;
      if (size_t ca = l.find(ca_path); ca != std::string::npos)
        l.replace(ca, ca_path.size(), ca_file);
      out += l + "\n";
    }
  }
  return out;
}

HaproxyProcess::HaproxyProcess(const std::string& binary, const std::string& config_path,
                               const std::string& log_path) {
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    testing::KillWhenParentDies(parent);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(binary.c_str(), binary.c_str(), "-db", "-f", config_path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
}

HaproxyProcess::~HaproxyProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

}  // namespace hearth::bench
