// The one check of strings a person gives the server, and the escaping of what a table prints
// (issue 12, defect 3): controls (C0, NUL, DEL, C1), line/paragraph separators and bidi
// overrides/isolates are refused, invalid UTF-8 too, and lengths count characters, not bytes.
#include <string>

#include <gtest/gtest.h>

#include "hearth/text.h"

namespace hearth::text {
namespace {

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(PersonTextTest, OrdinaryNamesInAnyScriptPass) {
  for (const char* ok : {"alice", "Zoë Müller", "CORP\\alice", "李小龙", "alice@example.com",
                         "O'Brien (IT)", "\xF0\x9F\x94\xA5 team"}) {
    EXPECT_TRUE(validatePersonText(ok, 256).ok()) << ok;
  }
}

TEST(PersonTextTest, ControlsSeparatorsAndBidiOverridesAreRefused) {
  const std::string refused[] = {
      "a\rb",
      "a\nb",
      "a\tb",
      std::string("a\0b", 3),
      "a\x1b[31mb",
      "a\x07",
      "a\x7f",
      "a\xC2\x80",
      "a\xC2\x9B"
      "31m",
      "a\xC2\x9F",
      "a\xE2\x80\xA8",
      "a\xE2\x80\xA9",
      "a\xE2\x80\xAA",
      "a\xE2\x80\xAE",
      "a\xE2\x81\xA6",
      "a\xE2\x81\xA9",
  };
  for (const auto& s : refused) {
    Status st = validatePersonText(s, 256);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << escapeForDisplay(s);
    EXPECT_NE(st.message().find("character U+"), std::string::npos) << st.message();
  }
  EXPECT_NE(validatePersonText("x\xE2\x80\xAEy", 256).message().find("U+202E"), std::string::npos);
}

TEST(PersonTextTest, InvalidUtf8IsRefused) {
  for (const char* bad : {"\xC3", "\xC3(", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
                          "\xF4\x90\x80\x80", "\xFF", "a\x80"}) {
    Status st = validatePersonText(bad, 256);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(st.message(), "is not valid UTF-8");
  }
}

TEST(PersonTextTest, LengthCountsCharactersNotBytes) {
  EXPECT_TRUE(validatePersonText(repeat("\xC3\xA9", 129), 256).ok());  // 129 x "é": 258 bytes
  EXPECT_TRUE(validatePersonText(repeat("\xC3\xA9", 256), 256).ok());
  EXPECT_TRUE(validatePersonText(repeat("\xE6\x9D\x8E", 256), 256).ok());
  Status st = validatePersonText(repeat("\xC3\xA9", 257), 256);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "is longer than 256 characters");
  EXPECT_FALSE(validatePersonText(repeat("a", 254), 253).ok());
}

TEST(EscapeForDisplayTest, ControlsAndInvisibleFormattingAreShownAsEscapes) {
  EXPECT_EQ(escapeForDisplay("plain Zoë"), "plain Zoë");
  EXPECT_EQ(escapeForDisplay("CORP\\alice"), "CORP\\alice");
  EXPECT_EQ(escapeForDisplay("a\r\nforged  row"), "a\\x0D\\x0Aforged  row");
  EXPECT_EQ(escapeForDisplay("\x1b]0;title\x07"), "\\x1B]0;title\\x07");
  EXPECT_EQ(escapeForDisplay(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escapeForDisplay("a\x7f"), "a\\x7F");
  EXPECT_EQ(escapeForDisplay("a\xC2\x9B"
                             "2J"),
            "a\\x9B2J");
  EXPECT_EQ(escapeForDisplay("evil\xE2\x80\xAEgpj.exe"), "evil\\u202Egpj.exe");
  EXPECT_EQ(escapeForDisplay("a\xE2\x80\xA8z"), "a\\u2028z");
  EXPECT_EQ(escapeForDisplay("bad\xFF\xC3"), "bad\\xFF\\xC3");
  // Nothing that leaves the line or starts an escape sequence survives.
  std::string out = escapeForDisplay("x\x1b\x9b\r\n\xC2\x85\xC2\x9B");
  EXPECT_EQ(out.find_first_of("\x1b\r\n"), std::string::npos) << out;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_GE(static_cast<unsigned char>(out[i]), 0x20) << out;
    EXPECT_LT(static_cast<unsigned char>(out[i]), 0x7F) << out;
  }
}

}  // namespace
}  // namespace hearth::text
