// Updates already pending at first sight (issue 14 item 6), end to end: the real hearth-agent and
// hearth-server on loopback, the agents' apt pointed at a hermetic `file:` repository (a directory
// bound over /etc/apt in a private mount namespace), clocks moved with libfaketime. Device A
// reports a security update pending on day 0; device B enrols on day 10 with the same update
// pending: the server's acknowledgement dates it from day 0, and B's next check fails os_patches
// (limit 7 days) with the evidence naming the fleet's date. Root only (mount namespace).
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/time.h"
#include "integration/apt_repo.h"
#include "integration/delivery_harness.h"
#include "support/curl_cli.h"
#include "support/server_process.h"

namespace hearth {
namespace {

using delivery_harness::kAgent;
using delivery_harness::RemoveStaleFaketimeObjects;
using testing::ReadFile;
using testing::RunProcess;

const std::string kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// Security updates at most 7 days; the hermetic lists are as old as the test's clock moves.
constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"os_patches":{"required":true,)"
    R"("max_security_update_age_days":7,"max_update_age_days":60,)"
    R"("max_package_list_age_days":60,"reboot_grace_days":3650}}})";

class FleetFirstSeenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root (a private mount namespace)";
    if (::access(kFaketime.c_str(), R_OK) != 0) {
      GTEST_SKIP() << kFaketime << " is missing (Debian package faketime; scripts/install-deps)";
    }
    if (!testing::haveAptTools()) GTEST_SKIP() << "apt-get, apt-ftparchive or dpkg-deb missing";
    RemoveStaleFaketimeObjects();
    repo_ = std::make_unique<testing::AptRepo>(apt_dir_);
    ASSERT_NO_FATAL_FAILURE(repo_->build());
    // What the agents see as /etc/apt: only the hermetic configuration.
    etc_apt_ = dir_.path() + "/etc-apt";
    std::filesystem::create_directories(etc_apt_ + "/apt.conf.d");
    std::filesystem::copy_file(repo_->conf(), etc_apt_ + "/apt.conf");
    dir_.write("agent.conf", "# fleet test\nproxy = none\n");
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/server");
    auto init = server_->init({"--policy", dir_.write("policy.json", kPolicy)});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  void TearDown() override {
    server_.reset();
    RemoveStaleFaketimeObjects();
  }

