// `hearth-agent run` on Windows (daemon.h): the Windows service "HearthAgent", or, started from a
// console, the same loop in the foreground until Ctrl+C.
//
// The service control manager's STOP and SHUTDOWN end the loop within a second of the running
// step (a check run or a delivery is not interrupted midway: each is bounded by its timeouts);
// PAUSE holds the cycles (nothing is checked or sent) until CONTINUE. Each cycle is the Linux
// daemon's full cycle: preseeded enrolment while not enrolled (%ProgramData%\Hearth\enroll.conf),
// the signed policy, certificate renewal, the checks, a report spooled when the verdicts changed
// or the heartbeat is due (always on the first cycle after start), delivery of the whole spool
// in order, status.json. Cycles come every `interval` ± `splay`; a delivery that failed is tried
// again at the next cycle (the Linux daemon's retry timer and network watch are not here yet).
// `hearth-agent check-now` asks for a cycle now through the control pipe (check_now_windows.h).
// The service's log goes to agent.log in the state directory's parent (%ProgramData%\Hearth).
// Recovery (restart after a crash) is configured by the service at each start.
#include <windows.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>

#include "check_now_windows.h"
#include "hearth/agent/daemon.h"
#include "hearth/agent/enrollment.h"
#include "hearth/agent/preseed.h"
#include "hearth/agent/runtime.h"
#include "hearth/agent/state_dir.h"
#include "hearth/fd.h"
#include "hearth/files.h"
#include "hearth/log.h"

