// screen_lock against real dconf databases read by real gsettings, as a real (temporary) user.
// Root only: it creates a user with useradd (removed in teardown). The dconf profile is given
// through LiveOptions.command_env (DCONF_PROFILE), so the host's /etc/dconf is never used.
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/check.h"
#include "hearth/system_view.h"
#include "screen_lock/screen_lock.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

bool Exists(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

class ScreenLockRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root: creates users";
    for (const char* tool : {"/usr/bin/gsettings", "/usr/bin/dconf", "/usr/sbin/useradd",
                             "/usr/sbin/userdel", "/usr/sbin/runuser"}) {
      if (!Exists(tool)) GTEST_SKIP() << tool << " is not installed";
    }
    auto schema = RunProcess({"/usr/bin/gsettings", "list-keys", "org.gnome.desktop.session"});
    if (schema.exit_code != 0) GTEST_SKIP() << "gsettings-desktop-schemas is not installed";
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    home_ = dir_.path() + "/home";
    user_ = "hearthtest" + std::to_string(::getpid());
    auto add = RunProcess({"/usr/sbin/useradd", "-M", "-d", home_, "-s", "/bin/bash", user_});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    created_ = true;
    auto id = RunProcess({"/usr/bin/id", "-u", user_});
    ASSERT_EQ(id.exit_code, 0);
    uid_ = static_cast<uid_t>(std::stoul(id.out));
    ASSERT_TRUE(uid_ >= 1000 && uid_ <= 60000) << "useradd gave uid " << uid_;
    std::filesystem::create_directories(home_ + "/.config/dconf");
    profile_ = dir_.write("profile", "user-db:user\n");
  }

  void TearDown() override {
    if (created_) RunProcess({"/usr/sbin/userdel", user_});
  }

  // Compiles keyfile text into a dconf database at `db` (with optional lock lines).
  void compile(const std::string& db, const std::string& keyfile, const std::string& locks = "") {
    std::string src = db + ".d";
    std::filesystem::create_directories(src + "/locks");
    std::ofstream(src + "/00-test") << keyfile;
    if (!locks.empty()) std::ofstream(src + "/locks/00-test") << locks;
    auto r = RunProcess({"/usr/bin/dconf", "compile", db, src});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // The user's own database, owned by the user like a real one, in a private home.
  void userDb(const std::string& keyfile) {
    compile(dir_.path() + "/userdb", keyfile);
    std::filesystem::copy_file(dir_.path() + "/userdb", home_ + "/.config/dconf/user",
                               std::filesystem::copy_options::overwrite_existing);
    for (const std::string& p :
         {home_, home_ + "/.config", home_ + "/.config/dconf", home_ + "/.config/dconf/user"}) {
      ASSERT_EQ(::chown(p.c_str(), uid_, uid_), 0) << p;
    }
    ASSERT_EQ(::chmod(home_.c_str(), 0700), 0);
  }

  // A system database locked by the administrator, after the user's database in the profile.
  void adminDb(const std::string& keyfile, const std::string& locks) {
    std::string db = dir_.path() + "/sys/local";
    std::filesystem::create_directories(dir_.path() + "/sys");
    compile(db, keyfile, locks);
    ::chmod((dir_.path() + "/sys").c_str(), 0755);
    ::chmod(db.c_str(), 0644);
    profile_ = dir_.write("profile", "user-db:user\nfile-db:" + db + "\n");
  }

  // What `gsettings <verb> SCHEMA KEY` prints when run as the user, as an administrator would.
  std::string asUser(const std::string& verb, const std::string& schema, const std::string& key) {
    std::vector<std::string> argv = {
        "/usr/sbin/runuser", "-u", user_,           "--",
        "/usr/bin/env",      "-i", "HOME=" + home_, "DCONF_PROFILE=" + profile_,
        "PATH=/usr/bin:/bin"};
    if (!schema_dir_.empty()) argv.push_back("GSETTINGS_SCHEMA_DIR=" + schema_dir_);
    for (const std::string& a : {std::string("/usr/bin/gsettings"), verb, schema, key}) {
      argv.push_back(a);
    }
    auto r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }
  int64_t uintAsUser(const std::string& schema, const std::string& key) {
    auto v = checks::screen_lock::parseGVariantInt(asUser("get", schema, key));
    EXPECT_TRUE(v.has_value());
    return v.value_or(-1);
  }

  // Runs the check on this machine and returns this test user's entry.
  json::Value runForUser(CheckResult* whole = nullptr) {
    LiveOptions options;
    options.command_env["DCONF_PROFILE"] = profile_;
    if (!schema_dir_.empty()) options.command_env["GSETTINGS_SCHEMA_DIR"] = schema_dir_;
    auto system = NewLiveSystemView(options);
    Policy policy;
    policy.level = "standard";
    policy.enable(checks::kScreenLockCheckId, std::make_shared<checks::ScreenLockSettings>());
    auto r = checks::NewScreenLockCheck()->run(*system, CheckParams{policy, ""});
    EXPECT_TRUE(r.ok()) << r.status().toString();
    if (!r.ok()) return {};
    if (whole != nullptr) *whole = *r;
    const json::Value* people = r->evidence.find("people");
    if (people != nullptr) {
      for (const auto& p : people->asArray()) {
        if (p.find("user") != nullptr && p.find("user")->asString() == user_) return p;
      }
    }
    ADD_FAILURE() << "the test user is not among the people: " << json::write(r->evidence);
    return {};
  }

  testing::TempDir dir_;
  std::string home_;
  std::string user_;
  std::string profile_;
  std::string schema_dir_;
  uid_t uid_ = 0;
  bool created_ = false;
};

