// How a fleet comes back after a server outage (issue 18): F agents, each with K spooled reports,
// driven by the agent's own retry timing (hearth::agent::Backoff, one per agent with its own
// seed, exactly as agent/daemon.cc uses it: onFailure after every failed delivery, onSuccess
// when the spool is empty), against a model of one server, in simulated time (seconds to run).
//
// The outage: from their first failed attempt (a uniform point of the outage's first 15 minutes,
// or of the whole outage when it is shorter), every agent fails (connection refused) at every
// wait its Backoff draws, until the server is back at t = 0. The server then drains `--drain`
// reports a second (the flush rate hearth_scale_bench measures), shared among the connections it
// serves (at most `--slots`: its worker threads plus its queue, 16 + 64 by default); an agent
// arriving when all slots are taken is answered 503 with `Retry-After: --retry-after` (what
// hearth-server's overload responder sends), or, with `--no-retry-after`, 503 without it. An
// admitted agent delivers its whole spool on its connection and is done. The overload answer has a
// price too (a TLS handshake on the server's two overload threads): beyond `--overload-answers`
// a second, a connection is closed unanswered, which the agent takes as a network failure.
// `--retry-after-backlog 1` models the first proposal: its Retry-After is the time the server needs
// for the agents it has turned away and not yet served (their number divided by the agents it
// serves a second, drain / spooled, known to the model), at least `--retry-after`.
// `--retry-after-backlog 2` is what hearth-server does (hearth::server::RetryAfterSizer, the
// class its overload answer uses, on the simulated clock): it measures the connections it
// finishes a second and gives each agent turned away the next return slot at that rate.
//
// Prints, per outage length: the agents' arrivals (connections) in the busiest second after the
// server is back, the 503 answers, when the last spool was empty, and how long the fleet's
// reports took against the time the server needs for them at its drain rate.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench/server/bench_util.h"
#include "hearth/agent/backoff.h"
#include "hearth/server/retry_after.h"

