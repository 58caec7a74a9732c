// The check process on Linux: a forked child of the agent (check_process.h).
#include <sstream>
#include <sys/wait.h>

#include "hearth/agent/check_process.h"
#include "hearth/agent/child_process.h"
#include "hearth/text.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxResultBytes = 8 << 20;

// The child's log lines travel back with its result in LogFormat::Journal()'s form, "<N>text"
// (N the syslog priority): the parent logs each at its level through its own Logger.
void relayLog(const std::string& lines, Logger& log) {
  for (const std::string& line : text::splitLines(lines)) {
    if (line.size() >= 3 && line[0] == '<' && line[2] == '>' && line[1] >= '3' && line[1] <= '7') {
      static constexpr LogLevel kByPriority[] = {
          LogLevel::kError, LogLevel::kWarning, LogLevel::kInfo, LogLevel::kInfo, LogLevel::kDebug};
      log.write(kByPriority[line[1] - '3'], line.substr(3));
    } else if (!text::trim(line).empty()) {
      log.info(line);
    }
  }
}

}  // namespace

StatusOr<json::Value> RunChecksInChild(const Policy& policy, const CheckProcessOptions& o,
                                       Logger& log) {
  auto makeView = [&]() -> std::unique_ptr<SystemView> {
    return o.make_view ? o.make_view() : NewLiveSystemView();
  };
  ChildSpec spec;
  spec.name = "hearth-check";
  spec.run = [&](int channel) {
    auto* view = makeView().release();  // leaked on purpose, as the checks
    std::ostringstream lines;
    Logger child_log(lines, LogLevel::kDebug, LogFormat::Journal());
    json::Value out = json::Value::object();
    out.set("result", RunChecksWithTimeouts(*view, policy, o, child_log));
    out.set("log", lines.str());
    // Never returns into the caller (timed-out checks may still be running): the child exits.
    return WriteFrame(channel, json::write(out)).ok() ? 0 : 1;
  };
  log.stream().flush();
  HEARTH_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(spec));
  size_t n_checks = 0;
  for (const auto& check : policy.checks) {
    if (o.only.empty() || o.only.count(check.id) != 0) ++n_checks;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  o.check_timeout * static_cast<int64_t>(n_checks + 1) + std::chrono::seconds(30);
  // The result is one frame: read up to its length, never waiting for end of file (a command a
  // check started may still hold the channel).
  auto frame = child->receive(kMaxResultBytes, deadline, o.interrupt_fd);
  if (!frame.ok()) {
    const std::optional<int> ended = child->kill();
    switch (frame.status().code()) {
      case StatusCode::kDeadlineExceeded:
        return DeadlineExceededError("the check run did not finish in time");
      case StatusCode::kDataLoss:
        return ResourceExhaustedError("the check result is larger than 8 MiB");
      case StatusCode::kUnavailable:
        if (frame.status().message() == "interrupted") return frame.status();
        if (ended && WIFSIGNALED(*ended)) {
          return InternalError("the check process was killed by signal " +
                               std::to_string(WTERMSIG(*ended)));
        }
        return InternalError("the check process ended without a complete result");
      default:
        return frame.status();
    }
  }
  // It exits right after sending; one that does not within half a second is killed.
  auto ended = child->wait(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
  if (ended.ok() && (!WIFEXITED(*ended) || WEXITSTATUS(*ended) != 0)) {
    return InternalError(
        WIFSIGNALED(*ended)
            ? "the check process was killed by signal " + std::to_string(WTERMSIG(*ended))
            : "the check process failed with status " + std::to_string(WEXITSTATUS(*ended)));
  }
  HEARTH_ASSIGN_OR_RETURN(json::Value answer,
                          json::parse(*frame, {.max_depth = 64, .max_bytes = kMaxResultBytes}));
  const json::Value* child_log = answer.find("log");
  if (child_log != nullptr && child_log->isString()) relayLog(child_log->asString(), log);
  const json::Value* result = answer.find("result");
  if (result == nullptr || !result->isObject()) {
    return InternalError("the check process sent no result");
  }
  return *result;
}

}  // namespace hearth::agent
