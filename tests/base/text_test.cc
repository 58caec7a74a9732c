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

TEST(TextTest, FirstLineIsTrimmedAndOptionallyCut) {
  EXPECT_EQ(firstLine("\n  error: no such device\nsecond line\n"), "error: no such device");
  EXPECT_EQ(firstLine(""), "");
  EXPECT_EQ(firstLine(std::string(500, 'x')).size(), 500u);  // no limit by default
  EXPECT_EQ(firstLine(std::string(500, 'x'), 300), std::string(300, 'x') + "...");
  EXPECT_EQ(firstLine("short", 300), "short");
}

TEST(TextTest, LowerCaseIsAsciiOnly) {
  EXPECT_EQ(toLower("AES-XTS-Plain64"), "aes-xts-plain64");
  EXPECT_EQ(toLower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes unchanged
}

TEST(TextTest, Unsigned32BitNumbers) {
  EXPECT_EQ(parseU32("0"), 0u);
  EXPECT_EQ(parseU32("4294967295"), 4294967295u);
  EXPECT_FALSE(parseU32("4294967296"));
  EXPECT_FALSE(parseU32("-1"));
  EXPECT_FALSE(parseU32("12a"));
  EXPECT_FALSE(parseU32(""));
}

}  // namespace
}  // namespace hearth::text
