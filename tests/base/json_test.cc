#include "hearth/json.h"

#include <gtest/gtest.h>

namespace hearth::json {
namespace {

TEST(JsonTest, ParsesNestedDocumentKeepingKeyOrder) {
  auto v = parse(R"({"b": 1, "a": [true, null, "x", -2.5e1], "c": {"d": "é"}})");
  ASSERT_TRUE(v.ok()) << v.status().toString();
  ASSERT_TRUE(v->isObject());
  EXPECT_EQ(v->asObject()[0].first, "b");
  EXPECT_EQ(v->asObject()[1].first, "a");
  EXPECT_EQ(v->find("b")->asInt(), 1);
  EXPECT_DOUBLE_EQ(v->find("a")->asArray()[3].asDouble(), -25.0);
  EXPECT_EQ(v->find("c")->find("d")->asString(), "é");
  EXPECT_EQ(write(*v), R"({"b":1,"a":[true,null,"x",-25.0],"c":{"d":"é"}})");
}

TEST(JsonTest, RejectsDuplicateKeysWithPosition) {
  auto v = parse("{\n  \"required\": true,\n  \"required\": false\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("line 3, column 3"), std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find("duplicate key \"required\""), std::string::npos);
}

TEST(JsonTest, RejectsMalformedInputWithClearMessages) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"{\"a\": 1,}", "trailing comma"},
      {"[1, 2,]", "trailing comma"},
      {"{\"a\" 1}", "expected ':'"},
      {"{\"a\": tru}", "invalid literal"},
      {"\"abc", "unterminated string"},
      {"01", "leading zeros"},
      {"1.", "digits expected"},
      {"NaN", "unexpected character"},
      {"// c\n{}", "comments are not allowed"},
      {"{} {}", "unexpected text after"},
      {"\"a\x01\"", "control character"},
      {"\"\\x\"", "invalid escape"},
      {"\"\\ud800\"", "lone high surrogate"},
      {"\"\xff\"", "invalid UTF-8"},
      {"", "unexpected end of input"},
  };
  for (const auto& c : cases) {
    auto v = parse(c.text);
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_NE(v.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << v.status().message();
  }
}

TEST(JsonTest, DepthIsBounded) {
  std::string deep(40, '[');
  deep += std::string(40, ']');
  auto v = parse(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nesting deeper than 32"), std::string::npos);
  ParseOptions o;
  o.max_depth = 64;
  EXPECT_TRUE(parse(deep, o).ok());
}

TEST(JsonTest, SizeIsBounded) {
  ParseOptions o;
  o.max_bytes = 10;
  auto v = parse("[1,2,3,4,5,6]", o);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("limit"), std::string::npos);
}

TEST(JsonTest, IntegersStayExact) {
  auto v = parse("[9007199254740993, -9223372036854775808, 18446744073709551616]");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->asArray()[0].asInt(), 9007199254740993LL);
  EXPECT_EQ(v->asArray()[1].asInt(), INT64_MIN);
  EXPECT_EQ(v->asArray()[2].type(), Type::kDouble);  // beyond int64: a number, not an integer
}

TEST(JsonTest, UnicodeEscapesDecodeToUtf8) {
  auto v = parse(R"("\u00e9\ud83d\ude00\n")");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->asString(), "é\xF0\x9F\x98\x80\n");
}

TEST(JsonTest, WriterEscapesControlAndInvalidBytes) {
  Value v = std::string("a\"b\\c\x01\x7f\xff\n");
  std::string out = write(v);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u0001\\u007f\xEF\xBF\xBD\\n\"");
  // What we write always parses back.
  EXPECT_TRUE(parse(out).ok());
}

TEST(JsonTest, PrettyOutputParsesBackEqual) {
  Value o = Value::object();
  o.set("list", Value(Array{1, "two", Value::object()}));
  o.set("empty", Value::array());
  o.set("x", 1.5);
  std::string pretty = write(o, {.pretty = true});
  EXPECT_NE(pretty.find("\n  \"list\": ["), std::string::npos) << pretty;
  auto back = parse(pretty);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, o);
}

TEST(JsonTest, SetReplacesInPlace) {
  Value o = Value::object();
  o.set("a", 1);
  o.set("b", 2);
  o.set("a", 3);
  EXPECT_EQ(write(o), R"({"a":3,"b":2})");
}

TEST(JsonTest, EraseRemovesOneKeyAndKeepsTheOrderOfTheRest) {
  Value o = Value::object();
  o.set("a", 1);
  o.set("b", 2);
  o.set("c", 3);
  EXPECT_TRUE(o.erase("b"));
  EXPECT_FALSE(o.erase("b"));
  EXPECT_EQ(write(o), R"({"a":1,"c":3})");
  Value not_an_object = Value::array();
  EXPECT_FALSE(not_an_object.erase("a"));
  // find() on a mutable value gives a value that can be changed in place.
  *o.find("c") = Value("three");
  EXPECT_EQ(write(o), R"({"a":1,"c":"three"})");
  EXPECT_EQ(o.find("b"), nullptr);
}

TEST(JsonTest, ByteOrderMarkIsTolerated) {
  auto v = parse("\xEF\xBB\xBF{\"a\":1}");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->find("a")->asInt(), 1);
}

}  // namespace
}  // namespace hearth::json
