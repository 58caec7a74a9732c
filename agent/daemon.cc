#include "hearth/agent/daemon.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <poll.h>
#include <random>
#include <set>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <utility>

#include "hearth/agent/backoff.h"
#include "hearth/agent/check_now.h"
#include "hearth/agent/child_process.h"
#include "hearth/agent/config.h"
#include "hearth/agent/preseed.h"
#include "hearth/agent/runtime.h"
#include "hearth/check_registry.h"
#include "hearth/fd.h"
#include "hearth/log.h"
#include "hearth/result.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t clockNs(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Arms a one-shot timer `after` from now (0 disarms; a zero wait fires after 1 ms).
void armTimer(int fd, milliseconds after, bool disarm = false) {
  itimerspec its{};
  if (!disarm) {
    int64_t ms = std::max<int64_t>(after.count(), 1);
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
  }
  ::timerfd_settime(fd, 0, &its, nullptr);
}

// Fires (ECANCELED on read) when CLOCK_REALTIME is set or the system resumes from suspend.
void armResumeWatch(int fd) {
  itimerspec its{};
  its.it_value.tv_sec = ::time(nullptr) + 10L * 365 * 86400;
  ::timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, nullptr);
}

bool drainTimer(int fd) {
  uint64_t n = 0;
  return ::read(fd, &n, sizeof(n)) == static_cast<ssize_t>(sizeof(n));
}

class Daemon {
 public:
  Daemon(const DaemonOptions& o, AgentConfig config, Logger& log)
      : options_(o),
        config_(std::move(config)),
        log_(log),
        rng_(std::random_device{}()),
        backoff_(backoffOptions(config_)) {}

  static BackoffOptions backoffOptions(const AgentConfig& c) {
    BackoffOptions b;
    b.cap = std::chrono::duration_cast<milliseconds>(c.retry_cap);
    b.security_floor = std::min(b.security_floor, b.cap);
    return b;
  }

