// hearth-notify (notify_session.h): one notification with actions over sd-bus, and the process
// that keeps its connection open to hear which action the person chose.
#include "hearth/agent/notify_session.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <memory>
#include <poll.h>
#include <set>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "hearth/agent/check_now.h"
#include "hearth/fd.h"
#include "hearth/flags.h"
#include "hearth/process.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {

constexpr char kDestination[] = "org.freedesktop.Notifications";
constexpr char kObjectPath[] = "/org/freedesktop/Notifications";
constexpr char kInterface[] = "org.freedesktop.Notifications";
constexpr char kCheckAgain[] = "check-again";
constexpr char kDetails[] = "details";
constexpr size_t kMaxResultLine = 2048;
constexpr auto kMaxWait = std::chrono::hours(24);

using Clock = std::chrono::steady_clock;

// sd-bus objects released at the end of their scope.
struct BusUnref {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;
struct SlotUnref {
  void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

// A D-Bus error (or a negative errno from sd-bus) as one line: the error's name first, so the
// daemon can tell "no notification service" from other failures.
std::string BusProblem(const sd_bus_error& error, int r, const std::string& what) {
  if (sd_bus_error_is_set(&error)) {
    return std::string(error.name) + ": " + (error.message != nullptr ? error.message : what);
  }
  return what + ": " + std::strerror(-r);
}

Status BusError(sd_bus_error& error, int r, const std::string& what) {
  std::string line = BusProblem(error, r, what);
  sd_bus_error_free(&error);
  return UnavailableError(line);
}

uint64_t Micros(std::chrono::seconds s) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(s).count());
}

// The conversation with the notification service on one connection.
class Session {
 public:
  explicit Session(const SessionNotification& n) : n_(n) {}

