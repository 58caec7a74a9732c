// Desktop notifications for failed required checks (notify.h): what was already said to whom (a
// small JSON state file), when to say it (once a day per problem, quiet hours, what changed, who
// asked) and the loop over the people at the PC. Finding them and showing a notification is the
// OS's part (notify_platform.h: notify_linux.cc, notify_windows.cc); what a notification says
// is notify_text.cc's.
#include "hearth/agent/notify.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "hearth/files.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "notify_platform.h"

namespace hearth::agent {

namespace {

constexpr size_t kStateFileLimit = 1 << 20;
constexpr size_t kMaxLogged = 200;  // remembered log lines (older ones are dropped first)
// A remembered time this far in the future means the clock was set back: forget it (telling
// again is better than staying silent until the clock catches up).
constexpr auto kClockSkew = std::chrono::minutes(5);

using TimePoint = std::chrono::system_clock::time_point;

// Set by SetNotifyProgram (possibly from another file's static initialiser: function statics).
std::mutex& programMutex() {
  static std::mutex mu;
  return mu;
}
std::string& programOverride() {
  static std::string path;
  return path;
}

// --- fingerprints -------------------------------------------------------------------------------

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex16(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return out;
}

// --- state --------------------------------------------------------------------------------------

// What was said to whom (told) and which log lines were written (logged), with when.
struct State {
  struct Told {
    std::string user;
    std::string check;
    std::string problem;  // ProblemFingerprint
    TimePoint at;
  };
  std::vector<Told> told;
  // A failure each person was told of: when the check passes, they are thanked once.
  struct Owed {
    std::string user;
    std::string check;
  };
  std::vector<Owed> thanks;
  std::map<std::string, TimePoint> logged;  // fingerprint of the log line → when
  bool changed = false;
};

json::Value stateToJson(const State& s) {
  json::Value told = json::Value::array();
  for (const auto& t : s.told) {
    json::Value e = json::Value::object();
    e.set("user", t.user);
    e.set("check", t.check);
    e.set("problem", t.problem);
    e.set("at", formatRfc3339(t.at));
    told.push(std::move(e));
  }
  json::Value logged = json::Value::array();
  for (const auto& [key, at] : s.logged) {
    json::Value e = json::Value::object();
    e.set("line", key);
    e.set("at", formatRfc3339(at));
    logged.push(std::move(e));
  }
  json::Value v = json::Value::object();
  json::Value thanks = json::Value::array();
  for (const auto& t : s.thanks) {
    json::Value e = json::Value::object();
    e.set("user", t.user);
    e.set("check", t.check);
    thanks.push(std::move(e));
  }
  v.set("version", 1);
  v.set("told", std::move(told));
  v.set("thanks", std::move(thanks));
  v.set("logged", std::move(logged));
  return v;
}

StatusOr<State> stateFromJson(const json::Value& v) {
  using json::Presence;
  HEARTH_ASSIGN_OR_RETURN(json::ObjectReader r, json::ObjectReader::Open(v, {}));
  int64_t version = 0;
  HEARTH_RETURN_IF_ERROR(r.readInt("version", 1, 1, version, Presence::kRequired));
  State s;
  // Entries of another shape than the one written here make the file damaged; a list that is
  // not a list is ignored (as before lists existed).
  for (const char* list : {"told", "logged", "thanks"}) {
    const json::Value* entries = r.find(list);
    if (entries == nullptr || !entries->isArray()) continue;
    for (const auto& entry : entries->asArray()) {
      HEARTH_ASSIGN_OR_RETURN(json::ObjectReader e, r.objectAt(std::string(list) + "[]", entry));
      if (std::string_view(list) == "thanks") {
        State::Owed o;
        HEARTH_RETURN_IF_ERROR(e.readString("user", o.user, {}, Presence::kRequired));
        HEARTH_RETURN_IF_ERROR(e.readString("check", o.check, {}, Presence::kRequired));
        s.thanks.push_back(std::move(o));
        continue;
      }
      TimePoint at;
      HEARTH_RETURN_IF_ERROR(e.readTime("at", at, Presence::kRequired));
      if (std::string_view(list) == "logged") {
        std::string line;
        HEARTH_RETURN_IF_ERROR(e.readString("line", line, {}, Presence::kRequired));
        s.logged[line] = at;
        continue;
      }
      State::Told t;
      HEARTH_RETURN_IF_ERROR(e.readString("user", t.user, {}, Presence::kRequired));
      HEARTH_RETURN_IF_ERROR(e.readString("check", t.check, {}, Presence::kRequired));
      HEARTH_RETURN_IF_ERROR(e.readString("problem", t.problem, {}, Presence::kRequired));
      t.at = at;
      s.told.push_back(std::move(t));
    }
  }
  return s;
}

// The agent's own file, read from the real file system (bounded, regular files only) whatever view
// the checks looked at.
State loadState(const std::string& path, Logger& log) {
  auto text = ReadFileBounded(path, kStateFileLimit);
  if (!text.ok()) {
    if (text.status().code() != StatusCode::kNotFound) {
      log.warning("notifications: cannot read " + path + " (" + text.status().message() +
                  "); starting afresh");
    }
    State fresh;
    fresh.changed = text.status().code() != StatusCode::kNotFound;
    return fresh;
  }
  auto parsed = json::parse(*text);
  StatusOr<State> state = parsed.ok() ? stateFromJson(*parsed) : StatusOr<State>(parsed.status());
  if (!state.ok()) {
    log.warning("notifications: ignoring damaged " + path + " (" + state.status().message() +
                "); starting afresh");
    State fresh;
    fresh.changed = true;
    return fresh;
  }
  return std::move(state).value();
}

bool fresh(TimePoint at, TimePoint now, std::chrono::hours repeat_after) {
  return at <= now + kClockSkew && now - at < repeat_after;
}

// Writes `message` to the log unless the same line was written within `repeat_after`.
class OnceLog {
 public:
  OnceLog(State& state, Logger& log, TimePoint now, std::chrono::hours repeat_after)
      : state_(state), log_(log), now_(now), repeat_after_(repeat_after) {}
  void operator()(const std::string& message) {
    std::string key = hex16(fnv1a(message));
    auto it = state_.logged.find(key);
    if (it != state_.logged.end() && fresh(it->second, now_, repeat_after_)) return;
    log_.warning("notifications: " + message);
    state_.logged[key] = now_;
    state_.changed = true;
  }