  int run() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&mask, s);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    sfd_ = std::make_unique<Fd>(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    cycle_timer_ =
        std::make_unique<Fd>(::timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK));
    retry_timer_ =
        std::make_unique<Fd>(::timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK));
    debounce_timer_ =
        std::make_unique<Fd>(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    resume_watch_ =
        std::make_unique<Fd>(::timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK));
    for (const auto* fd : {&sfd_, &cycle_timer_, &retry_timer_, &debounce_timer_, &resume_watch_}) {
      if ((*fd)->get() < 0) {
        log_.error(std::string("cannot create the daemon's timers: ") + std::strerror(errno));
        return 1;
      }
    }
    openNetlink();
    openControlSocket();
    armResumeWatch(resume_watch_->get());
    sleep_offset_ns_ = clockNs(CLOCK_BOOTTIME) - clockNs(CLOCK_MONOTONIC);
    log_.info("started (interval " + std::to_string(config_.interval.count()) + " s, splay " +
              std::to_string(config_.splay_percent) + " %, heartbeat " +
              std::to_string(config_.heartbeat.count()) + " s, state " + options_.state_dir + ")");

    fullCycle("start");
    while (!stop_) {
      if (runtime_) runtime_->idle();  // nothing talks to the network between cycles
      pollfd fds[7] = {{sfd_->get(), POLLIN, 0},
                       {cycle_timer_->get(), POLLIN, 0},
                       {retry_timer_->get(), POLLIN, 0},
                       {debounce_timer_->get(), POLLIN, 0},
                       {resume_watch_->get(), POLLIN, 0},
                       {nl_ ? nl_->get() : -1, POLLIN, 0},
                       {control_ ? control_->get() : -1, POLLIN, 0}};
      int r = ::poll(fds, 7, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        log_.error(std::string("poll: ") + std::strerror(errno));
        return 1;
      }
      if ((fds[0].revents & POLLIN) != 0) handleSignals();
      if (stop_) break;
      if ((fds[4].revents & POLLIN) != 0) handleClockEvent();
      if ((fds[5].revents & POLLIN) != 0) handleNetlink();
      if ((fds[6].revents & POLLIN) != 0) handleControl();
      if ((fds[1].revents & POLLIN) != 0 && drainTimer(cycle_timer_->get())) {
        std::string reason = pending_reason_.empty() ? "interval" : pending_reason_;
        fullCycle(reason);
      }
      if ((fds[3].revents & POLLIN) != 0 && drainTimer(debounce_timer_->get())) {
        networkCycle();
      }
      if ((fds[2].revents & POLLIN) != 0 && drainTimer(retry_timer_->get())) {
        retry_armed_ = false;
        deliver("retry");
        if (runtime_) (void)runtime_->writeStatus(next_check_);  // a failure is logged there
      }
    }
    log_.info("stopping");
    runtime_.reset();  // stops the uploader
    if (control_) ::unlink(control_path_.c_str());
    return 0;
  }

 private:
  bool signalPending() {
    pollfd p{sfd_->get(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  void handleSignals() {
    signalfd_siginfo si{};
    while (::read(sfd_->get(), &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
      switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
          stop_ = true;
          break;
        case SIGHUP:
          reload();
          break;
        case SIGUSR1:
          log_.info("check requested (SIGUSR1)");
          pending_reason_ = "requested";
          armTimer(cycle_timer_->get(), milliseconds(0));
          break;
        default:
          break;
      }
    }
  }

  void reload() {
    auto c =
        LoadAgentConfig(options_.config_path, options_.config_explicit, options_.config_defaults);
    if (!c.ok()) {
      log_.error("reload: " + c.status().message() + "; keeping the current configuration");
      return;
    }
    config_ = std::move(c).value();
    log_.setLevel(config_.log_level);
    runtime_.reset();  // a new uploader with the new proxy; enrolment read again
    backoff_ = Backoff(backoffOptions(config_));
    retry_armed_ = false;
    armTimer(retry_timer_->get(), milliseconds(0), true);
    log_.info("configuration reloaded from " + options_.config_path);
    pending_reason_ = "reload";
    armTimer(cycle_timer_->get(), milliseconds(0));
  }

  void handleClockEvent() {
    uint64_t n = 0;
    ssize_t r = ::read(resume_watch_->get(), &n, sizeof(n));
    if (r < 0 && errno == ECANCELED) {
      int64_t offset = clockNs(CLOCK_BOOTTIME) - clockNs(CLOCK_MONOTONIC);
      int64_t slept = offset - sleep_offset_ns_;
      sleep_offset_ns_ = offset;
      if (slept > 5LL * 1000000000) {
        log_.info("resumed after " + std::to_string(slept / 1000000000) +
                  " s of suspend; checking once the network settled");
        pending_reason_ = "resume";
        armTimer(cycle_timer_->get(),
                 std::max<milliseconds>(config_.network_debounce, milliseconds(1000)));
      }
    }
    armResumeWatch(resume_watch_->get());
  }

  void openNetlink() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) {
      log_.warning(std::string("no netlink (network changes will wait for the next cycle): ") +
                   std::strerror(errno));
      return;
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                   RTMGRP_IPV6_ROUTE;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      log_.warning(std::string("netlink bind: ") + std::strerror(errno));
      ::close(fd);
      return;
    }
    nl_ = std::make_unique<Fd>(fd);
  }

  void handleNetlink() {
    bool relevant = false;
    alignas(nlmsghdr) char buf[16384];
    while (true) {
      sockaddr_nl from{};
      socklen_t fromlen = sizeof(from);
      ssize_t got =
          ::recvfrom(nl_->get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fromlen);
      int n = static_cast<int>(got);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {  // we missed some: assume a change
          relevant = true;
          continue;
        }
        break;  // EAGAIN: drained
      }
      if (from.nl_pid != 0) continue;  // only the kernel speaks here
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        switch (h->nlmsg_type) {
          case RTM_NEWLINK:
          case RTM_DELLINK:
          case RTM_NEWADDR:
          case RTM_DELADDR:
          case RTM_NEWROUTE:
          case RTM_DELROUTE:
            relevant = true;
            break;
          default:
            break;
        }
      }
    }
    if (relevant) {
      log_.debug("network changed; vpn check in " +
                 std::to_string(config_.network_debounce.count()) + " s unless it changes again");
      armTimer(debounce_timer_->get(), config_.network_debounce);
    }
  }

  void openControlSocket() {
    if (config_.control_socket.empty()) return;
    control_path_ = config_.control_socket;
    std::string dir = control_path_.substr(0, control_path_.rfind('/'));
    if (!dir.empty()) ::mkdir(dir.c_str(), 0755);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", control_path_.c_str());
    ::unlink(control_path_.c_str());  // a stale socket from a previous run (we hold the lock)
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        ::chmod(control_path_.c_str(), 0666) != 0 || ::listen(fd, 4) != 0) {
      log_.warning("no control socket at " + control_path_ + " (`hearth-agent check-now` " +
                   "will not work): " + std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return;
    }
    control_ = std::make_unique<Fd>(fd);
  }

  // One request per connection, no arguments read: the caller is identified by the kernel.
  void handleControl() {
    while (true) {
      int c = ::accept4(control_->get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) {
        if (errno == EMFILE || errno == ENFILE) {
          // Out of descriptors: stop listening rather than spin; a reload opens it again.
          log_.error("control socket: " + std::string(std::strerror(errno)) + "; closed");
          control_.reset();
        }
        return;
      }
      Fd conn(c);
      ucred cred{};
      socklen_t len = sizeof(cred);
      if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) continue;
      CheckNowGate::Answer answer =
          gate_.ask(std::to_string(cred.uid), std::chrono::steady_clock::now());
      if (answer.start) {
        log_.info("check requested by uid " + std::to_string(cred.uid) + " (pid " +
                  std::to_string(cred.pid) + ")");
        pending_reason_ = "requested";
        pending_asker_ = cred.uid;
        armTimer(cycle_timer_->get(), milliseconds(0));
      } else {
        log_.debug("check request from uid " + std::to_string(cred.uid) +
                   " refused: " + text::trim(answer.line));
      }
      (void)!::send(c, answer.line.data(), answer.line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }

  // Preseeded enrolment talks to the server: it runs in a child process, so SIGTERM never waits
  // for it (the daemon kills it and stops).
  void preseedInChild() {
    struct stat st {};
    if (config_.enroll_file.empty() || ::stat(config_.enroll_file.c_str(), &st) != 0) return;
    if (LoadEnrollment(options_.state_dir).ok()) return;
    ChildSpec spec;
    spec.name = "hearth-enroll";
    spec.run = [this](int) {
      auto r = EnrollFromPreseed(config_.enroll_file, options_.state_dir, config_.proxy,
                                 config_.service_user, log_);
      if (!r.ok()) log_.error("preseeded enrolment: " + r.status().message());
      return r.ok() ? 0 : 1;
    };
    auto child = ChildProcess::Start(spec);
    if (!child.ok()) {
      log_.error("preseeded enrolment: " + child.status().message());
      return;
    }
    // A signal (stop, reload, check now) ends the wait; the loop handles it.
    (void)(*child)->wait(std::nullopt, sfd_->get());
  }

  // Opens the runtime when enrolled (enrolling from the preseed file first if there is one).
  bool ensureRuntime() {
    if (runtime_ && runtime_->retired() && !HasRetiredMark(options_.state_dir)) {
      log_.info("enrolled again after retirement");
      runtime_.reset();
    }
    if (runtime_) {
      // `hearth-agent enroll` ran again (e.g. after the certificate expired): a new device.
      auto on_disk = LoadEnrollment(options_.state_dir);
      if (on_disk.ok() && on_disk->device_id != runtime_->enrollment().device_id) {
        log_.info("enrolled again as device " + on_disk->device_id);
        runtime_.reset();
      }
    }
    if (runtime_) return true;
    preseedInChild();
    RuntimeOptions ro;
    ro.state_dir = options_.state_dir;
    ro.config = config_;
    ro.isolate_checks = options_.isolate_checks;
    auto rt = AgentRuntime::open(ro, log_);
    if (!rt.ok()) {
      if (rt.status().code() == StatusCode::kNotFound) {
        if (!said_not_enrolled_) {
          log_.warning("this PC is not enrolled yet (run `hearth-agent enroll`, or provide " +
                       config_.enroll_file + "); checking again at the next cycle");
        }
        said_not_enrolled_ = true;
      } else {
        log_.error("cannot start: " + rt.status().message());
      }
      return false;
    }
    runtime_ = std::move(rt).value();
    runtime_->setInterruptFd(sfd_->get());
    said_not_enrolled_ = false;
    log_.info("enrolled to " + runtime_->enrollment().server + " as device " +
              runtime_->enrollment().device_id +
              (runtime_->retired() ? " (retired: nothing is sent)" : ""));
    return true;
  }

  std::chrono::system_clock::time_point scheduleNext() {
    double splay = config_.splay_percent / 100.0;
    std::uniform_real_distribution<double> d(1.0 - splay, 1.0 + splay);
    auto wait = milliseconds(static_cast<int64_t>(
        static_cast<double>(std::chrono::duration_cast<milliseconds>(config_.interval).count()) *
        d(rng_)));
    armTimer(cycle_timer_->get(), wait);
    pending_reason_.clear();
    return std::chrono::system_clock::now() + wait;
  }

  void fullCycle(const std::string& why) {
    log_.debug("full check (" + why + ")");
    const std::optional<uint32_t> asker = std::exchange(pending_asker_, std::nullopt);
    auto next = scheduleNext();
    if (!ensureRuntime()) return;
    // The policy first: its answer tells the server's clock, against which renewal is judged.
    Status p = runtime_->refreshPolicy();
    (void)runtime_->maybeRenewCertificate();  // logged inside; the cycle goes on
    runtime_->idle();                         // the uploader is not needed while the checks run
    if (!p.ok()) {
      log_.error(p.message());
      return;
    }
    if (signalPending()) return;
    runtime_->setAskedBy(asker);
    auto local = runtime_->runChecks({});
    if (!local.ok()) {
      if (!signalPending()) log_.error("checks: " + local.status().message());
      return;
    }
    afterChecks(*local, why != "interval");
    (void)runtime_->writeStatus(next);  // a failure is logged there
    next_check_ = next;
  }

  // The checks whose entries ask to re-run when the network changes (vpn).
  void networkCycle() {
    if (!runtime_ || runtime_->policy() == nullptr) return;
    std::set<std::string> ids = Checks().rerunOnNetworkChange(*runtime_->policy());
    if (ids.empty()) return;
    std::string names = text::join({ids.begin(), ids.end()}, ", ");
    log_.debug("network changed: " + names + " check");
    auto local = runtime_->runChecks(ids);
    if (!local.ok()) {
      if (!signalPending()) log_.error(names + " check: " + local.status().message());
      return;
    }
    afterChecks(*local, true);
    (void)runtime_->writeStatus(next_check_);  // a failure is logged there
  }

  void afterChecks(const json::Value& local, bool force_delivery) {
    if (const json::Value* c = local.find("compliant"); c != nullptr && c->isBool()) {
      if (!last_compliant_ || *last_compliant_ != c->asBool()) {
        log_.info(c->asBool() ? "this PC meets the agreed level"
                              : "this PC does not meet the agreed level");
      }
      last_compliant_ = c->asBool();
    }
    // Disk full or the like: logged by the runtime (once); the checks and the delivery of what
    // is spooled go on (delivery frees space), and the person still sees status.
    (void)runtime_->spoolIfNeeded(local, false);
    deliver("cycle", force_delivery);
  }

  // `force`: a person asked, the network changed, the PC resumed, or the configuration was
  // reloaded: try now even while backing off, unless the last failure was a security event
  // (TLS, pin, certificate), which keeps its floor.
  void deliver(const char* why, bool force = false) {
    if (!runtime_ || runtime_->retired()) return;
    bool security_hold = last_failure_ == PostResult::Kind::kTlsFailure ||
                         last_failure_ == PostResult::Kind::kAuthFailed;
    if (retry_armed_ && std::string(why) != "retry" && (!force || security_hold)) return;
    if (runtime_->spoolDepth() == 0) return;
    DeliveryOutcome d = runtime_->deliver([this] { return signalPending(); });
    if (d.delivered > 0) {
      log_.info("delivered " + std::to_string(d.delivered) + " report(s); " +
                std::to_string(runtime_->spoolDepth()) + " waiting");
    }
    if (d.emptied) {
      backoff_.onSuccess();
      last_failure_.reset();
      if (retry_armed_) armTimer(retry_timer_->get(), milliseconds(0), true);
      retry_armed_ = false;
      return;
    }
    last_failure_ = d.last.kind;
    if (runtime_->retired() || signalPending()) return;
    milliseconds wait = backoff_.onFailure(d.last);
    log_.warning("delivery failed (" + std::string(PostKindName(d.last.kind)) + ": " +
                 d.last.error + "); next try in " + std::to_string(wait.count() / 1000) + " s");
    armTimer(retry_timer_->get(), wait);
    retry_armed_ = true;
  }

  DaemonOptions options_;
  AgentConfig config_;
  Logger& log_;
  std::mt19937_64 rng_;
  std::unique_ptr<Fd> sfd_, cycle_timer_, retry_timer_, debounce_timer_, resume_watch_, nl_,
      control_;
  std::string control_path_;
  CheckNowGate gate_;  // one check-now a minute per person
  std::unique_ptr<AgentRuntime> runtime_;
  Backoff backoff_;
  bool retry_armed_ = false;
  std::optional<PostResult::Kind> last_failure_;
  bool stop_ = false;
  bool said_not_enrolled_ = false;
  int64_t sleep_offset_ns_ = 0;
  std::string pending_reason_;
  std::optional<uint32_t> pending_asker_;  // who asked through the control socket
  std::optional<bool> last_compliant_;
  std::optional<std::chrono::system_clock::time_point> next_check_;
};

}  // namespace

int RunDaemon(const DaemonOptions& options, std::ostream& err) {
  auto config =
      LoadAgentConfig(options.config_path, options.config_explicit, options.config_defaults);
  if (!config.ok()) {
    err << "hearth-agent run: " << config.status().message() << "\n";
    return 2;
  }
  auto lock = LockStateDir(options.state_dir);
  if (!lock.ok()) {
    err << "hearth-agent run: " << lock.status().message() << "\n";
    return lock.status().code() == StatusCode::kFailedPrecondition ? 2 : 1;
  }
  Fd held(*lock);
  Logger log(err, config->log_level, LogFormat::ForStderr("hearth-agent"));
  Daemon d(options, *config, log);
  return d.run();
}

}  // namespace hearth::agent