  Status connect() {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0) return UnavailableError(std::string("sd_bus_new: ") + std::strerror(-r));
    bus_.reset(raw);
    if ((r = sd_bus_set_address(raw, n_.address.c_str())) < 0 ||
        (r = sd_bus_set_bus_client(raw, 1)) < 0 ||
        (r = sd_bus_set_description(raw, "hearth-notify")) < 0 ||
        (r = sd_bus_set_method_call_timeout(raw, Micros(n_.timeout))) < 0 ||
        (r = sd_bus_start(raw)) < 0) {
      return UnavailableError("cannot connect to the session bus " + n_.address + ": " +
                              std::strerror(-r));
    }
    return OkStatus();
  }

  Status capabilities() {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus_.get(), kDestination, kObjectPath, kInterface, "GetCapabilities",
                               &error, &reply, "");
    if (r < 0) return BusError(error, r, "asking the notification service");
    MessagePtr owned(reply);
    char** caps = nullptr;
    r = sd_bus_message_read_strv(reply, &caps);
    if (r < 0) {
      return UnavailableError(std::string("unexpected answer to GetCapabilities: ") +
                              std::strerror(-r));
    }
    for (char** c = caps; c != nullptr && *c != nullptr; ++c) {
      caps_.insert(*c);
      free(*c);  // NOLINT(cppcoreguidelines-no-malloc): sd-bus allocates with malloc
    }
    free(caps);  // NOLINT(cppcoreguidelines-no-malloc)
    return OkStatus();
  }

  bool markup() const { return caps_.count("body-markup") > 0; }
  bool actions() const { return caps_.count("actions") > 0; }

  // Listens for the service's signals before anything is shown, so none is missed.
  Status listen() {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_match_signal(bus_.get(), &slot, nullptr, kObjectPath, kInterface,
                                "ActionInvoked", &Session::onAction, this);
    if (r < 0) return UnavailableError(std::string("AddMatch: ") + std::strerror(-r));
    action_slot_.reset(slot);
    r = sd_bus_match_signal(bus_.get(), &slot, nullptr, kObjectPath, kInterface,
                            "NotificationClosed", &Session::onClosed, this);
    if (r < 0) return UnavailableError(std::string("AddMatch: ") + std::strerror(-r));
    closed_slot_.reset(slot);
    return OkStatus();
  }

  // Notify; on success id_ and the service's unique name are kept for the signals.
  Status show(const std::string& title, const std::string& body, bool details_shown) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &raw, kDestination, kObjectPath, kInterface,
                                           "Notify");
    if (r < 0) return UnavailableError(std::string("Notify: ") + std::strerror(-r));
    MessagePtr m(raw);
    const std::string text = markup() ? EscapeBodyMarkup(body) : body;
    std::vector<std::string> actions = NotificationActions(n_, this->actions(), details_shown);
    std::vector<char*> strv;
    for (auto& a : actions) strv.push_back(a.data());
    strv.push_back(nullptr);
    // Notify(app_name s, replaces_id u, app_icon s, summary s, body s, actions as, hints a{sv},
    //        expire_timeout i): 0 = stays until the person dismisses it.
    if ((r = sd_bus_message_append(raw, "susss", "Hearth", id_, n_.icon.c_str(), title.c_str(),
                                   text.c_str())) < 0 ||
        (r = sd_bus_message_append_strv(raw, strv.data())) < 0 ||
        (r = sd_bus_message_append(raw, "a{sv}", 1, "urgency", "y", n_.urgency)) < 0 ||
        (r = sd_bus_message_append(raw, "i", 0)) < 0) {
      return UnavailableError(std::string("Notify: ") + std::strerror(-r));
    }
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call(bus_.get(), raw, Micros(n_.timeout), &error, &reply);
    if (r < 0) return BusError(error, r, "showing a notification");
    MessagePtr owned(reply);
    uint32_t id = 0;
    if ((r = sd_bus_message_read(reply, "u", &id)) < 0) {
      return UnavailableError(std::string("unexpected answer to Notify: ") + std::strerror(-r));
    }
    id_ = id;
    const char* sender = sd_bus_message_get_sender(reply);
    service_ = sender != nullptr ? sender : "";
    offered_ = !actions.empty();
    return OkStatus();
  }

  uint32_t id() const { return id_; }
  bool offered() const { return offered_; }

  // Handles the service's signals until the notification is closed, the bus goes away or
  // `wait` passes.
  void serve(std::chrono::seconds wait) {
    const auto deadline = Clock::now() + wait;
    while (!done_) {
      int r = sd_bus_process(bus_.get(), nullptr);
      if (r < 0) return;  // the bus went away (the person logged out)
      if (r > 0) continue;
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;
      r = sd_bus_wait(bus_.get(), static_cast<uint64_t>(left.count()));
      if (r < 0 && r != -EINTR) return;
    }
  }

 private:
  // Only the service that showed the notification speaks for it.
  bool ours(sd_bus_message* m, uint32_t id) const {
    const char* sender = sd_bus_message_get_sender(m);
    return id == id_ && sender != nullptr && service_ == sender;
  }

  static int onAction(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
    auto* self = static_cast<Session*>(userdata);
    uint32_t id = 0;
    const char* key = nullptr;
    if (sd_bus_message_read(m, "us", &id, &key) < 0 || key == nullptr || !self->ours(m, id)) {
      return 0;
    }
    const std::string action = key;
    if (action == kCheckAgain && !self->n_.check_again_label.empty()) {
      // The daemon answers "ok: ..." or "busy: ..." (once a minute per person); either way the
      // next result is told by the daemon as usual. Nothing to show from here.
      (void)AskForCheck(self->n_.control_socket);
    } else if (action == kDetails && !self->n_.details_label.empty()) {
      // In place of this notification (replaces_id); "Check again" stays on it.
      if (!self->show(self->n_.details_title, self->n_.details_body, true).ok()) {
        self->done_ = true;
      }
    }
    return 0;
  }

  static int onClosed(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
    auto* self = static_cast<Session*>(userdata);
    uint32_t id = 0;
    uint32_t reason = 0;
    if (sd_bus_message_read(m, "uu", &id, &reason) < 0 || !self->ours(m, id)) return 0;
    self->done_ = true;
    return 0;
  }

  const SessionNotification& n_;
  BusPtr bus_;
  SlotPtr action_slot_;
  SlotPtr closed_slot_;
  std::set<std::string> caps_;
  uint32_t id_ = 0;
  std::string service_;
  bool offered_ = false;
  bool done_ = false;
};

void WriteLine(int fd, const std::string& line) {
  std::string text = line + "\n";
  size_t off = 0;
  while (off < text.size()) {
    ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

// The child: shows the notification, reports on `result_fd` ("ok ..." or "error ...") and then,
// when actions were offered, looks after them. Returns the exit code.
int RunChild(const SessionNotification& n, int result_fd) {
  Session s(n);
  Status st = s.connect();
  if (st.ok()) st = s.capabilities();
  if (st.ok() && s.actions()) st = s.listen();
  if (st.ok()) st = s.show(n.title, n.body, false);
  if (!st.ok()) {
    WriteLine(result_fd, "error " + st.message());
    ::close(result_fd);
    return 1;
  }
  WriteLine(result_fd, "ok id=" + std::to_string(s.id()) + " actions=" + (s.offered() ? "1" : "0") +
                           " markup=" + (s.markup() ? "1" : "0"));
  ::close(result_fd);
  if (s.offered()) s.serve(n.wait);
  return 0;
}

// The parent: the child's one result line, waited for at most `limit`.
StatusOr<std::string> ReadResult(int fd, std::chrono::milliseconds limit) {
  std::string got;
  const auto deadline = Clock::now() + limit;
  while (got.find('\n') == std::string::npos && got.size() < kMaxResultLine) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return DeadlineExceededError("no answer from the session bus in time");
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    char buf[512];
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got.append(buf, static_cast<size_t>(r));
  }
  if (got.find('\n') == std::string::npos) {
    return UnavailableError("the notification process ended without an answer");
  }
  return got.substr(0, got.find('\n'));
}

}  // namespace

