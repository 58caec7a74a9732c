// Preseeded enrolment (/etc/hearth/enroll.conf): what IT puts in the file, the errors it gets
// for mistakes (file, line, key), and enrolment against a real hearth-server on loopback, after
// which the secret is gone from the PC.
#include "hearth/agent/preseed.h"

#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/agent/enrollment.h"
#include "support/files.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using hearth::testing::Exists;
using hearth::testing::ReadFile;
using hearth::testing::TempDir;
using hearth::testing::TestServer;

mode_t modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// --- the file's format -----------------------------------------------------------------------

class PreseedFileTest : public ::testing::Test {
 protected:
  // Runs EnrollFromPreseed on `content`; returns the error message ("" when OK).
  std::string errorFor(const std::string& content) {
    path_ = dir_.write("enroll.conf", content);
    std::ostringstream log;
    Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
    auto r = EnrollFromPreseed(path_, dir_.path() + "/state", "none", "nobody", logger);
    return r.ok() ? "" : r.status().message();
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(PreseedFileTest, MissingFileMeansNothingToDo) {
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto r =
      EnrollFromPreseed(dir_.path() + "/enroll.conf", dir_.path() + "/state", "", "nobody", logger);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->attempted);
  EXPECT_FALSE(r->enrolled);
  EXPECT_FALSE(Exists(dir_.path() + "/state"));
}

TEST_F(PreseedFileTest, UnknownKeyNamesFileLineAndKey) {
  std::string e = errorFor("server = https://h.example:8443\ncolour = blue\n");
  EXPECT_NE(e.find(path_ + ":2: colour: unknown key"), std::string::npos) << e;
}

TEST_F(PreseedFileTest, KeySetTwiceIsRefused) {
  std::string e = errorFor("# comment\nserver = https://a.example\nserver = https://b.example\n");
  EXPECT_NE(e.find(path_ + ":3: server: set twice (first on line 2)"), std::string::npos) << e;
}

TEST_F(PreseedFileTest, PlainHttpServerIsRefused) {
  std::string e = errorFor("server = http://h.example:8443\npin = x\nsecret = s\n");
  EXPECT_NE(e.find(path_ + ":1: server: expected the server's https:// URL"), std::string::npos)
      << e;
}

TEST_F(PreseedFileTest, MalformedPinIsRefused) {
  std::string e = errorFor("server = https://h.example\npin = sha256//short\nsecret = s\n");
  EXPECT_NE(e.find(path_ + ":2: pin: expected sha256//"), std::string::npos) << e;
}

TEST_F(PreseedFileTest, MissingServerIsNamed) {
  std::string e = errorFor("ca_file = /etc/hearth/ca.pem\nsecret = s\n");
  EXPECT_NE(e.find(path_ + ": server: missing"), std::string::npos) << e;
}

TEST_F(PreseedFileTest, TrustIsRequiredExactlyOnce) {
  std::string none = errorFor("server = https://h.example\nsecret = s\n");
  EXPECT_NE(none.find(path_ + ": ca_file, pin: give exactly one"), std::string::npos) << none;
  std::string both = errorFor(
      "server = https://h.example\nca_file = ca.pem\n"
      "pin = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nsecret = "
      "s\n");
  EXPECT_NE(both.find(path_ + ": ca_file, pin: give exactly one"), std::string::npos) << both;
}

TEST_F(PreseedFileTest, SecretIsRequiredExactlyOnce) {
  std::string e = errorFor("server = https://h.example\nca_file = ca.pem\n");
  EXPECT_NE(e.find(path_ + ": secret, secret_file: give exactly one"), std::string::npos) << e;
}

TEST_F(PreseedFileTest, ALineWithoutKeyIsNotEchoed) {
  // A secret pasted on a line of its own must not end up in the journal.
  std::string e = errorFor("server = https://h.example\nhes_0123456789abcdef\n");
  EXPECT_NE(e.find(path_ + ":2: expected `key = value`"), std::string::npos) << e;
  EXPECT_EQ(e.find("hes_0123456789abcdef"), std::string::npos) << e;
}

// --- enrolment against a real server ---------------------------------------------------------

class PreseedEnrolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_state_ = dir_.path() + "/server";
    state_ = dir_.path() + "/agent";
    etc_ = dir_.mkdir("etc");
    server_ = std::make_unique<TestServer>(server_state_);
    auto init = server_->init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log"))
        << ReadFile(dir_.path() + "/server.log");
    url_ = "https://" + server_->address("devices");
    secret_ = server_->enrollSecret();
    // The CA next to the preseed file, named relatively (as a company package would ship it).
    dir_.write("etc/company-ca.pem", ReadFile(server_->caFile()));
  }

  StatusOr<PreseedOutcome> enrol(const std::string& preseed) {
    log_.str("");
    return EnrollFromPreseed(preseed, state_, "none", service_user_, logger_);
  }

  TempDir dir_;
  std::string server_state_, state_, etc_, url_, secret_;
  std::string service_user_ = "nobody";
  std::unique_ptr<TestServer> server_;
  std::ostringstream log_;
  Logger logger_{log_, LogLevel::kDebug, LogFormat::Terminal("hearth-agent")};
};

