#include "hearth/check_registry.h"

#include <gtest/gtest.h>

#include "hearth/policy.h"

namespace hearth {
namespace {

// A check for registries built in a test: answers pass, reads one setting of its own.
struct ColourSettings : CheckSettings {
  std::string colour = "green";
};

class ColourCheck final : public Check {
 public:
  std::string_view id() const override { return "colour"; }
  StatusOr<CheckResult> run(const SystemView& /*system*/,
                            const CheckParams& params) const override {
    CheckResult r;
    r.verdict = Verdict::kPass;
    r.summary = "colour is " + params.policy.settingsOr<ColourSettings>(id()).colour;
    return r;
  }
};

Status readColour(const json::ObjectReader& section, ColourSettings& s) {
  return section.readString("colour", s.colour, {.non_empty = true});
}

CheckEntry colourEntry() {
  return {.spec = {.id = "colour",
                   .wording = {"Colour", "Colour needs attention"},
                   .settings = SettingsOf({"colour"}, readColour)},
          .make = [] { return std::make_unique<ColourCheck>(); }};
}

TEST(CheckRegistryTest, TheBuiltinChecksInReportOrder) {
  CheckRegistry builtin = BuiltinChecks();
  std::vector<std::string> ids;
  for (const auto& e : builtin.entries()) ids.push_back(e.spec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"disk_encryption", "vpn", "os_patches", "screen_lock"}));
  auto checks = builtin.makeChecks();
  ASSERT_EQ(checks.size(), builtin.entries().size());
  for (size_t i = 0; i < checks.size(); ++i) {
    const CheckEntry& e = builtin.entries()[i];
    const CheckSpec& spec = e.spec;
    EXPECT_EQ(checks[i]->id(), spec.id);  // the factory makes the check its entry names
    EXPECT_FALSE(spec.wording.name.empty()) << spec.id;
    EXPECT_FALSE(spec.wording.notification_title.empty()) << spec.id;
    EXPECT_EQ(spec.settings.keys.empty(), !spec.settings.parse) << spec.id;
  }
  EXPECT_EQ(builtin.find("screen_lock")->spec.wording.notification_title,
            "Screen lock needs attention");
  EXPECT_EQ(builtin.find("os_patches")->spec.wording.name, "System updates");
  EXPECT_EQ(builtin.find("firewall"), nullptr);
}

// The server links only the policy parts (BuiltinCheckSpecs, hearth_policy); the agent's entries
// come from the same list, so both name the same checks, in the same order, the same way.
TEST(CheckRegistryTest, ThePolicyPartsAreThoseOfTheAgentEntries) {
  CheckSpecRegistry specs = BuiltinCheckSpecs();
  CheckRegistry builtin = BuiltinChecks();
  ASSERT_EQ(specs.entries().size(), builtin.entries().size());
  ASSERT_EQ(builtin.specs().entries().size(), builtin.entries().size());
  for (size_t i = 0; i < specs.entries().size(); ++i) {
    const CheckSpec& spec = specs.entries()[i];
    const CheckSpec& of_entry = builtin.entries()[i].spec;
    EXPECT_EQ(spec.id, of_entry.id);
    EXPECT_EQ(builtin.specs().entries()[i].id, of_entry.id);
    EXPECT_EQ(spec.wording.name, of_entry.wording.name) << spec.id;
    EXPECT_EQ(spec.wording.notification_title, of_entry.wording.notification_title) << spec.id;
    EXPECT_EQ(spec.settings.keys, of_entry.settings.keys) << spec.id;
    EXPECT_EQ(static_cast<bool>(spec.settings.parse), static_cast<bool>(of_entry.settings.parse));
  }
  // A policy parses the same against either.
  const char* doc = R"({"level":"l","version":1,"checks":{"screen_lock":{"max_idle_seconds":60}}})";
  auto by_specs = ParsePolicy(doc, "p", specs);
  auto by_entries = ParsePolicy(doc, "p", builtin.specs());
  ASSERT_TRUE(by_specs.ok()) << by_specs.status().toString();
  ASSERT_TRUE(by_entries.ok());
  ASSERT_EQ(by_specs->checks.size(), 1u);
  EXPECT_EQ(by_specs->checks[0].id, by_entries->checks[0].id);
}

