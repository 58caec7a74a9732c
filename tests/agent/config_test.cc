// agent.conf: defaults, every key, errors that name the file, line and key, durations and sizes.
#include "hearth/agent/config.h"

#include <chrono>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using std::chrono::seconds;

TEST(AgentConfigTest, DefaultsWhenTheDefaultFileIsMissing) {
  auto c = LoadAgentConfig("/nonexistent/agent.conf", false);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->interval, seconds(900));
  EXPECT_EQ(c->splay_percent, 10);
  EXPECT_EQ(c->heartbeat, seconds(3600));
  EXPECT_EQ(c->service_user, "hearth");
  EXPECT_EQ(c->spool_max_reports, 10000u);
  EXPECT_EQ(c->spool_max_bytes, 20u << 20);
  EXPECT_EQ(c->sent_keep_reports, 500u);
  EXPECT_EQ(c->sent_keep_days, 7);
  EXPECT_FALSE(LoadAgentConfig("/nonexistent/agent.conf", true).ok());
}

TEST(AgentConfigTest, EveryKeyParses) {
  testing::TempDir dir;
  std::string path = dir.write("agent.conf",
                               "# comment\n"
                               "interval = 5m\nsplay = 20%\nheartbeat = 2h\ncheck_timeout = 90s\n"
                               "network_debounce = 0\nretry_cap = 1h\nproxy = none\n"
                               "policy = /etc/p.json\nenroll_file = /etc/e.conf\n"
                               "service_user = _hearth\nnotify = no\nspool_max_reports = 500\n"
                               "spool_max_bytes = 5MiB\nlog_level = debug\n"
                               "sent_keep_reports = 0\nsent_keep_days = 30\n");
  auto c = LoadAgentConfig(path, true);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->interval, seconds(300));
  EXPECT_EQ(c->splay_percent, 20);
  EXPECT_EQ(c->heartbeat, seconds(7200));
  EXPECT_EQ(c->check_timeout, seconds(90));
  EXPECT_EQ(c->network_debounce, seconds(0));
  EXPECT_EQ(c->retry_cap, seconds(3600));
  EXPECT_EQ(c->proxy, "none");
  EXPECT_EQ(c->fallback_policy, "/etc/p.json");
  EXPECT_EQ(c->enroll_file, "/etc/e.conf");
  EXPECT_EQ(c->service_user, "_hearth");
  EXPECT_FALSE(c->notify);
  EXPECT_EQ(c->spool_max_reports, 500u);
  EXPECT_EQ(c->spool_max_bytes, 5u << 20);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->sent_keep_reports, 0u);
  EXPECT_EQ(c->sent_keep_days, 30);
}

TEST(AgentConfigTest, ErrorsNameFileLineKeyAndWhatWasExpected) {
  testing::TempDir dir;
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"interval = 15x\n", "agent.conf:1: interval: unknown duration unit \"x\""},
      {"\ninterval = 1s\n", "agent.conf:2: interval: expected between 10s and 604800s"},
      {"splay = 80%\n", "splay: expected a percentage from 0 to 50"},
      {"notify = maybe\n", "notify: expected true or false"},
      {"log_level = loud\n", "log_level: expected error, warning, info or debug"},
      {"spool_max_bytes = 10\n", "spool_max_bytes: expected at least 1MiB"},
      {"policy = relative.json\n", "policy: expected an absolute path"},
      {"sent_keep_reports = -1\n", "sent_keep_reports: expected a number from 0 (keep none)"},
      {"sent_keep_reports = 200000\n", "sent_keep_reports: expected a number from 0"},
      {"sent_keep_days = 0\n", "sent_keep_days: expected a number of days from 1 to 365"},
      {"sent_keep_days = 1w\n", "sent_keep_days: expected a number of days from 1 to 365"},
      {"service_user = a b\n", "service_user: expected a user name"},
      {"intervall = 5m\n", "intervall: unknown key (expected one of"},
      {"interval = 5m\ninterval = 6m\n", "agent.conf:2: interval: set twice (first on line 1)"},
      {"just words\n", "expected `key = value`"},
  };
  for (const auto& c : cases) {
    std::string path = dir.write("agent.conf", c.text);
    auto r = LoadAgentConfig(path, true);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.text << " → " << r.status().message();
  }
}

TEST(AgentConfigTest, DurationsAndSizes) {
  EXPECT_EQ(*ParseDuration("90s"), seconds(90));
  EXPECT_EQ(*ParseDuration("15m"), seconds(900));
  EXPECT_EQ(*ParseDuration("2d"), seconds(172800));
  EXPECT_EQ(*ParseDuration("600"), seconds(600));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999d").ok());
  EXPECT_EQ(*ParseSize("512KiB"), 512u * 1024);
  EXPECT_EQ(*ParseSize("1048576"), 1048576u);
  EXPECT_FALSE(ParseSize("5MB").ok());
}

}  // namespace
}  // namespace hearth::agent