 private:
  State& state_;
  Logger& log_;
  TimePoint now_;
  std::chrono::hours repeat_after_;
};

int localMinuteOfDay(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  if (localtime_r(&secs, &tm) == nullptr) return 12 * 60;
  return tm.tm_hour * 60 + tm.tm_min;
}

bool quietAt(const NotifyOptions& o, TimePoint now) {
  if (o.quiet_from == o.quiet_to) return false;
  const int m = o.minute_of_day ? o.minute_of_day(now) : localMinuteOfDay(now);
  return o.quiet_from < o.quiet_to ? (m >= o.quiet_from && m < o.quiet_to)
                                   : (m >= o.quiet_from || m < o.quiet_to);
}

}  // namespace

// --- public -------------------------------------------------------------------------------------

std::string NotifyProgram() {
  {
    std::lock_guard<std::mutex> lock(programMutex());
    if (!programOverride().empty()) return programOverride();
  }
  return DefaultNotifyProgram();
}

void SetNotifyProgram(std::string path) {
  std::lock_guard<std::mutex> lock(programMutex());
  programOverride() = std::move(path);
}

std::string ProblemFingerprint(std::string_view check_id, std::string_view summary) {
  std::string key(check_id);
  key.push_back('\n');
  bool in_digits = false;
  for (char c : summary) {
    bool digit = c >= '0' && c <= '9';
    if (digit && !in_digits) key.push_back('#');
    if (!digit) key.push_back(c);
    in_digits = digit;
  }
  return hex16(fnv1a(key));
}

StatusOr<int> NotifyFailures(const SystemView& view, const Report& report,
                             const NotifyOptions& options, Logger& log) {
  if (options.state_file.empty()) {
    return InvalidArgumentError("notifications need a state file (NotifyOptions.state_file)");
  }
  const TimePoint now = view.now();
  State state = loadState(options.state_file, log);
  OnceLog log_once(state, log, now, options.repeat_after);

  // The problems to tell: required checks that fail or could not tell, by id; and the problem
  // each is ("fail" keeps the fingerprint of the summary alone, as before unknowns were told).
  struct Problem {
    const CheckResult* check;
    std::string fingerprint;
  };
  std::map<std::string, Problem> problems;
  std::set<std::string> settled;  // passed, not applicable or not required: forget what was said
  std::set<std::string> passed;   // required and passing: thank whoever was told it failed
  for (const auto& c : report.checks) {
    if (c.required && c.verdict == Verdict::kFail) {
      problems.emplace(c.id, Problem{&c, ProblemFingerprint(c.id, c.summary)});
    } else if (c.required && c.verdict == Verdict::kUnknown) {
      problems.emplace(c.id, Problem{&c, ProblemFingerprint(c.id, "unknown\n" + c.summary)});
    }
    if (!c.required || c.verdict == Verdict::kPass || c.verdict == Verdict::kNotApplicable) {
      settled.insert(c.id);
    }
    if (c.required && c.verdict == Verdict::kPass) passed.insert(c.id);
  }
  // Forget what no longer holds: the check is settled, or it was said longer than repeat_after
  // ago. Each problem keeps its own entry, so a check that flickers between two problems (a
  // failure and an unknown) is told each at most once a day. A check not in this report (a
  // partial run re-checks only some) keeps its entries.
  auto stale = [&](const State::Told& t) {
    return !fresh(t.at, now, options.repeat_after) || settled.count(t.check) > 0;
  };
  size_t before = state.told.size();
  state.told.erase(std::remove_if(state.told.begin(), state.told.end(), stale), state.told.end());
  // Thanks are owed only for a check that passes: one that no longer applies or is no longer
  // required is dropped without a word.
  auto no_thanks = [&](const State::Owed& o) {
    return settled.count(o.check) > 0 && passed.count(o.check) == 0;
  };
  before += state.thanks.size();
  state.thanks.erase(std::remove_if(state.thanks.begin(), state.thanks.end(), no_thanks),
                     state.thanks.end());
  if (state.told.size() + state.thanks.size() != before) state.changed = true;
  for (auto it = state.logged.begin(); it != state.logged.end();) {
    if (!fresh(it->second, now, options.repeat_after)) {
      it = state.logged.erase(it);
      state.changed = true;
    } else {
      ++it;
    }
  }

  auto save = [&](int sent) -> StatusOr<int> {
    if (!state.changed) return sent;
    while (state.logged.size() > kMaxLogged) {
      auto oldest =
          std::min_element(state.logged.begin(), state.logged.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      state.logged.erase(oldest);
    }
    std::string text = json::write(stateToJson(state), json::WriteOptions{true}) + "\n";
    HEARTH_RETURN_IF_ERROR(WriteFileDurably(options.state_file, text, 0600)
                               .withContext("saving what the notifications said"));
    return sent;
  };

  const bool thanks_due = std::any_of(state.thanks.begin(), state.thanks.end(),
                                      [&](const State::Owed& o) { return passed.count(o.check); });
  if ((problems.empty() && !thanks_due) || view.isRooted()) return save(0);
  // Quiet hours: nothing now; the first check after them tells what still holds (thanks owed
  // are kept until then).
  if (quietAt(options, now)) return save(0);
  std::vector<Desktop> desktops = FindDesktops(view, options);
  // Someone who is not at the PC when their problem is fixed is not thanked later.
  auto away = [&](const State::Owed& o) {
    return passed.count(o.check) > 0 &&
           std::none_of(desktops.begin(), desktops.end(),
                        [&](const Desktop& d) { return d.user == o.user; });
  };
  before = state.thanks.size();
  state.thanks.erase(std::remove_if(state.thanks.begin(), state.thanks.end(), away),
                     state.thanks.end());
  if (state.thanks.size() != before) state.changed = true;
  if (desktops.empty()) return save(0);

  auto told = [&](const std::string& user, const std::string& check, const std::string& problem) {
    return std::any_of(state.told.begin(), state.told.end(), [&](const State::Told& t) {
      return t.user == user && t.check == check && t.problem == problem;
    });
  };
  // Whoever asked for this check hears the answer, whatever they were told before.
  auto asked = [&](const Desktop& d) { return options.asked_by && *options.asked_by == d.uid; };
  auto owed = [&](const std::string& user, const std::string& check) {
    return std::any_of(state.thanks.begin(), state.thanks.end(),
                       [&](const State::Owed& o) { return o.user == user && o.check == check; });
  };
  bool anything_to_say = false;
  for (const auto& d : desktops) {
    for (const auto& [id, problem] : problems) {
      anything_to_say = anything_to_say || asked(d) || !told(d.user, id, problem.fingerprint);
    }
    for (const auto& id : passed) anything_to_say = anything_to_say || owed(d.user, id);
  }
  if (!anything_to_say) return save(0);

  const std::string helper = options.helper.empty() ? NotifyProgram() : options.helper;
  if (auto st = view.stat(helper, true); !st.ok()) {
    log_once("cannot show desktop notifications: " + helper + " is missing (" +
             st.status().message() + "); it comes with the hearth-agent package");
    return save(0);
  }

  int sent = 0;
  for (const auto& d : desktops) {
    // In the person's language (their session's), whatever the daemon's own locale is.
    // A person whose language has no translation reads English, not the daemon's language.
    static const i18n::Catalog kEnglish;
    std::shared_ptr<const i18n::Catalog> own =
        d.languages.empty() ? nullptr : i18n::Catalog::ForLanguages(d.languages);
    const i18n::Catalog* catalog = own ? own.get() : (d.languages.empty() ? nullptr : &kEnglish);
    bool reachable = true;
    auto show = [&](const Notice& n) {
      Status s = ShowNotice(view, d, options, helper, n, catalog);
      if (!s.ok()) {
        log_once(s.message());
        // Nobody shows notifications in this session now; the other desktops still can.
        if (s.code() == StatusCode::kNotFound) reachable = false;
        return false;
      }
      log.info("notified " + d.user + ": " + n.title);
      ++sent;
      return true;
    };
    // First the good news: failures this person was told of that are fixed now.
    for (const auto& c : report.checks) {
      if (!reachable) break;
      if (passed.count(c.id) == 0 || !owed(d.user, c.id)) continue;
      Notice n;
      n.title = FixedNotificationTitle(c.id, catalog);
      n.body = FixedNotificationBody(c, catalog);
      n.urgency = Urgency::kLow;
      if (!show(n)) continue;
      state.thanks.erase(
          std::remove_if(state.thanks.begin(), state.thanks.end(),
                         [&](const State::Owed& o) { return o.user == d.user && o.check == c.id; }),
          state.thanks.end());
      state.changed = true;
    }
    for (const auto& [id, problem] : problems) {
      if (!reachable) break;
      if (!asked(d) && told(d.user, id, problem.fingerprint)) continue;
      const CheckResult& check = *problem.check;
      const bool failing = check.verdict == Verdict::kFail;
      Deadline deadline;
      if (failing) deadline = DeadlineOf(options.server_view, id, now, catalog);
      Notice n;
      n.title = failing ? NotificationTitle(id, catalog) : UnknownNotificationTitle(id, catalog);
      n.body = NotificationBody(check, catalog, &report, deadline.line);
      n.urgency = failing ? deadline.urgency : Urgency::kNormal;
      n.actions = true;
      n.details_title = DetailsTitle(catalog);
      n.details_body = DetailsBody(report, check, catalog, deadline.line);
      if (!show(n)) continue;
      state.told.erase(std::remove_if(state.told.begin(), state.told.end(),
                                      [&](const State::Told& t) {
                                        return t.user == d.user && t.check == id &&
                                               t.problem == problem.fingerprint;
                                      }),
                       state.told.end());
      state.told.push_back(State::Told{d.user, id, problem.fingerprint, now});
      if (failing && !owed(d.user, id)) state.thanks.push_back(State::Owed{d.user, id});
      state.changed = true;
    }
  }
  return save(sent);
}

}  // namespace hearth::agent