  // (Re)starts the server with its clock moved by `offset` ("" for none), on the same ports.
  void serve(const std::string& offset) {
    testing::ServeOptions o;
    if (!devices_.empty()) {
      o.listen = devices_;
      o.admin_listen = admin_;
    }
    o.prefix = faketime(offset);
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log", o))
        << ReadFile(dir_.path() + "/server.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  static std::vector<std::string> faketime(const std::string& offset) {
    if (offset.empty()) return {};
    return {"/usr/bin/env", "LD_PRELOAD=" + kFaketime, "FAKETIME=" + offset,
            "FAKETIME_DONT_FAKE_MONOTONIC=1"};
  }

  // hearth-agent `args` for the device in `state`, its clock moved by `offset`, seeing the
  // hermetic /etc/apt.
  testing::ProcessOutput agent(const std::string& state, const std::string& offset,
                               std::vector<std::string> args) {
    std::vector<std::string> argv = faketime(offset);
    argv.insert(argv.end(),
                {"/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                 "mount --bind \"$0\" /etc/apt && exec \"$@\"", etc_apt_, kAgent});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--state-dir", state, "--config", dir_.path() + "/agent.conf"});
    return RunProcess(argv);
  }

  void enrollAndRun(const std::string& state, const std::string& offset) {
    auto e = agent(state, offset,
                   {"enroll", "--server", "https://" + devices_, "--secret-file",
                    server_->stateDir() + "/enroll-secret", "--ca-file", server_->caFile()});
    ASSERT_EQ(e.exit_code, 0) << e.out << e.err;
    auto r = agent(state, offset, {"run", "--once"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // os_patches of the last report the device sent (last-report.json: what the server holds).
  static json::Value sentPatches(const std::string& state) {
    auto sent = json::parse(ReadFile(state + "/last-report.json"));
    EXPECT_TRUE(sent.ok());
    if (!sent.ok()) return json::Value();
    for (const auto& c : sent->find("result")->find("checks")->asArray()) {
      if (c.find("id")->asString() == "os_patches") return c;
    }
    ADD_FAILURE() << "no os_patches in " << json::write(*sent);
    return json::Value();
  }

  // The pending entry of `name` in a check's evidence (null when absent).
  static const json::Value* pendingOf(const json::Value& check, const std::string& name) {
    const json::Value* ev = check.find("evidence");
    const json::Value* pending = ev != nullptr ? ev->find("pending") : nullptr;
    if (pending == nullptr || !pending->isArray()) return nullptr;
    for (const auto& p : pending->asArray()) {
      if (p.find("name")->asString() == name) return &p;
    }
    return nullptr;
  }

  testing::TempDir dir_, apt_dir_;
  std::unique_ptr<testing::AptRepo> repo_;
  std::unique_ptr<testing::TestServer> server_;
  std::string etc_apt_, devices_, admin_;
};

TEST_F(FleetFirstSeenTest, ADeviceEnrolledOnDayTenAgesAnUpdateFromTheFleetsDayZero) {
  const std::string a = dir_.path() + "/agent-a", b = dir_.path() + "/agent-b";
  // Day 0: device A reports hearth-test-pkg 2.0 (a security update) pending; within its limit.
  ASSERT_NO_FATAL_FAILURE(serve(""));
  ASSERT_NO_FATAL_FAILURE(enrollAndRun(a, ""));
  json::Value on_a = sentPatches(a);
  EXPECT_EQ(on_a.find("verdict")->asString(), "pass") << json::write(on_a);
  const json::Value* x = pendingOf(on_a, "hearth-test-pkg");
  ASSERT_NE(x, nullptr) << json::write(on_a);
  // What leaves the PC: the name and candidate of a security update, never the installed version.
  EXPECT_EQ(x->find("candidate")->asString(), "2.0");
  EXPECT_EQ(x->find("installed"), nullptr);
  EXPECT_EQ(pendingOf(on_a, "hearth-test-other"), nullptr);  // not a security update
  std::string day0 = x->find("first_seen")->asString().substr(0, 10);

  // Day 10: the server's clock and device B's. B's first check knows only its own first sight
  // (unknown_age grace: within the limit); the acknowledgement brings the fleet's day 0.
  ASSERT_NO_FATAL_FAILURE(serve("+10d"));
  ASSERT_NO_FATAL_FAILURE(enrollAndRun(b, "+10d"));
  EXPECT_EQ(sentPatches(b).find("verdict")->asString(), "pass");
  auto fleet = json::parse(ReadFile(b + "/fleet.json"));
  ASSERT_TRUE(fleet.ok()) << ReadFile(b + "/fleet.json");
  // Both security updates A had pending (hearth-test-pkg 2.0, hearth-test-masked 1.2).
  const auto& dates = fleet->find("os_patches")->find("first_seen")->asArray();
  ASSERT_EQ(dates.size(), 2u) << json::write(*fleet);
  for (const auto& d : dates) {
    if (d.find("name")->asString() != "hearth-test-pkg") continue;
    EXPECT_EQ(d.find("candidate")->asString(), "2.0");
    EXPECT_EQ(d.find("first_seen")->asString().substr(0, 10), day0);
  }

  // B's next check ages it from day 0: 10 days against a limit of 7.
  auto again = agent(b, "+10d", {"run", "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  json::Value on_b = sentPatches(b);
  EXPECT_EQ(on_b.find("verdict")->asString(), "fail") << json::write(on_b);
  EXPECT_NE(on_b.find("summary")->asString().find("pending for 10 days (limit 7, counted from the "
                                                  "fleet's first sight " +
                                                  day0 + ")"),
            std::string::npos)
      << on_b.find("summary")->asString();
  const json::Value* bx = pendingOf(on_b, "hearth-test-pkg");
  ASSERT_NE(bx, nullptr);
  EXPECT_EQ(bx->find("age_counts_from")->asString(), "fleet first seen " + day0);
  // The plain update is never sent by name; its age is B's own (within 60 days).
  EXPECT_EQ(pendingOf(on_b, "hearth-test-other"), nullptr);
  EXPECT_EQ(on_b.find("evidence")->find("pending_count")->asInt(), 3);

  // The person at B and IT see the same verdict.
  auto status = json::parse(agent(b, "+10d", {"status", "--json"}).out);
  ASSERT_TRUE(status.ok());
  EXPECT_NE(json::write(*status).find("counted from the fleet's first sight"), std::string::npos);
  std::string b_id = json::parse(ReadFile(b + "/enrollment.json"))->find("device_id")->asString();
  json::Value device = testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(),
                                              "/api/v1/devices/" + b_id);
  EXPECT_EQ(device.find("status")->asString(), "noncompliant") << json::write(device);
}

}  // namespace
}  // namespace hearth
