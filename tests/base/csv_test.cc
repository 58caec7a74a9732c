// ParseCsv: RFC 4180 quoting, line endings, the byte order mark, blank lines, the line numbers
// of records and of errors, the record bound.
#include "hearth/csv.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hearth {
namespace {

using Fields = std::vector<std::string>;

std::vector<CsvRecord> parsed(const std::string& text) {
  auto r = ParseCsv(text, 100);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return r.ok() ? *r : std::vector<CsvRecord>{};
}

TEST(CsvTest, PlainFieldsWithLfAndCrlfAndNoFinalNewline) {
  auto r = parsed("hostname,owner\r\npc-1,alice\npc-2,bob");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].fields, (Fields{"hostname", "owner"}));
  EXPECT_EQ(r[1].fields, (Fields{"pc-1", "alice"}));
  EXPECT_EQ(r[2].fields, (Fields{"pc-2", "bob"}));
  EXPECT_EQ(r[2].line, 3u);
}

TEST(CsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  auto r = parsed("a,b\n\"Doe, Jane\",\"say \"\"hi\"\"\"\n\"two\nlines\",x\nlast,\"\"\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].fields, (Fields{"Doe, Jane", "say \"hi\""}));
  EXPECT_EQ(r[2].fields, (Fields{"two\nlines", "x"}));
  EXPECT_EQ(r[2].line, 3u);
  EXPECT_EQ(r[3].fields, (Fields{"last", ""}));
  EXPECT_EQ(r[3].line, 5u);  // the quoted line break counts
}

TEST(CsvTest, EmptyFieldsBlankLinesAndTheByteOrderMark) {
  auto r = parsed("\xEF\xBB\xBFhostname,owner\n\n,\r\n\"\"\n  pc , x \n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].fields, (Fields{"hostname", "owner"}));
  EXPECT_EQ(r[1].fields, (Fields{"", ""}));
  EXPECT_EQ(r[1].line, 3u);
  EXPECT_EQ(r[2].fields, (Fields{""}));              // a quoted empty field is a record
  EXPECT_EQ(r[3].fields, (Fields{"  pc ", " x "}));  // spaces are data (RFC 4180)
}

TEST(CsvTest, MalformedQuotingNamesTheLine) {
  auto a = ParseCsv("a,b\nx,y\"z\n", 10);
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message().rfind("line 2: ", 0), 0u) << a.status().message();
  auto b = ParseCsv("a,b\n\"x\"y,z\n", 10);
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.status().message().rfind("line 2: ", 0), 0u) << b.status().message();
  auto c = ParseCsv("a,b\nok,1\n\"never\nclosed,2\n", 10);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind("line 3: ", 0), 0u) << c.status().message();
}

TEST(CsvTest, MoreRecordsThanTheBoundAreRefused) {
  EXPECT_TRUE(ParseCsv("a\nb\nc\n", 3).ok());
  EXPECT_EQ(ParseCsv("a\nb\nc\nd\n", 3).status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace hearth