int64_t IntOf(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  return f != nullptr && f->isInt() ? f->asInt() : -1;
}
std::string StrOf(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  return f != nullptr && f->isString() ? f->asString() : "<missing>";
}

TEST_F(ScreenLockRealTest, UserValuesAgreeWithGsettingsAsThatUser) {
  userDb(
      "[org/gnome/desktop/session]\nidle-delay=uint32 900\n\n"
      "[org/gnome/desktop/screensaver]\nlock-delay=uint32 30\n");
  json::Value p = runForUser();
  int64_t expected = uintAsUser("org.gnome.desktop.session", "idle-delay") +
                     uintAsUser("org.gnome.desktop.screensaver", "lock-delay");
  EXPECT_EQ(expected, 930);
  EXPECT_EQ(IntOf(p, "idle_to_lock_seconds"), expected);
  EXPECT_EQ(StrOf(p, "verdict"), "fail");
  EXPECT_EQ(StrOf(p, "desktop"), "gnome");
  EXPECT_EQ(p.find("enforced_by_administrator")->asBool(), false);
  EXPECT_EQ(asUser("writable", "org.gnome.desktop.session", "idle-delay"), "true");
}

TEST_F(ScreenLockRealTest, SchemaDefaultsPass) {
  // The database exists (the user changed something unrelated), the lock keys are defaults.
  userDb("[org/gnome/desktop/interface]\nclock-format='12h'\n");
  json::Value p = runForUser();
  int64_t expected = uintAsUser("org.gnome.desktop.session", "idle-delay") +
                     uintAsUser("org.gnome.desktop.screensaver", "lock-delay");
  EXPECT_EQ(IntOf(p, "idle_to_lock_seconds"), expected);
  EXPECT_EQ(expected, 300);
  EXPECT_EQ(StrOf(p, "verdict"), "pass");
  EXPECT_EQ(asUser("get", "org.gnome.desktop.screensaver", "lock-enabled"), "true");
}