TEST(CheckRegistryTest, OnlyTheVpnCheckRerunsWhenTheNetworkChanges) {
  auto policy = ParsePolicy(R"({"level":"l","version":1,"checks":{"vpn":{},"os_patches":{}}})", "p",
                            BuiltinChecks().specs());
  ASSERT_TRUE(policy.ok()) << policy.status().toString();
  EXPECT_EQ(BuiltinChecks().rerunOnNetworkChange(*policy), (std::set<std::string>{"vpn"}));
  auto without = ParsePolicy(R"({"level":"l","version":1,"checks":{"os_patches":{}}})", "p",
                             BuiltinChecks().specs());
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(BuiltinChecks().rerunOnNetworkChange(*without).empty());
}

TEST(CheckRegistryTest, AddRefusesBadIdsDuplicatesAndEntriesWithoutAFactory) {
  CheckRegistry r;
  ASSERT_TRUE(r.add(colourEntry()).ok());
  Status dup = r.add(colourEntry());
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.message(), "check colour is already registered");
  for (const char* bad : {"", "Colour", "1st", "col-our", "col our"}) {
    CheckEntry e = colourEntry();
    e.spec.id = bad;
    EXPECT_EQ(r.add(e).code(), StatusCode::kInvalidArgument) << bad;
  }
  CheckEntry long_id = colourEntry();
  long_id.spec.id = std::string(65, 'a');
  EXPECT_FALSE(r.add(long_id).ok());
  CheckEntry no_factory = colourEntry();
  no_factory.spec.id = "shade";
  no_factory.make = nullptr;
  EXPECT_EQ(r.add(no_factory).message(), "check shade: no factory");
  EXPECT_EQ(r.entries().size(), 1u);
}

TEST(CheckRegistryTest, APolicyMayNameEveryCheckOfItsRegistryAndOnlyThose) {
  CheckRegistry r = BuiltinChecks();
  ASSERT_TRUE(r.add(colourEntry()).ok());
  auto p = ParsePolicy(
      R"({"level":"l","version":1,"checks":{"colour":{"required":false,"colour":"blue"},
          "vpn":{"company_addresses":["10.0.0.1"]}}})",
      "p.json", r.specs());
  ASSERT_TRUE(p.ok()) << p.status().toString();
  // Registry order, not document order.
  ASSERT_EQ(p->checks.size(), 2u);
  EXPECT_EQ(p->checks[0].id, "vpn");
  EXPECT_EQ(p->checks[1].id, "colour");
  EXPECT_FALSE(p->required("colour"));  // the keys every check has are read for it too
  ASSERT_NE(p->settings<ColourSettings>("colour"), nullptr);
  EXPECT_EQ(p->settings<ColourSettings>("colour")->colour, "blue");

  auto unknown =
      ParsePolicy(R"({"level":"l","version":1,"checks":{"color":{}}})", "p.json", r.specs());
  EXPECT_EQ(unknown.status().message(),
            "p.json: checks.color: unknown key (expected one of disk_encryption, vpn, os_patches, "
            "screen_lock, colour)");
  auto key = ParsePolicy(R"({"level":"l","version":1,"checks":{"colour":{"hue":1}}})", "p.json",
                         r.specs());
  EXPECT_EQ(
      key.status().message(),
      "p.json: checks.colour.hue: unknown key (expected one of required, grace_days, help_url, "
      "colour)");
  auto value = ParsePolicy(R"({"level":"l","version":1,"checks":{"colour":{"colour":""}}})",
                           "p.json", r.specs());
  EXPECT_EQ(value.status().message(),
            "p.json: checks.colour.colour: expected a non-empty string, got string \"\"");

  // The same document against the built-in registry alone: colour is not a check there.
  auto builtin = ParsePolicy(R"({"level":"l","version":1,"checks":{"colour":{}}})", "p.json",
                             BuiltinChecks().specs());
  EXPECT_FALSE(builtin.ok());
}

TEST(CheckRegistryTest, PolicyEnableAddsOrReplacesAndSettingsAreTyped) {
  Policy p;
  p.enable("colour", std::make_shared<ColourSettings>());
  p.enable("vpn");
  p.enable("colour", nullptr, false);  // replaced where it is
  ASSERT_EQ(p.checks.size(), 2u);
  EXPECT_EQ(p.checks[0].id, "colour");
  EXPECT_FALSE(p.required("colour"));
  EXPECT_EQ(p.settings<ColourSettings>("colour"), nullptr);
  EXPECT_EQ(p.settingsOr<ColourSettings>("colour").colour, "green");  // the defaults
  EXPECT_TRUE(p.required("vpn"));
  EXPECT_FALSE(p.enabled("screen_lock"));
}

}  // namespace
}  // namespace hearth
