#include "support/server_process.h"

#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/files.h"

namespace hearth::testing {

void KillWhenParentDies(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // it died before prctl
}

ServerProcess::ServerProcess(const std::vector<std::string>& argv, const std::string& log_path,
                             std::chrono::milliseconds timeout)
    : log_path_(log_path) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return;
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    KillWhenParentDies(parent);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(pipefd[1], 1);
    if (log >= 0) ::dup2(log, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  out_fd_ = pipefd[0];
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char c[256];
    ssize_t n = ::read(out_fd_, c, sizeof c);
    if (n <= 0) break;
    buf.append(c, static_cast<size_t>(n));
    size_t pos = buf.find("listening ");
    if (pos != std::string::npos) {
      size_t nl = buf.find('\n', pos);
      if (nl != std::string::npos) {
        listening_line_ = buf.substr(pos, nl - pos);
        break;
      }
    }
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop(std::chrono::seconds(5));
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::string ServerProcess::address(const std::string& name) const {
  std::string key = name + "=";
  size_t pos = listening_line_.find(key);
  if (pos == std::string::npos) return "";
  size_t end = listening_line_.find(' ', pos);
  return listening_line_.substr(
      pos + key.size(), end == std::string::npos ? std::string::npos : end - pos - key.size());
}

int ServerProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    ::usleep(10000);
  }
  kill9();
  return -1;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

TestServer::TestServer(std::string state_dir, std::string database, std::string binary)
    : state_dir_(std::move(state_dir)),
      database_(std::move(database)),
      binary_(std::move(binary)) {}

std::vector<std::string> TestServer::withDatabase(std::vector<std::string> argv) const {
  if (!database_.empty()) argv.insert(argv.end(), {"--database", database_});
  return argv;
}

ProcessOutput TestServer::init(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = withDatabase({binary_, "init", "--state-dir", state_dir_});
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

ProcessOutput TestServer::cli(std::vector<std::string> args) const {
  args.insert(args.begin(), binary_);
  args.insert(args.end(), {"--state-dir", state_dir_});
  return RunProcess(withDatabase(std::move(args)));
}

bool TestServer::serve(const std::string& log_path, const ServeOptions& options) {
  process_.reset();
  std::vector<std::string> argv = options.prefix;
  argv.insert(argv.end(), {binary_, "serve", "--state-dir", state_dir_, "--listen", options.listen,
                           "--admin-listen", options.admin_listen});
  argv = withDatabase(std::move(argv));
  argv.insert(argv.end(), options.extra.begin(), options.extra.end());
  process_ = std::make_unique<ServerProcess>(argv, log_path);
  return process_->started();
}

std::string TestServer::address(const std::string& name) const {
  return process_ ? process_->address(name) : "";
}

int TestServer::stop() { return process_ ? process_->stop() : -1; }

void TestServer::kill9() {
  if (process_) process_->kill9();
}

std::string TestServer::adminToken() const {
  return Trimmed(ReadFile(state_dir_ + "/admin-token"));
}

std::string TestServer::enrollSecret() const {
  return Trimmed(ReadFile(state_dir_ + "/enroll-secret"));
}

}  // namespace hearth::testing