TEST_F(ScreenLockRealTest, AdminLockOverridesTheUsersValueAndIsEnforced) {
  userDb(
      "[org/gnome/desktop/session]\nidle-delay=uint32 900\n\n"
      "[org/gnome/desktop/screensaver]\nlock-enabled=false\n");
  adminDb(
      "[org/gnome/desktop/session]\nidle-delay=uint32 240\n\n"
      "[org/gnome/desktop/screensaver]\nlock-enabled=true\nlock-delay=uint32 0\n"
      "idle-activation-enabled=true\n\n"
      "[org/gnome/desktop/lockdown]\ndisable-lock-screen=false\n",
      "/org/gnome/desktop/session/idle-delay\n"
      "/org/gnome/desktop/screensaver/lock-enabled\n"
      "/org/gnome/desktop/screensaver/lock-delay\n"
      "/org/gnome/desktop/screensaver/idle-activation-enabled\n"
      "/org/gnome/desktop/lockdown/disable-lock-screen\n");
  json::Value p = runForUser();
  EXPECT_EQ(uintAsUser("org.gnome.desktop.session", "idle-delay"), 240);
  EXPECT_EQ(asUser("writable", "org.gnome.desktop.session", "idle-delay"), "false");
  EXPECT_EQ(IntOf(p, "idle_to_lock_seconds"), 240);
  EXPECT_EQ(StrOf(p, "verdict"), "pass") << StrOf(p, "reason");
  EXPECT_EQ(p.find("enforced_by_administrator")->asBool(), true);
}

TEST_F(ScreenLockRealTest, PartialAdminLockIsNotEnforced) {
  userDb("[org/gnome/desktop/screensaver]\nlock-delay=uint32 600\n");
  adminDb("[org/gnome/desktop/session]\nidle-delay=uint32 120\n",
          "/org/gnome/desktop/session/idle-delay\n");
  json::Value p = runForUser();
  int64_t expected = uintAsUser("org.gnome.desktop.session", "idle-delay") +
                     uintAsUser("org.gnome.desktop.screensaver", "lock-delay");
  EXPECT_EQ(expected, 720);
  EXPECT_EQ(IntOf(p, "idle_to_lock_seconds"), expected);
  EXPECT_EQ(StrOf(p, "verdict"), "fail");
  EXPECT_EQ(p.find("enforced_by_administrator")->asBool(), false);
}

TEST_F(ScreenLockRealTest, UbuntuLockOnSuspendFromAPatchedSchema) {
  // Ubuntu's screensaver schema adds ubuntu-lock-on-suspend; build it the way Ubuntu ships it.
  schema_dir_ = dir_.mkdir("schemas");
  std::ifstream in("/usr/share/glib-2.0/schemas/org.gnome.desktop.screensaver.gschema.xml");
  if (!in) GTEST_SKIP() << "no screensaver schema source";
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string anchor = "<key name=\"lock-enabled\" type=\"b\">";
  size_t at = xml.find(anchor);
  ASSERT_NE(at, std::string::npos);
  xml.insert(at, "<key name=\"ubuntu-lock-on-suspend\" type=\"b\"><default>true</default></key>\n");
  std::ofstream(schema_dir_ + "/org.gnome.desktop.screensaver.gschema.xml") << xml;
  std::filesystem::copy_file("/usr/share/glib-2.0/schemas/org.gnome.desktop.enums.xml",
                             schema_dir_ + "/org.gnome.desktop.enums.xml");
  auto c = RunProcess({"/usr/bin/glib-compile-schemas", schema_dir_});
  if (c.exit_code != 0) GTEST_SKIP() << "glib-compile-schemas failed: " << c.err;
  ::chmod(schema_dir_.c_str(), 0755);
  ::chmod((schema_dir_ + "/gschemas.compiled").c_str(), 0644);
  userDb("[org/gnome/desktop/screensaver]\nubuntu-lock-on-suspend=false\n");
  json::Value p = runForUser();
  EXPECT_EQ(asUser("get", "org.gnome.desktop.screensaver", "ubuntu-lock-on-suspend"), "false");
  EXPECT_EQ(StrOf(p, "desktop"), "ubuntu");
  EXPECT_EQ(IntOf(p, "idle_to_lock_seconds"), 300);
  EXPECT_EQ(p.find("lock_on_resume")->asBool(), false);
  EXPECT_EQ(StrOf(p, "verdict"), "fail");
}

}  // namespace
}  // namespace hearth
