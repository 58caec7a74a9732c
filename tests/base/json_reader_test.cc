// The strict object reader: typed fields, unknown keys, and both wordings of its errors.
#include "hearth/json_reader.h"

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

#include "hearth/time.h"

namespace hearth::json {
namespace {

Value parsed(std::string_view text) {
  auto v = parse(text);
  EXPECT_TRUE(v.ok()) << v.status().toString();
  return v.ok() ? *v : Value();
}

TEST(ObjectReaderTest, ReadsTypedFieldsAndLeavesAbsentOptionalOnesAlone) {
  Value v = parsed(R"({"on":true,"n":7,"name":"x","sub":{"k":1},"list":[1,2]})");
  auto r = ObjectReader::Open(v, {.source = "doc"});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  bool on = false;
  int64_t n = 0;
  int small = 0;
  std::string name, absent = "kept";
  ASSERT_TRUE(r->readBool("on", on).ok());
  ASSERT_TRUE(r->readInt("n", 0, 10, n).ok());
  ASSERT_TRUE(r->readInt("n", 0, 10, small).ok());
  ASSERT_TRUE(r->readString("name", name).ok());
  ASSERT_TRUE(r->readString("missing", absent).ok());
  EXPECT_TRUE(on);
  EXPECT_EQ(n, 7);
  EXPECT_EQ(small, 7);
  EXPECT_EQ(name, "x");
  EXPECT_EQ(absent, "kept");
  std::optional<ObjectReader> sub;
  ASSERT_TRUE(r->readObject("sub", sub).ok());
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->path(), "sub");
  const Array* list = nullptr;
  ASSERT_TRUE(r->readArray("list", 2, "two numbers", list).ok());
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->size(), 2u);
}

TEST(ObjectReaderTest, KeyPathErrorsNameSourcePathExpectationAndValue) {
  Value v = parsed(R"({"checks":{"vpn":{"required":"yes","n":99,"s":""}}})");
  auto top = ObjectReader::Open(v, {.source = "p.json"});
  ASSERT_TRUE(top.ok());
  std::optional<ObjectReader> checks, vpn;
  ASSERT_TRUE(top->readObject("checks", checks).ok());
  ASSERT_TRUE(checks->readObject("vpn", vpn).ok());
  bool b = false;
  EXPECT_EQ(vpn->readBool("required", b).message(),
            "p.json: checks.vpn.required: expected true or false, got string \"yes\"");
  int n = 0;
  EXPECT_EQ(vpn->readInt("n", 1, 10, n).message(),
            "p.json: checks.vpn.n: expected a whole number from 1 to 10, got integer 99");
  int64_t wide = 0;
  EXPECT_EQ(vpn->readInt("n", 100, std::numeric_limits<int64_t>::max(), wide).message(),
            "p.json: checks.vpn.n: expected a whole number of 100 or more, got integer 99");
  std::string s;
  EXPECT_EQ(vpn->readString("s", s, {.non_empty = true}).message(),
            "p.json: checks.vpn.s: expected a non-empty string, got string \"\"");
  EXPECT_EQ(vpn->readString("absent", s, {}, Presence::kRequired).message(),
            "p.json: checks.vpn.absent: expected a string (missing)");
  EXPECT_EQ(vpn->onlyKeys({"required", "n"}).message(),
            "p.json: checks.vpn.s: unknown key (expected one of required, n)");
  EXPECT_EQ(vpn->invalid("list[3]", "an address", nullptr).message(),
            "p.json: checks.vpn.list[3]: expected an address");
  EXPECT_EQ(vpn->readBool("required", b).code(), StatusCode::kInvalidArgument);
}

TEST(ObjectReaderTest, ALongValueIsShortenedAndContainersAreNamedByType) {
  Value v = parsed(R"({"a":")" + std::string(100, 'x') + R"(","b":[1],"c":{}})");
  ObjectReader r(v, {.source = "f"});
  bool b = false;
  std::string m = r.readBool("a", b).message();
  EXPECT_NE(m.find("got string \"xxxxxxxx"), std::string::npos) << m;
  EXPECT_NE(m.find("..."), std::string::npos) << m;
  EXPECT_LT(m.size(), 100u) << m;
  EXPECT_EQ(r.readBool("b", b).message(), "f: b: expected true or false, got array");
  EXPECT_EQ(r.readBool("c", b).message(), "f: c: expected true or false, got object");
}

