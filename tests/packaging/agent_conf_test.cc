// The agent.conf the package installs lists every key the agent accepts, each commented out at
// its default: uncommenting a line changes nothing until its value is edited, and a key added to
// the agent without a line here fails this test.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "hearth/agent/config.h"
#include "hearth/text.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

const std::string kShipped = std::string(HEARTH_SOURCE_DIR) + "/packaging/config/agent.conf";

using testing::ReadFile;

// The keys the agent accepts, from its own error message for an unknown key.
std::set<std::string> acceptedKeys(const testing::TempDir& dir) {
  std::string path = dir.write("unknown.conf", "no_such_key = 1\n");
  auto c = LoadAgentConfig(path, true);
  EXPECT_FALSE(c.ok());
  std::string m = c.status().message();
  size_t open = m.find("expected one of ");
  EXPECT_NE(open, std::string::npos) << m;
  std::set<std::string> keys;
  if (open == std::string::npos) return keys;
  std::string list = m.substr(open + 16, m.rfind(')') - open - 16);
  for (const auto& k : text::split(list, ',')) keys.insert(text::trim(k));
  return keys;
}

TEST(ShippedAgentConfTest, LoadsAsShipped) {
  auto c = LoadAgentConfig(kShipped, true);
  ASSERT_TRUE(c.ok()) << c.status().message();
}

TEST(ShippedAgentConfTest, ListsEveryKeyCommentedAtItsDefault) {
  testing::TempDir dir;
  std::string text = ReadFile(kShipped);
  ASSERT_FALSE(text.empty()) << kShipped;
  // "#key = value" (no space after #) is a setting; "# words" is prose.
  std::regex setting(R"(^#([a-z_]+) =(.*)$)");
  std::string uncommented;
  std::set<std::string> listed;
  for (const auto& line : text::splitLines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, setting)) {
      listed.insert(m[1]);
      uncommented += line.substr(1) + "\n";
    }
  }
  EXPECT_EQ(listed, acceptedKeys(dir));

  std::string path = dir.write("agent.conf", uncommented);
  auto c = LoadAgentConfig(path, true);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << uncommented;
  AgentConfig d;
  EXPECT_EQ(c->interval, d.interval);
  EXPECT_EQ(c->splay_percent, d.splay_percent);
  EXPECT_EQ(c->heartbeat, d.heartbeat);
  EXPECT_EQ(c->check_timeout, d.check_timeout);
  EXPECT_EQ(c->network_debounce, d.network_debounce);
  EXPECT_EQ(c->retry_cap, d.retry_cap);
  EXPECT_EQ(c->proxy, d.proxy);
  EXPECT_EQ(c->fallback_policy, d.fallback_policy);
  EXPECT_EQ(c->enroll_file, d.enroll_file);
  EXPECT_EQ(c->service_user, d.service_user);
  EXPECT_EQ(c->notify, d.notify);
  EXPECT_EQ(c->spool_max_reports, d.spool_max_reports);
  EXPECT_EQ(c->spool_max_bytes, d.spool_max_bytes);
  EXPECT_EQ(c->log_level, d.log_level);
}

}  // namespace
}  // namespace hearth::agent
