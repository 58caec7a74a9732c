// Texts kept apart from their language (i18n::Message) and catalogs read straight from a .mo
// file (i18n::Catalog, for a notification in a language other than the process's).
#include "hearth/i18n.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "hearth/files.h"
#include "hearth/json.h"
#include "support/programs.h"

namespace hearth::i18n {
namespace {

TEST(MessageTest, EnglishFillsPlaceholdersAndChoosesThePlural) {
  Message m = MsgN("{1} update pending {2}", "{1} updates pending {2}", 3,
                   {Lit("3"), MsgN("for {1} day", "for {1} days", 1, {Lit("1")})});
  EXPECT_EQ(m.english(), "3 updates pending for 1 day");
  EXPECT_EQ(Joined({Lit("a"), Msg("b {1}", {Lit("{2}")}), Lit("c")}, "; ").english(),
            "a; b {2}; c");  // an argument's braces are not placeholders
  std::vector<Message> many;
  for (int i = 1; i <= 12; ++i) many.push_back(Lit(std::to_string(i)));
  EXPECT_EQ(Joined(many, ",").english(), "1,2,3,4,5,6,7,8,9,10,11,12");
}

TEST(MessageTest, JsonRoundTripKeepsEverything) {
  Message m =
      Msg("Set {1} to {2}.", {Lit("Blank Screen Delay"),
                              MsgN("{1} minute or less", "{1} minutes or less", 5, {Lit("5")})});
  json::Value j = m.toJson();
  Message back = Message::fromJson(json::parse(json::write(j)).value());
  EXPECT_EQ(back.english(), m.english());
  EXPECT_EQ(json::write(back.toJson()), json::write(j));
  EXPECT_EQ(json::write(Lit("plain").toJson()), "\"plain\"");
  // Damaged input is shown as what could be read, never dropped.
  EXPECT_EQ(Message::fromJson(json::Value(7)).english(), "");
  EXPECT_EQ(Message::fromJson(json::parse(R"({"m":"x {1}","a":[3]})").value()).english(), "x ");
}

TEST(CatalogTest, ReadsTheBuiltDanishCatalogWithoutTheProcessLocale) {
  ASSERT_EQ(::setenv("HEARTH_LOCALEDIR", testing::BuiltLocaleDir().c_str(), 1), 0);
  auto da = Catalog::ForLanguages("da_DK.UTF-8");
  ASSERT_NE(da, nullptr);
  EXPECT_EQ(da->language(), "da");
  EXPECT_EQ(da->translate("FAIL"), "FEJL");
  EXPECT_EQ(da->translate("{1} day", "{1} days", 1), "{1} dag");
  EXPECT_EQ(da->translate("{1} day", "{1} days", 2), "{1} dage");
  EXPECT_EQ(da->translate("not in the catalog"), "not in the catalog");
  Message m = MsgN("for {1} day", "for {1} days", 4, {Lit("4")});
  EXPECT_EQ(m.text(da.get()), "i 4 dage");
  EXPECT_EQ(m.text(nullptr), "for 4 days");  // this process: C, English
  // A LANGUAGE list is tried in order; English and C need no catalog.
  EXPECT_NE(Catalog::ForLanguages("xx:da"), nullptr);
  EXPECT_EQ(Catalog::ForLanguages("en_GB.UTF-8:da"), nullptr);
  EXPECT_EQ(Catalog::ForLanguages("C.UTF-8"), nullptr);
  EXPECT_EQ(Catalog::ForLanguages("../../etc"), nullptr);
  ::unsetenv("HEARTH_LOCALEDIR");
}

TEST(CatalogTest, ChosenLanguageFollowsGettextsOrder) {
  EXPECT_EQ(Catalog::ChosenLanguages({{"LANG", "da_DK.UTF-8"}}), "da_DK.UTF-8");
  EXPECT_EQ(Catalog::ChosenLanguages({{"LANG", "en_US.UTF-8"}, {"LC_MESSAGES", "da_DK.UTF-8"}}),
            "da_DK.UTF-8");
  EXPECT_EQ(Catalog::ChosenLanguages({{"LANG", "da_DK.UTF-8"}, {"LANGUAGE", "da:en"}}), "da:en");
  // LANGUAGE counts only outside the C locale, as in gettext.
  EXPECT_EQ(Catalog::ChosenLanguages({{"LANG", "C"}, {"LANGUAGE", "da"}}), "");
  EXPECT_EQ(Catalog::ChosenLanguages({}), "");
}

TEST(CatalogTest, RefusesWhatIsNotAMoFile) {
  EXPECT_FALSE(Catalog::Parse("").ok());
  EXPECT_FALSE(Catalog::Parse(std::string(64, 'x')).ok());
  auto mo = ReadFileBounded(testing::BuiltLocaleDir() + "/da/LC_MESSAGES/hearth.mo", 1 << 20);
  ASSERT_TRUE(mo.ok());
  // Cut short: a table or a string beyond the end is an error, not a read past the buffer.
  EXPECT_FALSE(Catalog::Parse(mo->substr(0, 40)).ok());
  EXPECT_TRUE(Catalog::Parse(*mo).ok());
}

}  // namespace
}  // namespace hearth::i18n