TEST(ObjectReaderTest, FieldErrorsUseTheApiWording) {
  Value v = parsed(R"({"csr":5,"long":"abcdef","empty":"","extra":1,"result":{"checks":[3]}})");
  ObjectReader r(v, {.source = "enroll", .style = ErrorStyle::kField});
  std::string s;
  EXPECT_EQ(r.readString("csr", s).message(), "field \"csr\" must be a string");
  EXPECT_EQ(r.readString("long", s, {.max_bytes = 3}).message(),
            "field \"long\" is longer than 3 bytes");
  EXPECT_EQ(r.readString("empty", s, {.non_empty = true}).message(),
            "field \"empty\" must not be empty");
  EXPECT_EQ(r.readString("absent", s, {}, Presence::kRequired).message(),
            "missing field \"absent\"");
  EXPECT_EQ(r.onlyKeys({"csr", "long", "empty", "result"}).message(),
            "enroll: unknown field \"extra\"");
  std::optional<ObjectReader> result;
  ASSERT_TRUE(r.readObject("result", result).ok());
  bool b = false;
  // Below the top, a missing field reads like a wrong one.
  EXPECT_EQ(result->readBool("compliant", b, Presence::kRequired).message(),
            "result.compliant must be true or false");
  const Array* checks = nullptr;
  ASSERT_TRUE(result->readArray("checks", 64, "an array of checks", checks).ok());
  auto element = result->objectAt("checks[]", (*checks)[0], "objects");
  EXPECT_EQ(element.status().message(), "result.checks[] must be objects");
}

TEST(ObjectReaderTest, OpenRefusesWhatIsNotAnObjectInEitherWording) {
  Value v = parsed("[1]");
  EXPECT_EQ(ObjectReader::Open(v, {.source = "p.json"}).status().message(),
            "p.json: (top level): expected a JSON object, got array");
  EXPECT_EQ(ObjectReader::Open(v, {.style = ErrorStyle::kField}).status().message(),
            "expected a JSON object");
}

TEST(ObjectReaderTest, TheCodeIsTheCallersChoice) {
  Value v = parsed(R"({"server":1})");
  ObjectReader r(v, {.source = "state.json", .code = StatusCode::kDataLoss});
  std::string s;
  EXPECT_EQ(r.readString("server", s).code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.readString("device_id", s, {}, Presence::kRequired).code(), StatusCode::kDataLoss);
}

TEST(ObjectReaderTest, TimesAreRfc3339StringsAndASourcelessReaderStartsWithThePath) {
  Value v = parsed(R"({"at":"2026-11-26T10:00:00Z","bad":"yesterday","n":5})");
  ObjectReader r(v, {.code = StatusCode::kDataLoss}, "told[]");
  std::chrono::system_clock::time_point at;
  ASSERT_TRUE(r.readTime("at", at).ok());
  EXPECT_EQ(formatRfc3339(at), "2026-11-26T10:00:00Z");
  EXPECT_EQ(r.readTime("bad", at).message(),
            "told[].bad: expected an RFC 3339 time, got string \"yesterday\"");
  EXPECT_EQ(r.readTime("n", at).message(), "told[].n: expected an RFC 3339 time, got integer 5");
  EXPECT_EQ(r.readTime("absent", at, Presence::kRequired).message(),
            "told[].absent: expected an RFC 3339 time (missing)");
  EXPECT_EQ(r.readTime("bad", at).code(), StatusCode::kDataLoss);
}

TEST(ObjectReaderTest, LenientReadsGiveFallbacksForAbsentOrMistypedFields) {
  Value v = parsed(R"({"s":"x","i":3,"b":true,"wrong":"3"})");
  ObjectReader r(v, {});
  EXPECT_EQ(r.stringOr("s"), "x");
  EXPECT_EQ(r.stringOr("i", "none"), "none");
  EXPECT_EQ(r.intOr("i", -1), 3);
  EXPECT_EQ(r.intOr("wrong", -1), -1);
  EXPECT_TRUE(r.boolOr("b", false));
  EXPECT_FALSE(r.boolOr("absent", false));
  // A value that is not an object reads as one without fields.
  Value not_object(5);
  ObjectReader lenient(not_object, {});
  EXPECT_EQ(lenient.intOr("i", 9), 9);
  EXPECT_FALSE(lenient.has("i"));
}

}  // namespace
}  // namespace hearth::json
