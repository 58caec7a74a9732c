// The rule for "check now" requests, shared by the Linux daemon and the Windows service, and
// `hearth-agent check-now` on top of either OS's AskForCheck (check_now.h).
#include <ostream>

#include "hearth/agent/check_now.h"

namespace hearth::agent {

CheckNowGate::Answer CheckNowGate::ask(const std::string& person,
                                       std::chrono::steady_clock::time_point now) {
  using std::chrono::seconds;
  Answer a;
  auto last = last_.find(person);
  if (last != last_.end() && now - last->second < seconds(kCheckNowMinSeconds)) {
    auto wait =
        seconds(kCheckNowMinSeconds) - std::chrono::duration_cast<seconds>(now - last->second);
    a.line = "busy: a check was requested less than a minute ago; try again in " +
             std::to_string(wait.count()) + " s\n";
  } else if (last_any_ && now - *last_any_ < seconds(5)) {
    a.line = "busy: a check is starting now; see `hearth-agent status` in a moment\n";
  } else {
    if (last_.size() > 1000) last_.clear();
    last_[person] = now;
    last_any_ = now;
    a.start = true;
    a.line = "ok: checking now; see `hearth-agent status` in a moment\n";
  }
  return a;
}

int RequestCheckNow(const std::string& socket_path, std::ostream& out, std::ostream& err) {
  auto answer = AskForCheck(socket_path);
  if (!answer.ok()) {
    err << "hearth-agent check-now: " << answer.status().message() << "\n";
    return 1;
  }
  out << *answer;
  return answer->starts_with("ok:") ? 0 : 1;
}

}  // namespace hearth::agent
