// The vpn check for real, in a private network namespace (root only). Each test makes its own
// namespace and mount namespace (with a fresh sysfs on /sys, so /sys/class/net shows the
// namespace's interfaces), a veth pair as the "home network" with default routes, and a tun device
// held open by the test as the VPN. Only route lookups are made: no packet is ever sent, and only
// private test addresses inside the namespace are used. The namespaces are left in TearDown.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/check.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/system_view.h"
#include "support/programs.h"
#include "support/temp_dir.h"
#include "system/netlink_route.h"
#include "vpn/vpn.h"

namespace hearth {
namespace {

using testing::RunningAsRoot;
using testing::RunProcess;

std::string IpBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// Runs `ip ARGS...` without a shell.
::testing::AssertionResult Ip(std::vector<std::string> args) {
  std::string ip = IpBinary();
  if (ip.empty()) return ::testing::AssertionFailure() << "iproute2 (ip) is not installed";
  args.insert(args.begin(), ip);
  auto r = RunProcess(args);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    return ::testing::AssertionFailure() << cmd << "exited " << r.exit_code << ": " << r.err;
  }
  return ::testing::AssertionSuccess();
}

class VpnNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RunningAsRoot()) GTEST_SKIP() << "needs root: network namespaces and tun";
    if (IpBinary().empty()) GTEST_SKIP() << "needs iproute2 (ip)";
    orig_net_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    orig_mnt_ = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(orig_net_, 0) << std::strerror(errno);
    ASSERT_GE(orig_mnt_, 0) << std::strerror(errno);
    ASSERT_EQ(::unshare(CLONE_NEWNET | CLONE_NEWNS), 0) << "unshare: " << std::strerror(errno);
    entered_ = true;
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
        << "make / rprivate: " << std::strerror(errno);
    ASSERT_EQ(::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), 0)
        << "mount sysfs: " << std::strerror(errno);
    // The home network: veth0 (its peer veth1 stays here too), default routes via a gateway.
    ASSERT_TRUE(Ip({"link", "set", "lo", "up"}));
    ASSERT_TRUE(Ip({"link", "add", "veth0", "type", "veth", "peer", "name", "veth1"}));
    ASSERT_TRUE(Ip({"link", "set", "veth1", "up"}));
    ASSERT_TRUE(Ip({"link", "set", "veth0", "up"}));
    ASSERT_TRUE(Ip({"addr", "add", "192.168.77.2/24", "dev", "veth0"}));
    ASSERT_TRUE(Ip({"route", "add", "default", "via", "192.168.77.1", "dev", "veth0"}));
    ASSERT_TRUE(Ip({"-6", "addr", "add", "fd00:77::2/64", "dev", "veth0", "nodad"}));
    ASSERT_TRUE(Ip({"-6", "route", "add", "default", "via", "fd00:77::1", "dev", "veth0"}));
  }

  void TearDown() override {
    closeTun();
    if (entered_) {
      // Back to the test binary's own namespaces; the private ones vanish with their last user.
      EXPECT_EQ(::setns(orig_mnt_, CLONE_NEWNS), 0) << std::strerror(errno);
      EXPECT_EQ(::setns(orig_net_, CLONE_NEWNET), 0) << std::strerror(errno);
    }
    if (orig_net_ >= 0) ::close(orig_net_);
    if (orig_mnt_ >= 0) ::close(orig_mnt_);
  }

  // Creates tun `name` held open by this process (carrier 1), optionally persistent, sets it up
  // and gives it an address.
  void openTun(const std::string& name, bool persist) {
    tun_fd_ = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ASSERT_GE(tun_fd_, 0) << "/dev/net/tun: " << std::strerror(errno);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    ASSERT_EQ(::ioctl(tun_fd_, TUNSETIFF, &ifr), 0) << "TUNSETIFF: " << std::strerror(errno);
    if (persist) {
      ASSERT_EQ(::ioctl(tun_fd_, TUNSETPERSIST, 1), 0) << "TUNSETPERSIST: " << std::strerror(errno);
    }
    ASSERT_TRUE(Ip({"link", "set", name, "up"}));
    ASSERT_TRUE(Ip({"addr", "add", "10.99.0.2/32", "dev", name}));
  }
  // The VPN client goes away: a persistent tun stays, without a carrier.
  void closeTun() {
    if (tun_fd_ >= 0) ::close(tun_fd_);
    tun_fd_ = -1;
  }

  static CheckResult runVpn(std::vector<std::string> addresses) {
    Policy p;
    p.level = "standard";
    p.version = 1;
    auto settings = std::make_shared<checks::VpnSettings>();
    settings->company_addresses = std::move(addresses);
    p.enable(checks::kVpnCheckId, settings);
    CheckParams params{p, ""};
    auto view = NewLiveSystemView();
    auto r = checks::NewVpnCheck()->run(*view, params);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : CheckResult{};
  }

  static const json::Value& address(const CheckResult& r, size_t i) {
    static const json::Value kNull;
    const json::Value* list = r.evidence.find("addresses");
    if (list == nullptr || list->size() <= i) return kNull;
    return list->asArray()[i];
  }

  static std::string field(const json::Value& v, const char* a, const char* b) {
    const json::Value* x = v.find(a);
    x = x != nullptr ? x->find(b) : nullptr;
    if (x == nullptr) return "";
    if (x->isInt()) return std::to_string(x->asInt());
    return x->isString() ? x->asString() : "";
  }

  int orig_net_ = -1;
  int orig_mnt_ = -1;
  bool entered_ = false;
  int tun_fd_ = -1;
};

