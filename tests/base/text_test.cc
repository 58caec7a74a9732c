#include "hearth/text.h"

#include <gtest/gtest.h>

namespace hearth::text {
namespace {

TEST(TextTest, UnescapesMountinfoOctal) {
  EXPECT_EQ(unescapeOctal("/media/My\\040Disk"), "/media/My Disk");
  EXPECT_EQ(unescapeOctal("a\\134b"), "a\\b");
  EXPECT_EQ(unescapeOctal("end\\04"), "end\\04");  // incomplete escape kept as is
  EXPECT_EQ(unescapeOctal("\\011"), "\t");
}

TEST(TextTest, ParsesOsReleaseQuotingAndComments) {
  auto kv = parseOsRelease(
      "# comment\nID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
      "NAME='Fedora Linux'\nBROKEN\n");
  EXPECT_EQ(kv["ID"], "debian");
  EXPECT_EQ(kv["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(kv["NAME"], "Fedora Linux");
  EXPECT_EQ(kv.count("BROKEN"), 0u);
}

TEST(TextTest, SplittingAndNumbers) {
  EXPECT_EQ(splitWhitespace("  a \t b  c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(splitLines("a\r\nb\n\nc"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(split("a:b::c", ':'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(parseInt("42"), 42);
  EXPECT_FALSE(parseInt("42x"));
  EXPECT_FALSE(parseInt(""));
  EXPECT_EQ(parseHex("0x1091"), 0x1091u);
  EXPECT_EQ(trim("  x \n"), "x");
}

}  // namespace
}  // namespace hearth::text
