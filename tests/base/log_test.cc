// The one logger: its three line formats, level filtering, escaping, and whole lines under threads.
#include "hearth/log.h"

#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/text.h"

namespace hearth {
namespace {

TEST(LogTest, TheServersFormatIsPriorityThenName) {
  std::ostringstream out;
  Logger log(out, LogLevel::kInfo, LogFormat::NamedJournal("hearth-server"));
  log.info("listening on 0.0.0.0:8443");
  log.warning("connection: reset");
  log.error("cannot open the database");
  log.debug("not shown at info");
  EXPECT_EQ(out.str(),
            "<6>hearth-server: listening on 0.0.0.0:8443\n"
            "<4>hearth-server: connection: reset\n"
            "<3>hearth-server: cannot open the database\n");
}

TEST(LogTest, LevelsAreParsedAndCanChange) {
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("loud").has_value());
  std::ostringstream out;
  Logger log(out, LogLevel::kError, LogFormat::Terminal("hearth-agent"));
  log.warning("dropped");
  log.setLevel(LogLevel::kWarning);
  log.warning("kept");
  EXPECT_EQ(out.str(), "hearth-agent: warning: kept\n");
}

TEST(LogTest, ControlCharactersNeverReachTheLog) {
  std::ostringstream out;
  Logger log(out, LogLevel::kInfo, LogFormat::NamedJournal("hearth-server"));
  log.info("host \"pc\r\n<3>forged\" \x7f");
  EXPECT_EQ(out.str(), "<6>hearth-server: host \"pc\\x0d\\x0a<3>forged\" \\x7f\n");
}

TEST(LogTest, LinesOfConcurrentThreadsDoNotMix) {
  std::ostringstream out;
  Logger log(out, LogLevel::kInfo, LogFormat::NamedJournal("hearth-server"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i)
        log.info("thread " + std::to_string(t) + " line " + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();
  auto lines = text::splitLines(out.str());
  ASSERT_EQ(lines.size(), 800u);
  for (const auto& line : lines) {
    EXPECT_TRUE(line.starts_with("<6>hearth-server: thread ")) << line;
  }
}

// The agent's journal and terminal formats.
TEST(AgentLogTest, JournalPrioritiesAndNoControlCharacters) {
  std::ostringstream out;
  Logger journal(out, LogLevel::kInfo, LogFormat::Journal());
  journal.warning("spool \x1b[31mred\nsecond line");
  journal.debug("not shown at info");
  EXPECT_EQ(out.str(), "<4>spool \\x1b[31mred\\x0asecond line\n");
  std::ostringstream plain;
  Logger term(plain, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  term.error("x");
  term.debug("y");
  EXPECT_EQ(plain.str(), "hearth-agent: error: x\nhearth-agent: debug: y\n");
}

}  // namespace
}  // namespace hearth