namespace hearth::agent {

namespace {

constexpr wchar_t kServiceName[] = L"HearthAgent";

// What the control handler and the loop share (one service per process).
struct ServiceState {
  HANDLE stop = nullptr;  // manual-reset: STOP, SHUTDOWN or Ctrl+C
  HANDLE wake = nullptr;  // auto-reset: PAUSE or CONTINUE arrived
  volatile LONG paused = 0;
  SERVICE_STATUS_HANDLE status_handle = nullptr;
  SERVICE_STATUS status{};
  DaemonOptions options;
  int exit_code = 0;
};

ServiceState& state() {
  static ServiceState* s = new ServiceState();  // lives as long as the process
  return *s;
}

void report(DWORD current, DWORD exit_code = NO_ERROR) {
  ServiceState& s = state();
  if (s.status_handle == nullptr) return;
  s.status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  s.status.dwCurrentState = current;
  s.status.dwWin32ExitCode = exit_code;
  s.status.dwControlsAccepted =
      current == SERVICE_START_PENDING || current == SERVICE_STOP_PENDING
          ? 0
          : SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PAUSE_CONTINUE;
  s.status.dwWaitHint = current == SERVICE_STOP_PENDING ? 30000 : 0;
  if (current == SERVICE_START_PENDING || current == SERVICE_STOP_PENDING) {
    ++s.status.dwCheckPoint;
  } else {
    s.status.dwCheckPoint = 0;
  }
  ::SetServiceStatus(s.status_handle, &s.status);
}

DWORD WINAPI onControl(DWORD control, DWORD /*type*/, void* /*data*/, void* /*context*/) {
  ServiceState& s = state();
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      report(SERVICE_STOP_PENDING);
      ::SetEvent(s.stop);
      return NO_ERROR;
    case SERVICE_CONTROL_PAUSE:
      ::InterlockedExchange(&s.paused, 1);
      ::SetEvent(s.wake);
      report(SERVICE_PAUSED);
      return NO_ERROR;
    case SERVICE_CONTROL_CONTINUE:
      ::InterlockedExchange(&s.paused, 0);
      ::SetEvent(s.wake);
      report(SERVICE_RUNNING);
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

BOOL WINAPI onConsoleCtrl(DWORD /*type*/) {
  ::SetEvent(state().stop);
  return TRUE;
}

bool stopRequested() { return ::WaitForSingleObject(state().stop, 0) == WAIT_OBJECT_0; }

enum class Woken { kStop, kCycle, kRequested };

// Waits `wait`, or less when stopped or when `requested` (check-now; may be null) is set; holds
// while paused (a request made then is answered after CONTINUE).
Woken sleepUntilNextCycle(std::chrono::milliseconds wait, HANDLE requested) {
  ServiceState& s = state();
  const auto until = std::chrono::steady_clock::now() + wait;
  HANDLE events[3] = {s.stop, s.wake, requested};
  bool asked = false;
  while (true) {
    if (asked && s.paused == 0) return Woken::kRequested;
    DWORD ms = INFINITE;
    if (s.paused == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Woken::kCycle;
      ms = static_cast<DWORD>(std::min<int64_t>(left.count(), 0x7fffffff));
    }
    DWORD r = ::WaitForMultipleObjects(requested != nullptr ? 3 : 2, events, FALSE, ms);
    if (r == WAIT_OBJECT_0) return Woken::kStop;
    if (r == WAIT_OBJECT_0 + 2) asked = true;
    if (r == WAIT_TIMEOUT && s.paused == 0) return Woken::kCycle;
  }
}

class ServiceLoop {
 public:
  ServiceLoop(const DaemonOptions& o, AgentConfig config, Logger& log)
      : options_(o), config_(std::move(config)), log_(log), rng_(std::random_device{}()) {}

  int run() {
    auto lock = LockStateDir(options_.state_dir);
    if (!lock.ok()) {
      log_.error(lock.status().message());
      return 2;
    }
    Fd held(*lock);
    log_.info("started (interval " + std::to_string(config_.interval.count()) + " s, state " +
              options_.state_dir + ")");
    // `hearth-agent check-now` (check_now_windows.h).
    std::unique_ptr<ControlPipe> control = OpenControlPipe(config_.control_socket, log_);
    bool first = true;
    std::optional<uint32_t> asker;
    while (!stopRequested()) {
      const auto wait = nextWait();
      const auto next = std::chrono::system_clock::now() + wait;
      cycle(first, next, asker);
      first = false;
      if (runtime_) runtime_->idle();  // nothing talks to the network between cycles
      const Woken woken = sleepUntilNextCycle(wait, control ? control->requested() : nullptr);
      if (woken == Woken::kStop) break;
      asker = woken == Woken::kRequested ? control->takeAsker() : std::nullopt;
    }
    log_.info("stopped");
    return 0;
  }

 private:
  std::chrono::milliseconds nextWait() {
    double splay = config_.splay_percent / 100.0;
    std::uniform_real_distribution<double> d(1.0 - splay, 1.0 + splay);
    return std::chrono::milliseconds(static_cast<int64_t>(
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::milliseconds>(config_.interval).count()) *
        d(rng_)));
  }

  bool ensureRuntime() {
    if (runtime_) {
      auto on_disk = LoadEnrollment(options_.state_dir);
      if (on_disk.ok() && on_disk->device_id != runtime_->enrollment().device_id) {
        log_.info("enrolled again as device " + on_disk->device_id);
        runtime_.reset();
      }
    }
    if (runtime_) return true;
    if (!LoadEnrollment(options_.state_dir).ok()) {
      auto r = EnrollFromPreseed(config_.enroll_file, options_.state_dir, config_.proxy,
                                 config_.service_user, log_);
      if (!r.ok()) log_.error("preseeded enrolment: " + r.status().message());
    }
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
    said_not_enrolled_ = false;
    log_.info("enrolled to " + runtime_->enrollment().server + " as device " +
              runtime_->enrollment().device_id +
              (runtime_->retired() ? " (retired: nothing is sent)" : ""));
    return true;
  }

  // `asker`: the session of whoever asked for this check (check-now), told their problems again.
  void cycle(bool first, std::chrono::system_clock::time_point next,
             std::optional<uint32_t> asker) {
    if (!ensureRuntime() || runtime_->retired()) return;
    Status p = runtime_->refreshPolicy();
    (void)runtime_->maybeRenewCertificate();  // logged inside; the cycle goes on
    runtime_->idle();
    if (!p.ok()) {
      log_.error(p.message());
      return;
    }
    if (stopRequested()) return;
    runtime_->setAskedBy(asker);
    auto local = runtime_->runChecks({});
    if (!local.ok()) {
      log_.error("checks: " + local.status().message());
      return;
    }
    (void)runtime_->spoolIfNeeded(*local, first);  // a failure is logged there
    if (!stopRequested() && !runtime_->retired()) {
      DeliveryOutcome d = runtime_->deliver(stopRequested);
      if (!d.emptied && !d.last.error.empty()) {
        log_.warning("delivery: " + d.last.error + " (" + std::to_string(runtime_->spoolDepth()) +
                     " waiting; tried again at the next cycle)");
      }
    }
    (void)runtime_->writeStatus(next);
  }

  DaemonOptions options_;
  AgentConfig config_;
  Logger& log_;
  std::mt19937_64 rng_;
  std::unique_ptr<AgentRuntime> runtime_;
  bool said_not_enrolled_ = false;
};

// Recovery: the service manager restarts the service 30 s after it ends without being stopped
// (twice, then after 5 minutes; the count resets after a day). Set by the service itself at each
// start, so it holds however it was registered (the MSI, sc create). Returns what failed, or "".
std::string configureRecovery(Logger* log) {
  SC_HANDLE manager = ::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  SC_HANDLE service =
      manager != nullptr ? ::OpenServiceW(manager, kServiceName, SERVICE_CHANGE_CONFIG) : nullptr;
  std::string problem;
  if (service == nullptr) {
    problem = "OpenService error " + std::to_string(::GetLastError());
  } else {
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 300000}};
    SERVICE_FAILURE_ACTIONSW failure{};
    failure.dwResetPeriod = 86400;
    failure.cActions = 3;
    failure.lpsaActions = actions;
    if (!::ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
      problem = "ChangeServiceConfig2(FAILURE_ACTIONS) error " + std::to_string(::GetLastError());
    }
    ::CloseServiceHandle(service);
  }
  if (manager != nullptr) ::CloseServiceHandle(manager);
  if (log != nullptr && !problem.empty()) {
    log->warning("could not set the service's recovery actions: " + problem);
  }
  return problem;
}

