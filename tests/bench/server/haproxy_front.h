// HAProxy in front of several hearth-servers for the load bench (hearth_scale_bench --haproxy):
// the shipped configuration (packaging/haproxy/hearth.cfg: TCP mode, TLS passthrough, /healthz
// checks on the admin listener) with loopback addresses, run in the foreground. The same
// rewriting as tests/integration/cluster_test.cc (the `cluster` label), kept apart so the bench
// does not link the integration fixture.
#pragma once

#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace hearth::bench {

// A free TCP port on 127.0.0.1 (bound and released), 0 when none.
int FreeLoopbackPort();

// The shipped configuration `shipped` with the frontend on 127.0.0.1:`port`, one `server` line
// per (devices address, admin address), the health check's CA `ca_file`, the log on stderr.
std::string HaproxyConfig(const std::string& shipped, int port,
                          const std::vector<std::pair<std::string, std::string>>& servers,
                          const std::string& ca_file);

// haproxy -db -f CONFIG, stdout and stderr into `log_path`; SIGTERM and wait on destruction.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& binary, const std::string& config_path,
                 const std::string& log_path);
  ~HaproxyProcess();
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

 private:
  pid_t pid_ = -1;
};

}  // namespace hearth::bench