namespace {

using hearth::agent::Backoff;
using hearth::agent::PostResult;

constexpr const char* kUsage =
    "usage: hearth_return_spread_bench [--agents 10000] [--spooled 24] [--drain 1000]\n"
    "                                  [--slots 80] [--retry-after 5] [--no-retry-after 0|1]\n"
    "                                  [--overload-answers 200] (503 answers/s at most)\n"
    "                                  [--retry-after-backlog 0|1|2] (see above; 2: the server's)\n"
    "                                  [--retry-after-cap S] (2 only; default: the server's)\n"
    "                                  [--outages 28800,600,60] (seconds, comma-separated)\n";

struct Outcome {
  int peak_arrivals = 0;     // connections in the busiest second after the server is back
  int peak_arrivals_at = 0;  // that second
  int first_second = 0;      // connections in the first second
  int64_t answered_503 = 0;  // overload answers
  double drained_at = 0;     // when the last agent's spool was empty (s after the return)
  int peak_503_second = 0;   // 503 answers in the busiest second
  int64_t closed = 0;        // connections closed unanswered (the overload threads were full)
};

Outcome Simulate(int agents, int spooled, double drain, int slots, int retry_after,
                 int overload_answers, int backlog, int backlog_cap, double outage_s) {
  std::vector<Backoff> backoff;
  std::vector<double> next(static_cast<size_t>(agents));  // next attempt, s after the return
  backoff.reserve(static_cast<size_t>(agents));
  PostResult refused;
  refused.kind = PostResult::Kind::kNetwork;
  const double first_window = std::min(outage_s, 900.0);
  for (int i = 0; i < agents; ++i) {
    backoff.emplace_back(hearth::agent::BackoffOptions{}, static_cast<uint64_t>(i) * 7919 + 1);
    double t = first_window * (static_cast<double>(i) + 0.5) / agents;
    auto& b = backoff.back();
    while (t < outage_s) t += static_cast<double>(b.onFailure(refused).count()) / 1000;
    next[static_cast<size_t>(i)] = t - outage_s;
  }

  // Server side, in steps of 10 ms.
  constexpr double kStep = 0.01;
  std::vector<double> left(static_cast<size_t>(agents), spooled);  // reports still spooled
  std::vector<int> active;
  std::map<int, int> arrivals, overloads;
  Outcome out;
  PostResult busy;
  busy.kind = PostResult::Kind::kRetryLater;
  busy.http_status = 503;
  busy.retry_after_seconds = retry_after;  // -1: none sent
  int done = 0;
  std::vector<char> turned_away(static_cast<size_t>(agents), 0);
  int backlog_agents = 0;  // turned away and not served since
  // The server's own sizing (--retry-after-backlog 2), on the simulated clock; its assumed rate
  // before anything is served is what serve gives it: slots over the 10 s request deadline.
  using SizerClock = hearth::server::RetryAfterSizer::Clock;
  const SizerClock::time_point t0{};
  auto at_time = [&](double t) {
    return t0 + std::chrono::duration_cast<SizerClock::duration>(
                    std::chrono::duration<double>(t + 86400));
  };
  hearth::server::RetryAfterOptions sizer_options;
  sizer_options.floor = std::chrono::seconds(std::max(retry_after, 1));
  sizer_options.min_rate = std::max(1.0, slots / 10.0);
  if (backlog_cap > 0) sizer_options.cap = std::chrono::seconds(backlog_cap);
  hearth::server::RetryAfterSizer sizer(sizer_options, at_time(0));
  // Agents in order of their next attempt.
  std::multimap<double, int> waiting;
  for (int i = 0; i < agents; ++i) waiting.emplace(next[static_cast<size_t>(i)], i);
  double now = 0;
  while (done < agents && now < 86400) {
    // Arrivals in this step.
    while (!waiting.empty() && waiting.begin()->first < now + kStep) {
      int i = waiting.begin()->second;
      double at = std::max(waiting.begin()->first, now);
      waiting.erase(waiting.begin());
      ++arrivals[static_cast<int>(at)];
      if (static_cast<int>(active.size()) < slots) {
        active.push_back(i);
        if (turned_away[static_cast<size_t>(i)] != 0) {
          turned_away[static_cast<size_t>(i)] = 0;
          --backlog_agents;
        }
      } else if (overloads[static_cast<int>(at)] >= overload_answers) {
        ++out.closed;
        double wait =
            static_cast<double>(backoff[static_cast<size_t>(i)].onFailure(refused).count()) / 1000;
        waiting.emplace(at + wait, i);
      } else {
        ++out.answered_503;
        ++overloads[static_cast<int>(at)];
        if (turned_away[static_cast<size_t>(i)] == 0) {
          turned_away[static_cast<size_t>(i)] = 1;
          ++backlog_agents;
        }
        if (backlog == 2 && retry_after >= 0) {
          busy.retry_after_seconds = static_cast<int>(sizer.refuse(at_time(at)));
        } else if (backlog == 1 && retry_after >= 0) {
          busy.retry_after_seconds = std::max<long>(
              retry_after, static_cast<long>(backlog_agents * spooled / drain + 0.5));
        }
        double wait =
            static_cast<double>(backoff[static_cast<size_t>(i)].onFailure(busy).count()) / 1000;
        waiting.emplace(at + wait, i);
      }
    }
    // Processor sharing of the drain rate among the active connections.
    if (!active.empty()) {
      double share = drain * kStep / static_cast<double>(active.size());
      std::vector<int> still;
      for (int i : active) {
        left[static_cast<size_t>(i)] -= share;
        if (left[static_cast<size_t>(i)] <= 1e-9) {
          backoff[static_cast<size_t>(i)].onSuccess();
          sizer.served(at_time(now + kStep));
          ++done;
          out.drained_at = now + kStep;
        } else {
          still.push_back(i);
        }
      }
      active.swap(still);
    }
    now += kStep;
  }
  for (const auto& [second, count] : arrivals) {
    if (count > out.peak_arrivals) {
      out.peak_arrivals = count;
      out.peak_arrivals_at = second;
    }
  }
  out.first_second = arrivals.count(0) ? arrivals[0] : 0;
  for (const auto& [second, count] : overloads) {
    out.peak_503_second = std::max(out.peak_503_second, count);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using hearth::bench::Flag;
  using hearth::bench::WholeIn;
  if (auto rc = hearth::bench::CheckFlags(
          argc, argv,
          {"--agents", "--spooled", "--drain", "--slots", "--retry-after", "--no-retry-after",
           "--outages", "--overload-answers", "--retry-after-backlog", "--retry-after-cap"},
          kUsage)) {
    return *rc;
  }
  auto agents = WholeIn(Flag(argc, argv, "--agents", "10000"), 1, 10000000);
  auto spooled = WholeIn(Flag(argc, argv, "--spooled", "24"), 1, 100000);
  auto drain = WholeIn(Flag(argc, argv, "--drain", "1000"), 1, 10000000);
  auto slots = WholeIn(Flag(argc, argv, "--slots", "80"), 1, 1000000);
  auto retry_after = WholeIn(Flag(argc, argv, "--retry-after", "5"), 0, 3600);
  auto no_retry_after = WholeIn(Flag(argc, argv, "--no-retry-after", "0"), 0, 1);
  auto overload_answers = WholeIn(Flag(argc, argv, "--overload-answers", "200"), 0, 10000000);
  auto backlog = WholeIn(Flag(argc, argv, "--retry-after-backlog", "0"), 0, 2);
  auto backlog_cap = WholeIn(Flag(argc, argv, "--retry-after-cap", "0"), 0, 86400);
  std::vector<int> outages;
  {
    std::string list = Flag(argc, argv, "--outages", "28800,600,60");
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t comma = std::min(list.find(',', pos), list.size());
      auto v = WholeIn(list.substr(pos, comma - pos), 1, 30 * 86400);
      if (!v) {
        std::fprintf(stderr, "--outages: whole seconds, comma-separated\n%s", kUsage);
        return 2;
      }
      outages.push_back(*v);
      pos = comma + 1;
    }
  }
  if (!agents || !spooled || !drain || !slots || !retry_after || !no_retry_after ||
      !overload_answers || !backlog || !backlog_cap) {
    std::fprintf(stderr, "a value out of range\n%s", kUsage);
    return 2;
  }
  const int ra = *no_retry_after ? -1 : *retry_after;
  std::printf(
      "%d agents x %d spooled reports; server drains %d reports/s over %d slots; "
      "overload answer 503 %s%s, at most %d a second\n",
      *agents, *spooled, *drain, *slots,
      ra < 0 ? "without Retry-After" : ("with Retry-After: " + std::to_string(ra)).c_str(),
      *backlog == 1 && ra >= 0   ? " or its backlog's time if longer"
      : *backlog == 2 && ra >= 0 ? " or the server's backlog-sized slot (RetryAfterSizer)"
                                 : "",
      *overload_answers);
  std::printf("%10s %16s %12s %12s %12s %12s %12s %12s\n", "outage s", "peak arrivals/s",
              "(at second)", "first second", "503 answers", "peak 503/s", "closed", "drained at s");
  for (int o : outages) {
    Outcome r = Simulate(*agents, *spooled, *drain, *slots, ra, *overload_answers, *backlog,
                         *backlog_cap, o);
    std::printf("%10d %16d %12d %12d %12lld %12d %12lld %12.0f\n", o, r.peak_arrivals,
                r.peak_arrivals_at, r.first_second, static_cast<long long>(r.answered_503),
                r.peak_503_second, static_cast<long long>(r.closed), r.drained_at);
  }
  std::printf("(the server alone needs %.0f s for all spooled reports at its drain rate)\n",
              static_cast<double>(*agents) * *spooled / *drain);
  return 0;
}
