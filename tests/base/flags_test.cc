// The command-line parser: values, switches, positionals, refusals and its error messages.
#include "hearth/flags.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

constexpr FlagSpec kSpecs[] = {
    {.name = "--policy", .non_empty = true},
    {.name = "--san"},
    {.name = "--json", .kind = FlagKind::kSwitch},
    {.name = "-h", .kind = FlagKind::kSwitch},
    {.name = "--passphrase", .kind = FlagKind::kRefused, .refusal = "use --passphrase-file"},
};

TEST(FlagsTest, ValuesInBothFormsSwitchesAndRepeats) {
  auto f = ParseFlags({"--policy", "/p.json", "--json", "--san=a", "--san", "b", "-h"}, kSpecs);
  ASSERT_TRUE(f.ok()) << f.status().toString();
  EXPECT_EQ(f->get("--policy"), "/p.json");
  EXPECT_TRUE(f->has("--json"));
  EXPECT_TRUE(f->has("-h"));
  EXPECT_EQ(f->get("--san"), "b");  // the last one
  EXPECT_EQ(f->all("--san"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(f->has("--missing"));
  EXPECT_EQ(f->get("--missing", "default"), "default");
  EXPECT_TRUE(f->all("--missing").empty());
}

TEST(FlagsTest, ErrorsSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> args;
    StatusCode code;
    std::string message;
  } cases[] = {
      {{"--policy"}, StatusCode::kInvalidArgument, "--policy needs a value"},
      {{"--policy="}, StatusCode::kInvalidArgument, "--policy needs a non-empty value"},
      {{"--json=1"}, StatusCode::kInvalidArgument, "--json takes no value"},
      {{"--passphrase", "x"}, StatusCode::kInvalidArgument, "--passphrase: use --passphrase-file"},
      {{"--polcy=x"}, StatusCode::kNotFound, "unknown option \"--polcy=x\""},
      {{"word"}, StatusCode::kNotFound, "unknown option \"word\""},
  };
  for (const auto& c : cases) {
    auto f = ParseFlags(c.args, kSpecs);
    ASSERT_FALSE(f.ok()) << c.message;
    EXPECT_EQ(f.status().code(), c.code) << c.message;
    EXPECT_EQ(f.status().message(), c.message);
  }
}

TEST(FlagsTest, PositionalArgumentsWhenAllowed) {
  auto f = ParseFlags({"secret", "revoke", "--json", "-1", "7"}, kSpecs, {.positional = true});
  ASSERT_TRUE(f.ok()) << f.status().toString();
  EXPECT_EQ(f->positional(), (std::vector<std::string>{"secret", "revoke", "-1", "7"}));
  EXPECT_TRUE(f->has("--json"));
  // An unknown "--" option is still refused.
  EXPECT_EQ(ParseFlags({"list", "--nope"}, kSpecs, {.positional = true}).status().code(),
            StatusCode::kNotFound);
}

TEST(FlagsTest, AValueMayLookLikeAnOptionAndConfigDefaultsNeverOverride) {
  auto f = ParseFlags({"--san", "--json"}, kSpecs);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->get("--san"), "--json");
  EXPECT_FALSE(f->has("--json"));
  ParsedFlags p = *f;
  p.addIfAbsent("--san", "from-config");
  p.addIfAbsent("--policy", "/from/config.json");
  EXPECT_EQ(p.get("--san"), "--json");
  EXPECT_EQ(p.get("--policy"), "/from/config.json");
}

}  // namespace
}  // namespace hearth