TEST_F(VpnNamespaceTest, CompanyRangeThroughHeldTunPasses) {
  openTun("corptun0", false);
  ASSERT_TRUE(Ip({"route", "add", "10.20.0.0/16", "dev", "corptun0"}));
  CheckResult r = runVpn({"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary << "\n" << json::write(r.evidence);
  EXPECT_EQ(r.summary, "10.20.0.1 is routed through corptun0 (tun), which is up");
  const json::Value& a = address(r, 0);
  EXPECT_EQ(field(a, "interface", "kind"), "tun");
  EXPECT_EQ(field(a, "route", "matched_prefix"), "10.20.0.0/16");
  EXPECT_EQ(field(a, "route", "table"), "254");
  EXPECT_EQ(field(a, "route", "source"), "10.99.0.2");
}

TEST_F(VpnNamespaceTest, PersistentTunFailsOnceTheClientLetsGo) {
  openTun("corptun0", /*persist=*/true);
  ASSERT_TRUE(Ip({"route", "add", "10.20.0.0/16", "dev", "corptun0"}));
  EXPECT_EQ(runVpn({"10.20.0.1"}).verdict, Verdict::kPass);
  closeTun();  // carrier 0; the device and its route stay
  CheckResult r = runVpn({"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.summary;
  EXPECT_EQ(field(address(r, 0), "route", "interface"), "corptun0");
  EXPECT_NE(r.summary.find("corptun0 (tun), but that tunnel is down"), std::string::npos)
      << r.summary;
  ASSERT_TRUE(Ip({"link", "del", "corptun0"}));
}

TEST_F(VpnNamespaceTest, CompanyAddressViaTheHomeNetworkFails) {
  openTun("corptun0", false);
  ASSERT_TRUE(Ip({"route", "add", "10.99.0.0/16", "dev", "corptun0"}));  // some other range
  CheckResult r = runVpn({"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "10.20.0.1 is routed via veth0 (virtual), not through a VPN");
  EXPECT_EQ(field(address(r, 0), "route", "gateway"), "192.168.77.1");
  EXPECT_EQ(field(address(r, 0), "route", "matched_prefix"), "default");
}

TEST_F(VpnNamespaceTest, WgQuickPolicyRoutingPassesThoughProcNetRouteSaysOtherwise) {
  openTun("corptun0", false);
  for (const char* family : {"-4", "-6"}) {
    ASSERT_TRUE(Ip({family, "route", "add", "default", "dev", "corptun0", "table", "51820"}));
    ASSERT_TRUE(Ip({family, "rule", "add", "not", "fwmark", "51820", "table", "51820"}));
    ASSERT_TRUE(Ip({family, "rule", "add", "table", "main", "suppress_prefixlength", "0"}));
  }
  // The main table (all /proc/net/route shows) still sends everything out of veth0.
  auto view = NewLiveSystemView();
  auto proc = view->readFile("/proc/net/route", 1 << 16, false);
  ASSERT_TRUE(proc.ok());
  EXPECT_NE(proc->find("veth0\t00000000"), std::string::npos) << *proc;
  EXPECT_EQ(proc->find("corptun0"), std::string::npos) << *proc;

  CheckResult r = runVpn({"10.20.0.1", "fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary << "\n" << json::write(r.evidence);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(field(address(r, i), "route", "interface"), "corptun0");
    EXPECT_EQ(field(address(r, i), "route", "table"), "51820");
    EXPECT_EQ(field(address(r, i), "route", "matched_prefix"), "default");
  }
}

TEST_F(VpnNamespaceTest, Ipv6CompanyAddressThroughTunPasses) {
  openTun("corptun0", false);
  ASSERT_TRUE(Ip({"-6", "route", "add", "fd00:20::/64", "dev", "corptun0"}));
  CheckResult r = runVpn({"fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary << "\n" << json::write(r.evidence);
  EXPECT_EQ(field(address(r, 0), "route", "matched_prefix"), "fd00:20::/64");
}

TEST_F(VpnNamespaceTest, Ipv6LeakViaTheHomeNetworkFails) {
  openTun("corptun0", false);
  ASSERT_TRUE(Ip({"route", "add", "10.20.0.0/16", "dev", "corptun0"}));
  CheckResult r = runVpn({"10.20.0.1", "fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "fd00:20::1 is routed via veth0 (virtual), not through a VPN");
  EXPECT_EQ(field(address(r, 1), "route", "gateway"), "fd00:77::1");
  EXPECT_EQ(address(r, 0).find("verdict")->asString(), "pass");
}

TEST_F(VpnNamespaceTest, RejectRoutesAndMissingRoutesFail) {
  ASSERT_TRUE(Ip({"route", "add", "unreachable", "10.20.0.0/16"}));
  ASSERT_TRUE(Ip({"route", "add", "blackhole", "10.30.0.0/16"}));
  ASSERT_TRUE(Ip({"route", "add", "prohibit", "10.40.0.0/16"}));
  ASSERT_TRUE(Ip({"-6", "route", "add", "blackhole", "fd00:30::/32"}));
  ASSERT_TRUE(Ip({"-6", "route", "del", "default"}));  // no IPv6 route at all beyond the LAN
  CheckResult r = runVpn({"10.20.0.1", "10.30.0.1", "10.40.0.1", "fd00:30::1", "fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  const char* types[] = {"unreachable", "blackhole", "prohibit", "blackhole", "unreachable"};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(address(r, i).find("reason")->asString(), "no_route") << i;
    EXPECT_EQ(field(address(r, i), "route", "type"), types[i]) << i;
  }
}

TEST_F(VpnNamespaceTest, IpsecPolicyWithoutSecurityAssociationFails) {
  // Policy-based IPsec: routes unchanged, an outbound xfrm policy for the company range. This
  // kernel cannot make ESP SAs, so the live case is "policy, not connected" (the SA case is a
  // fixture).
  ASSERT_TRUE(Ip({"xfrm",  "policy", "add",   "src", "0.0.0.0/0",    "dst",   "10.20.0.0/16",
                  "dir",   "out",    "tmpl",  "src", "192.168.77.2", "dst",   "198.51.100.1",
                  "proto", "esp",    "reqid", "1",   "mode",         "tunnel"}));
  CheckResult r = runVpn({"10.20.0.1", "10.30.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(address(r, 0).find("reason")->asString(), "ipsec_not_established")
      << json::write(r.evidence);
  EXPECT_EQ(field(address(r, 0), "ipsec", "policy_text"),
            "src 0.0.0.0/0 dst 10.20.0.0/16 via esp tunnel to 198.51.100.1");
  EXPECT_EQ(address(r, 1).find("reason")->asString(), "not_a_tunnel");
  EXPECT_NE(r.remediation.find("not connected"), std::string::npos);
}

TEST_F(VpnNamespaceTest, NetlinkLookupMatchesIproute2) {
  openTun("corptun0", false);
  ASSERT_TRUE(Ip({"route", "add", "10.20.0.0/16", "dev", "corptun0", "table", "100"}));
  ASSERT_TRUE(Ip({"rule", "add", "to", "10.20.0.0/16", "table", "100"}));
  auto route = internal::NetlinkRouteLookup(*IpAddress::parse("10.20.3.4"));
  ASSERT_TRUE(route.ok()) << route.status().toString();
  EXPECT_EQ(route->type, "unicast");
  EXPECT_EQ(route->interface, "corptun0");
  EXPECT_EQ(route->table, 100u);
  EXPECT_EQ(route->matched_prefix, "10.20.0.0/16");
  EXPECT_EQ(route->source, "10.99.0.2");
  auto out = RunProcess({IpBinary(), "-j", "route", "get", "10.20.3.4"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto doc = json::parse(out.out);
  ASSERT_TRUE(doc.ok() && doc->isArray() && doc->size() == 1) << out.out;
  const json::Value& e = doc->asArray()[0];
  EXPECT_EQ(e.find("dev")->asString(), route->interface);
  EXPECT_EQ(e.find("table")->asString(), "100");
  EXPECT_EQ(e.find("prefsrc")->asString(), route->source);
}

TEST_F(VpnNamespaceTest, AgentBinaryJudgesTheNamespace) {
  openTun("corptun0", false);
  ASSERT_TRUE(Ip({"route", "add", "10.20.0.0/16", "dev", "corptun0"}));
  ASSERT_TRUE(Ip({"-6", "route", "add", "fd00:20::/64", "dev", "corptun0"}));
  testing::TempDir dir;
  std::string policy = dir.write(
      "policy.json", R"({"level":"standard","version":4,"checks":{"vpn":{"required":true,)"
                     R"("company_addresses":["10.20.0.1","fd00:20::1"]}}})");
  std::string state = dir.mkdir("state");
  auto run = [&] {
    return RunProcess({hearth::testing::AgentProgram(), "check", "--json", "--policy", policy,
                       "--state-dir", state});
  };
  auto verdict = [](const testing::ProcessOutput& o) -> std::string {
    auto doc = json::parse(o.out);
    if (!doc.ok()) return "unparsable: " + o.out + o.err;
    const json::Value* checks = doc->find("checks");
    if (checks == nullptr || checks->size() != 1) return "no single check: " + o.out;
    return checks->asArray()[0].find("verdict")->asString();
  };
  auto pass = run();
  EXPECT_EQ(pass.exit_code, 0) << pass.out << pass.err;
  EXPECT_EQ(verdict(pass), "pass");

  ASSERT_TRUE(Ip({"-6", "route", "del", "fd00:20::/64", "dev", "corptun0"}));
  auto leak = run();
  EXPECT_EQ(leak.exit_code, 1) << leak.out << leak.err;
  EXPECT_EQ(verdict(leak), "fail");
  EXPECT_NE(leak.out.find("fd00:20::1 is routed via veth0 (virtual), not through a VPN"),
            std::string::npos)
      << leak.out;
}

}  // namespace
}  // namespace hearth