StatusOr<SessionNotification> ParseSessionNotification(const std::vector<std::string>& args) {
  static constexpr FlagSpec kFlags[] = {
      {.name = "--address", .non_empty = true},
      {.name = "--title", .non_empty = true},
      {.name = "--body"},
      {.name = "--urgency", .non_empty = true},
      {.name = "--icon", .non_empty = true},
      {.name = "--timeout", .non_empty = true},
      {.name = "--wait", .non_empty = true},
      {.name = "--check-again", .non_empty = true},
      {.name = "--control-socket"},
      {.name = "--details", .non_empty = true},
      {.name = "--details-title"},
      {.name = "--details-body"},
  };
  HEARTH_ASSIGN_OR_RETURN(ParsedFlags f, ParseFlags(args, kFlags));
  if (!f.has("--address") || !f.has("--title")) {
    return InvalidArgumentError("--address and --title are required");
  }
  SessionNotification n;
  n.address = f.get("--address");
  n.title = f.get("--title");
  n.body = f.get("--body");
  n.icon = f.get("--icon", n.icon);
  auto number = [&](const char* name, int64_t low, int64_t high, int64_t fallback) {
    std::string v = f.get(name);
    if (v.empty()) return StatusOr<int64_t>(fallback);
    auto parsed = text::parseInt(v);
    if (!parsed || *parsed < low || *parsed > high) {
      return StatusOr<int64_t>(InvalidArgumentError(std::string(name) + " must be a number from " +
                                                    std::to_string(low) + " to " +
                                                    std::to_string(high)));
    }
    return StatusOr<int64_t>(*parsed);
  };
  HEARTH_ASSIGN_OR_RETURN(int64_t urgency, number("--urgency", 0, 2, 1));
  HEARTH_ASSIGN_OR_RETURN(int64_t timeout, number("--timeout", 1, 120, 5));
  HEARTH_ASSIGN_OR_RETURN(
      int64_t wait,
      number("--wait", 0, std::chrono::duration_cast<std::chrono::seconds>(kMaxWait).count(),
             3600));
  n.urgency = static_cast<int>(urgency);
  n.timeout = std::chrono::seconds(timeout);
  n.wait = std::chrono::seconds(wait);
  n.check_again_label = f.get("--check-again");
  n.control_socket = f.get("--control-socket");
  if (!n.check_again_label.empty() && n.control_socket.empty()) {
    return InvalidArgumentError("--check-again needs --control-socket");
  }
  n.details_label = f.get("--details");
  n.details_title = f.get("--details-title", n.title);
  n.details_body = f.get("--details-body");
  return n;
}

std::vector<std::string> NotificationActions(const SessionNotification& n, bool actions_capable,
                                             bool details_shown) {
  std::vector<std::string> out;
  if (!actions_capable) return out;
  if (!n.check_again_label.empty() && !n.control_socket.empty()) {
    out.insert(out.end(), {kCheckAgain, n.check_again_label});
  }
  if (!details_shown && !n.details_label.empty())
    out.insert(out.end(), {kDetails, n.details_label});
  return out;
}

std::string EscapeBodyMarkup(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

int NotifySessionMain(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  auto parsed = ParseSessionNotification(args);
  if (!parsed.ok()) {
    std::cerr << "hearth-notify: " << parsed.status().message() << "\n";
    return 2;
  }
  const SessionNotification& n = *parsed;
  auto pipe = OpenPipe();
  if (!pipe.ok()) {
    std::cerr << "hearth-notify: " << pipe.status().message() << "\n";
    return 1;
  }
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = ::fork();
  if (pid < 0) {
    std::cerr << "hearth-notify: fork: " << std::strerror(errno) << "\n";
    return 1;
  }
  if (pid == 0) {
    // Its own session: outlives the parent and the process group of whoever started it. Its
    // standard streams are not the caller's, so the caller sees the end of output when the
    // parent exits.
    pipe->read.reset();
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::close(devnull);
    }
    int code = RunChild(n, pipe->write.release());
    std::exit(code);  // NOLINT(concurrency-mt-unsafe): single-threaded child
  }
  pipe->write.reset();
  auto result = ReadResult(pipe->read.get(), n.timeout * 2 + std::chrono::seconds(5));
  if (!result.ok()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::cerr << "hearth-notify: " << result.status().message() << "\n";
    return 1;
  }
  if (result->starts_with("ok ")) {
    std::cout << result->substr(3) << "\n";
    return 0;
  }
  ::waitpid(pid, nullptr, 0);  // it exits right after a failure
  std::cerr << (result->starts_with("error ") ? result->substr(6) : *result) << "\n";
  return 1;
}

}  // namespace hearth::agent