// The loop with its configuration and log; `log_stream` is stderr (console) or agent.log.
int runLoop(std::ostream& log_stream) {
  ServiceState& s = state();
  auto config =
      LoadAgentConfig(s.options.config_path, s.options.config_explicit, s.options.config_defaults);
  if (!config.ok()) {
    log_stream << "hearth-agent run: " << config.status().message() << "\n";
    return 2;
  }
  Logger log(log_stream, config->log_level, LogFormat::Terminal("hearth-agent"));
  if (s.status_handle != nullptr) (void)configureRecovery(&log);
  ServiceLoop loop(s.options, *config, log);
  return loop.run();
}

void WINAPI serviceMain(DWORD /*argc*/, wchar_t** /*argv*/) {
  ServiceState& s = state();
  s.status_handle = ::RegisterServiceCtrlHandlerExW(kServiceName, onControl, nullptr);
  if (s.status_handle == nullptr) return;
  report(SERVICE_START_PENDING);
  // The log beside the state directory (%ProgramData%\Hearth\agent.log), appended.
  std::string dir = ParentDir(s.options.state_dir);
  std::ofstream log_file(dir + "/agent.log", std::ios::app);
  report(SERVICE_RUNNING);
  s.exit_code = runLoop(log_file.is_open() ? static_cast<std::ostream&>(log_file) : std::cerr);
  log_file.flush();
  report(SERVICE_STOPPED, s.exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR);
}

}  // namespace

int RunDaemon(const DaemonOptions& options, std::ostream& err) {
  ServiceState& s = state();
  s.options = options;
  s.stop = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  s.wake = ::CreateEventW(nullptr, FALSE, FALSE, nullptr);
  wchar_t name[] = L"HearthAgent";
  SERVICE_TABLE_ENTRYW table[] = {{name, serviceMain}, {nullptr, nullptr}};
  if (::StartServiceCtrlDispatcherW(table)) return s.exit_code;
  const DWORD why = ::GetLastError();
  if (why != ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
    err << "hearth-agent run: cannot start the service (error " << why << ")\n";
    return 1;
  }
  // Not started by the service control manager: in the foreground until Ctrl+C.
  ::SetConsoleCtrlHandler(onConsoleCtrl, TRUE);
  return runLoop(err);
}

}  // namespace hearth::agent
