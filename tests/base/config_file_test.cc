// The `key = value` parser: comments, the key table, and errors that name file, line and key.
#include "hearth/config_file.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

struct Settings {
  std::string name;
  int count = 0;
  std::string secret;
};

std::vector<ConfigKey> keysFor(Settings& s) {
  return {
      {"name",
       [&](const std::string& v) {
         s.name = v;
         return OkStatus();
       }},
      {"count",
       [&](const std::string& v) -> Status {
         if (v != "1" && v != "2") return InvalidArgumentError("expected 1 or 2, got " + v);
         s.count = v == "1" ? 1 : 2;
         return OkStatus();
       }},
      {"secret",
       [&](const std::string& v) {
         s.secret = v;
         return OkStatus();
       }},
  };
}

TEST(ConfigFileTest, ParsesKeysSkipsCommentsAndTellsTheLineOfEachKey) {
  Settings s;
  auto lines = ParseConfig("# comment\n\n  name =  spaced value  \n; other comment\r\ncount=2\n",
                           "/etc/x.conf", keysFor(s));
  ASSERT_TRUE(lines.ok()) << lines.status().toString();
  EXPECT_EQ(s.name, "spaced value");
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(lines->at("name"), 3);
  EXPECT_EQ(lines->at("count"), 5);
  EXPECT_EQ(lines->count("secret"), 0u);
}

TEST(ConfigFileTest, ErrorsNameFileLineKeyAndWhatWasExpected) {
  struct Case {
    std::string text, message;
  } cases[] = {
      {"\ncount = 3\n", "x.conf:2: count: expected 1 or 2, got 3"},
      {"nmae = a\n", "x.conf:1: nmae: unknown key (expected one of count, name, secret)"},
      {"name = a\nname = b\n", "x.conf:2: name: set twice (first on line 1)"},
      {"just words\n", "x.conf:1: expected `key = value`, got \"just words\""},
  };
  for (const auto& c : cases) {
    Settings s;
    auto r = ParseConfig(c.text, "x.conf", keysFor(s));
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(ConfigFileTest, AMalformedLineIsNotQuotedWhenItMayBeASecret) {
  Settings s;
  auto r =
      ParseConfig("hes_0123456789\n", "enroll.conf", keysFor(s), {.quote_malformed_lines = false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "enroll.conf:1: expected `key = value`");
}

}  // namespace
}  // namespace hearth