TEST_F(PreseedEnrolTest, InlineSecretEnrolsAndIsRemovedFromTheFile) {
  std::string conf =
      dir_.write("etc/enroll.conf", "# company rollout\nserver = " + url_ +
                                        "\nca_file = company-ca.pem\nsecret = " + secret_ +
                                        "\nowner = alice\n");
  ASSERT_EQ(::chmod(conf.c_str(), 0600), 0);

  auto r = enrol(conf);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << log_.str();
  EXPECT_TRUE(r->attempted);
  EXPECT_TRUE(r->enrolled);
  auto e = LoadEnrollment(state_);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->server, url_);
  EXPECT_EQ(e->owner, "alice");
  EXPECT_TRUE(e->has_ca);

  std::string after = ReadFile(conf);
  EXPECT_EQ(after.find(secret_), std::string::npos) << after;
  EXPECT_NE(after.find("# company rollout\nserver = " + url_ + "\nca_file = company-ca.pem\n"),
            std::string::npos)
      << after;
  EXPECT_NE(after.find("# secret removed by hearth-agent after enrolment"), std::string::npos);
  EXPECT_NE(after.find("owner = alice\n"), std::string::npos) << after;
  EXPECT_EQ(modeOf(conf), 0600u);
  EXPECT_FALSE(Exists(state_ + "/.preseed-secret"));
  EXPECT_EQ(log_.str().find(secret_), std::string::npos) << "the secret was logged";
}

// agent.conf's service_user is what the enrolment's network side runs as (the daemon's and
// run --once's preseeded enrolment used to ignore it and always use "hearth").
TEST_F(PreseedEnrolTest, TheConfiguredServiceUserIsUsed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the privilege drop)";
  std::string conf =
      dir_.write("etc/enroll.conf",
                 "server = " + url_ + "\nca_file = company-ca.pem\nsecret = " + secret_ + "\n");
  ASSERT_EQ(::chmod(conf.c_str(), 0600), 0);
  service_user_ = "root";  // refused: the network side must never run as root
  auto r = enrol(conf);
  EXPECT_FALSE(r.ok() && r->enrolled) << log_.str();
  std::string said = (r.ok() ? "" : r.status().message()) + log_.str();
  EXPECT_NE(said.find("service_user \"root\" is root"), std::string::npos) << said;
  service_user_ = "nobody";
  auto again = enrol(conf);
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << log_.str();
  EXPECT_TRUE(again->enrolled);
}

TEST_F(PreseedEnrolTest, SecretFileIsDeletedAndTheRestKept) {
  std::string secret_file = dir_.write("etc/enroll-secret", secret_ + "\n");
  std::string text =
      "server = " + url_ + "\nca_file = " + etc_ + "/company-ca.pem\nsecret_file = enroll-secret\n";
  std::string conf = dir_.write("etc/enroll.conf", text);

  auto r = enrol(conf);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << log_.str();
  EXPECT_TRUE(r->enrolled);
  EXPECT_FALSE(Exists(secret_file));
  EXPECT_EQ(ReadFile(conf), text);  // untouched, so a packaged conffile stays unmodified

  // Enrolled: a second start does nothing.
  auto again = enrol(conf);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->attempted);
}

TEST_F(PreseedEnrolTest, SecretBroughtBackAfterEnrolmentIsRemoved) {
  std::string secret_file = dir_.write("etc/enroll-secret", secret_ + "\n");
  std::string conf = dir_.write("etc/enroll.conf", "server = " + url_ +
                                                       "\nca_file = company-ca.pem\n"
                                                       "secret_file = enroll-secret\n");
  ASSERT_TRUE(enrol(conf).ok()) << log_.str();
  // A package upgrade installs the secret again.
  dir_.write("etc/enroll-secret", secret_ + "\n");
  auto r = enrol(conf);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->attempted);
  EXPECT_FALSE(Exists(secret_file));
}

TEST_F(PreseedEnrolTest, RefusedSecretIsKeptAndNothingEnrolled) {
  std::string conf = dir_.write("etc/enroll.conf", "server = " + url_ +
                                                       "\nca_file = company-ca.pem\n"
                                                       "secret = hes_not_a_real_secret\n");
  auto r = enrol(conf);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(conf), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("refused"), std::string::npos) << r.status().message();
  EXPECT_NE(ReadFile(conf).find("secret = hes_not_a_real_secret"), std::string::npos);
  EXPECT_EQ(LoadEnrollment(state_).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(Exists(state_ + "/.preseed-secret"));
}

TEST_F(PreseedEnrolTest, FileForAnotherServerIsIgnoredOnceEnrolled) {
  std::string conf = dir_.write("etc/enroll.conf", "server = " + url_ +
                                                       "\nca_file = company-ca.pem\n"
                                                       "secret_file = enroll-secret\n");
  dir_.write("etc/enroll-secret", secret_ + "\n");
  ASSERT_TRUE(enrol(conf).ok()) << log_.str();
  std::string other = dir_.write("etc/other.conf",
                                 "server = https://elsewhere.example:8443\n"
                                 "ca_file = company-ca.pem\nsecret = hes_other\n");
  auto r = enrol(other);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->attempted);
  EXPECT_NE(ReadFile(other).find("secret = hes_other"), std::string::npos);
  EXPECT_NE(log_.str().find("ignoring it"), std::string::npos) << log_.str();
}

}  // namespace
}  // namespace hearth::agent
