// The vpn check against in-memory machines: interface classification from sysfs text, the
// decision, and the whole check on a FakeSystemView for the VPN scenarios of checks.md §7.3.
#include "vpn/vpn.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/json.h"
#include "hearth/policy.h"

namespace hearth::checks::vpn {
namespace {

using hearth::testing::FakeSystemView;

// One interface's sysfs files, with the values a real kernel shows (checks.md §3.1).
struct Iface {
  std::string name;
  std::string type = "1";
  std::string flags = "0x1003";
  std::optional<std::string> carrier = "1";
  std::optional<std::string> operstate = "up";
  std::optional<std::string> tun_flags;
  std::string devtype;
  bool device = false;
  int ifindex = 0;
};

Iface MakeIface(std::string name, std::string type, std::string flags,
                std::optional<std::string> carrier, std::optional<std::string> operstate,
                std::optional<std::string> tun_flags = std::nullopt) {
  Iface i;
  i.name = std::move(name);
  i.type = std::move(type);
  i.flags = std::move(flags);
  i.carrier = std::move(carrier);
  i.operstate = std::move(operstate);
  i.tun_flags = std::move(tun_flags);
  return i;
}

InterfaceSysfs Sys(std::string name, std::optional<std::string> type,
                   std::optional<std::string> flags, std::optional<std::string> carrier = "1",
                   std::optional<std::string> operstate = "unknown",
                   std::optional<std::string> tun_flags = std::nullopt,
                   std::optional<std::string> uevent = std::nullopt) {
  InterfaceSysfs s;
  s.name = std::move(name);
  s.type = std::move(type);
  s.flags = std::move(flags);
  s.carrier = std::move(carrier);
  s.operstate = std::move(operstate);
  s.tun_flags = std::move(tun_flags);
  s.uevent = std::move(uevent);
  return s;
}

Iface Physical(const std::string& name, int ifindex = 2) {
  Iface i;
  i.name = name;
  i.device = true;
  i.ifindex = ifindex;
  return i;
}
// A tun held by a client (OpenVPN, openconnect, wireguard-go, Tailscale).
Iface HeldTun(const std::string& name, int ifindex = 5) {
  Iface i = MakeIface(name, "65534", "0x1091", "1", "unknown", "0x1001");
  i.ifindex = ifindex;
  return i;
}
// A persistent tun that no client holds: what a disconnected persist-tun client leaves behind.
Iface OrphanTun(const std::string& name) {
  return MakeIface(name, "65534", "0x1091", "0", "down", "0x1801");
}
Iface KernelWireGuard(const std::string& name) {
  Iface i = MakeIface(name, "65534", "0x91", "1", "unknown");
  i.devtype = "wireguard";
  return i;
}
Iface Ppp(const std::string& name) { return MakeIface(name, "512", "0x10d1", "1", "unknown"); }
Iface Dummy(const std::string& name) { return MakeIface(name, "1", "0xc3", "1", "unknown"); }

void AddIface(FakeSystemView& v, const Iface& i) {
  const std::string d = "/sys/class/net/" + i.name + "/";
  v.addFile(d + "type", i.type + "\n");
  v.addFile(d + "flags", i.flags + "\n");
  if (i.carrier) v.addFile(d + "carrier", *i.carrier + "\n");
  if (i.operstate) v.addFile(d + "operstate", *i.operstate + "\n");
  if (i.tun_flags) v.addFile(d + "tun_flags", *i.tun_flags + "\n");
  std::string uevent = "INTERFACE=" + i.name + "\n";
  if (!i.devtype.empty()) uevent = "DEVTYPE=" + i.devtype + "\n" + uevent;
  if (i.ifindex != 0) uevent += "IFINDEX=" + std::to_string(i.ifindex) + "\n";
  v.addFile(d + "uevent", uevent);
  if (i.ifindex != 0) v.addFile(d + "ifindex", std::to_string(i.ifindex) + "\n");
  if (i.device) v.addFile(d + "device/uevent", "DRIVER=e1000e\n");
}

RouteInfo Via(const std::string& dest, const std::string& dev, uint32_t table = 254,
              const std::string& prefix = "default", const std::string& gateway = "") {
  RouteInfo r;
  r.destination = dest;
  r.type = "unicast";
  r.interface = dev;
  r.table = table;
  r.matched_prefix = prefix;
  r.gateway = gateway;
  return r;
}

RouteInfo Reject(const std::string& dest, const std::string& type) {
  RouteInfo r;
  r.destination = dest;
  r.type = type;
  return r;
}

CheckResult RunVpn(const FakeSystemView& v, std::vector<std::string> addresses,
                   CompanyText app_name = {}) {
  Policy p;
  p.level = "standard";
  p.version = 1;
  auto settings = std::make_shared<VpnSettings>();
  settings->company_addresses = std::move(addresses);
  settings->app_name = std::move(app_name);
  p.enable(kVpnCheckId, settings);
  CheckParams params{p, ""};
  auto r = NewVpnCheck()->run(v, params);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return r.ok() ? *r : CheckResult{};
}

const json::Value& AddressEvidence(const CheckResult& r, size_t i) {
  static const json::Value kNull;
  const json::Value* list = r.evidence.find("addresses");
  if (list == nullptr || !list->isArray() || list->size() <= i) return kNull;
  return list->asArray()[i];
}

std::string Str(const json::Value& v, const char* a, const char* b = nullptr) {
  const json::Value* x = v.find(a);
  if (x != nullptr && b != nullptr) x = x->find(b);
  return x != nullptr && x->isString() ? x->asString() : "";
}

// A home PC: eth0 with the default route in main.
void AddHomePc(FakeSystemView& v) { AddIface(v, Physical("eth0")); }

// --- classification ---------------------------------------------------------------------------

TEST(VpnClassifyTest, TunHeldByClientIsAnUpTunnel) {
  InterfaceSysfs s =
      Sys("tun0", "65534\n", "0x1091\n", "1\n", "unknown\n", "0x1001\n", "INTERFACE=tun0");
  auto c = ClassifyInterface(s);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->kind, InterfaceKind::kTun);
  EXPECT_TRUE(c->tunnel);
  EXPECT_TRUE(c->up);
}

TEST(VpnClassifyTest, PersistentTunWithoutCarrierIsDown) {
  InterfaceSysfs s = Sys("tun0", "65534", "0x1091", "0", "down", "0x1801", "INTERFACE=tun0");
  auto c = ClassifyInterface(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, InterfaceKind::kTun);
  EXPECT_FALSE(c->up);
  EXPECT_NE(c->state.find("persistent"), std::string::npos) << c->state;
}

TEST(VpnClassifyTest, TunWithoutIffUpIsDownEvenWithCarrier) {
  InterfaceSysfs s = Sys("tun0", "65534", "0x1090", "1", "unknown", "0x1001", "");
  auto c = ClassifyInterface(s);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->up);
  EXPECT_NE(c->state.find("IFF_UP"), std::string::npos);
}

TEST(VpnClassifyTest, TunWithUnreadableCarrierIsDown) {
  InterfaceSysfs s = Sys("tun0", "65534", "0x1091", std::nullopt, "unknown", "0x1001", "");
  auto c = ClassifyInterface(s);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->up);
}

TEST(VpnClassifyTest, KindsFromKernelFactsNotNames) {
  struct Case {
    InterfaceSysfs sysfs;
    InterfaceKind kind;
    bool tunnel;
  };
  InterfaceSysfs eth = Sys("tun0", "1", "0x1003", "1", "up", std::nullopt, "INTERFACE=tun0");
  eth.has_device = true;  // a NIC named like a tunnel is still a NIC
  InterfaceSysfs wifi = Sys("wlp2s0", "1", "0x1003", "1", "up", std::nullopt, "DEVTYPE=wlan");
  wifi.has_device = true;
  InterfaceSysfs bridge =
      Sys("docker0", "1", "0x1003", "0", "down", std::nullopt, "DEVTYPE=bridge");
  InterfaceSysfs bridge_dir = Sys("br0", "1", "0x1003", "1", "up", std::nullopt, "");
  bridge_dir.has_bridge = true;
  std::vector<Case> cases = {
      {eth, InterfaceKind::kPhysical, false},
      {wifi, InterfaceKind::kWireless, false},
      {bridge, InterfaceKind::kBridge, false},
      {bridge_dir, InterfaceKind::kBridge, false},
      {Sys("veth1a2b", "1", "0x1003", "1", "up", std::nullopt, ""), InterfaceKind::kVirtual, false},
      {Sys("ipv6leakintrf0", "1", "0xc3", "1", "unknown", std::nullopt, ""),
       InterfaceKind::kVirtual, false},
      {Sys("wg0", "65534", "0x91", "1", "unknown", std::nullopt,
           "DEVTYPE=wireguard\nINTERFACE=wg0"),
       InterfaceKind::kWireGuard, true},
      {Sys("tailscale0", "65534", "0x11d1", "1", "unknown", "0x1001", ""), InterfaceKind::kTun,
       true},
      // A tap held by a userspace VPN client (ZeroTier, OpenVPN in tap mode) is a tunnel.
      {Sys("ztabcdef12", "1", "0x1103", "1", "unknown", "0x1002", ""), InterfaceKind::kTap, true},
      {Sys("ppp0", "512", "0x10d1", "1", "unknown", std::nullopt, ""), InterfaceKind::kPpp, true},
      {Sys("ipsec1", "65534", "0xc1", "1", "unknown", std::nullopt, ""), InterfaceKind::kL3Tunnel,
       true},
      {Sys("xfrm0", "65534", "0xc1", "1", "unknown", std::nullopt, "DEVTYPE=xfrm"),
       InterfaceKind::kXfrm, true},
      {Sys("vti0", "768", "0xd1", "1", "unknown", std::nullopt, ""), InterfaceKind::kIpTunnel,
       true},
      // GRE and sit (6in4 to a tunnel broker) encapsulate without encryption: not a VPN.
      {Sys("gre1", "778", "0xd1", "1", "unknown", std::nullopt, ""), InterfaceKind::kPlainTunnel,
       false},
      {Sys("he-ipv6", "776", "0xd1", "1", "unknown", std::nullopt, ""), InterfaceKind::kPlainTunnel,
       false},
      {Sys("lo", "772", "0x9", "1", "unknown", std::nullopt, ""), InterfaceKind::kLoopback, false},
  };
  for (const auto& c : cases) {
    auto r = ClassifyInterface(c.sysfs);
    ASSERT_TRUE(r.ok()) << c.sysfs.name << ": " << r.status().toString();
    EXPECT_EQ(kindName(r->kind), kindName(c.kind)) << c.sysfs.name;
    EXPECT_EQ(r->tunnel, c.tunnel) << c.sysfs.name;
  }
}

TEST(VpnClassifyTest, WireGuardAndPppAreUpWithOperstateUnknown) {
  auto wg = ClassifyInterface(
      Sys("wg0", "65534", "0x91", "1", "unknown", std::nullopt, "DEVTYPE=wireguard"));
  ASSERT_TRUE(wg.ok());
  EXPECT_TRUE(wg->up);
  auto ppp = ClassifyInterface(Sys("ppp0", "512", "0x10d1", "1", "unknown", std::nullopt, ""));
  ASSERT_TRUE(ppp.ok());
  EXPECT_TRUE(ppp->up);
  auto dormant = ClassifyInterface(Sys("ppp0", "512", "0x10d1", "1", "dormant", std::nullopt, ""));
  ASSERT_TRUE(dormant.ok());
  EXPECT_FALSE(dormant->up);
}

TEST(VpnClassifyTest, MissingOrBadTypeIsAnError) {
  EXPECT_FALSE(ClassifyInterface(Sys("x", std::nullopt, "0x1")).ok());
  EXPECT_FALSE(ClassifyInterface(Sys("x", "1", std::nullopt)).ok());
  EXPECT_FALSE(ClassifyInterface(Sys("x", "one", "0x1")).ok());
  EXPECT_FALSE(ClassifyInterface(Sys("x", "1", "zz")).ok());
}

TEST(VpnClassifyTest, NamesAreOnlyLabels) {
  EXPECT_EQ(LabelForName("cscotun0"), "Cisco Secure Client / AnyConnect");
  EXPECT_EQ(LabelForName("tailscale0"), "Tailscale");
  EXPECT_EQ(LabelForName("ipv6leakintrf0"), "Proton VPN IPv6 leak guard");
  EXPECT_EQ(LabelForName("eth0"), "");
  EXPECT_EQ(TableName(254), "main");
  EXPECT_EQ(TableName(51820), "51820");
}

// --- the check on a fake machine (checks.md §7.3 "VPN") ---------------------------------------

TEST(VpnCheckTest, SplitTunnelOnTunPasses) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun0", 254, "10.20.0.0/16"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(r.summary, "10.20.0.1 is routed through tun0 (tun), which is up");
  const json::Value& e = AddressEvidence(r, 0);
  EXPECT_EQ(Str(e, "interface", "kind"), "tun");
  EXPECT_EQ(Str(e, "route", "matched_prefix"), "10.20.0.0/16");
  EXPECT_TRUE(r.remediation.empty());
}

TEST(VpnCheckTest, WgQuickFullTunnelInTable51820Passes) {
  // wireguard-go (userspace WireGuard) is a tun; wg-quick puts the default route in table 51820.
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("wg0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "wg0", 51820, "default"));
  v.addRoute("fd00:20::1", Via("fd00:20::1", "wg0", 51820, "default"));
  CheckResult r = RunVpn(v, {"10.20.0.1", "fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(r.summary, "All 2 company addresses are routed through a VPN that is up: wg0 (tun)");
  const json::Value& e = AddressEvidence(r, 0);
  ASSERT_NE(e.find("route"), nullptr);
  EXPECT_EQ(e.find("route")->find("table")->asInt(), 51820);
  EXPECT_EQ(Str(e, "route", "table_name"), "51820");
}

TEST(VpnCheckTest, PersistentTunWithoutCarrierFails) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, OrphanTun("tun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun0", 254, "10.20.0.0/16"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("tun0 (tun), but that tunnel is down"), std::string::npos) << r.summary;
  EXPECT_NE(r.remediation.find("not connected"), std::string::npos) << r.remediation;
  EXPECT_EQ(Str(AddressEvidence(r, 0), "reason"), "tunnel_down");
}

TEST(VpnCheckTest, TailscaleUpButCompanyAddressNotRoutedFails) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tailscale0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "eth0", 254, "default", "192.168.1.1"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "10.20.0.1 is routed via eth0 (physical), not through a VPN");
  EXPECT_NE(r.remediation.find("Connect your company VPN"), std::string::npos);
  EXPECT_EQ(Str(AddressEvidence(r, 0), "route", "gateway"), "192.168.1.1");
}

// Issue 16 item 3: the policy's name for the VPN app, in the reader's language.
TEST(VpnCheckTest, AdviceNamesTheCompanysVpnApp) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, OrphanTun("tun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun0", 254, "10.20.0.0/16"));
  CheckResult r =
      RunVpn(v, {"10.20.0.1"}, {{"en", "Cisco Secure Client"}, {"da", "Cisco Secure Client (DK)"}});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.remediation.find("1. Open Cisco Secure Client.\n"), std::string::npos)
      << r.remediation;
  ASSERT_FALSE(r.advice.empty());
  // The step keeps the company's words per language for the person's own.
  EXPECT_EQ(r.advice[0].steps[0].args.at(0).by_language.at("da"), "Cisco Secure Client (DK)");
  auto kept = i18n::Message::fromJson(r.advice[0].steps[0].toJson());
  EXPECT_EQ(kept.args.at(0).by_language.at("da"), "Cisco Secure Client (DK)");

  v.addRoute("10.20.0.1", Via("10.20.0.1", "eth0", 254, "default", "192.168.1.1"));
  CheckResult unrouted = RunVpn(v, {"10.20.0.1"}, {{"en", "GlobalProtect"}});
  EXPECT_NE(unrouted.remediation.find("open GlobalProtect and click Connect"), std::string::npos)
      << unrouted.remediation;
}

TEST(VpnCheckTest, ZscalerInternetOnlyTunnelFails) {
  // Zscaler ZIA carries internet traffic; private ranges stay on the LAN.
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("zcctun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "eth0", 254, "10.0.0.0/8", "192.168.1.1"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "10.20.0.1 is routed via eth0 (physical), not through a VPN");
}

TEST(VpnCheckTest, KernelWireGuardPasses) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, KernelWireGuard("wg-mullvad"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "wg-mullvad", 1836018789, "default"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  const json::Value& e = AddressEvidence(r, 0);
  EXPECT_EQ(Str(e, "interface", "kind"), "wireguard");
  EXPECT_EQ(Str(e, "interface", "label"), "Mullvad");
}

TEST(VpnCheckTest, PppPasses) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, Ppp("ppp0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "ppp0", 254, "10.20.0.0/16"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Str(AddressEvidence(r, 0), "interface", "kind"), "ppp");
}

TEST(VpnCheckTest, ProtonLeakGuardDummyIsIgnored) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, KernelWireGuard("proton0"));
  AddIface(v, Dummy("ipv6leakintrf0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "proton0", 254, "default"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
}

TEST(VpnCheckTest, AddressSentIntoProtonLeakGuardIsNotAVpn) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, KernelWireGuard("proton0"));
  AddIface(v, Dummy("ipv6leakintrf0"));
  v.addRoute("fd00:20::1", Via("fd00:20::1", "ipv6leakintrf0", 254, "default"));
  CheckResult r = RunVpn(v, {"fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "fd00:20::1 is routed via ipv6leakintrf0 (virtual), not through a VPN");
}

TEST(VpnCheckTest, Ipv6LeakFails) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun0", 254, "default"));
  v.addRoute("fd00:20::1", Via("fd00:20::1", "eth0", 254, "default", "fe80::1"));
  CheckResult r = RunVpn(v, {"10.20.0.1", "fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "fd00:20::1 is routed via eth0 (physical), not through a VPN");
  EXPECT_NE(r.remediation.find("connected, but"), std::string::npos) << r.remediation;
  EXPECT_EQ(Str(AddressEvidence(r, 0), "verdict"), "pass");
  EXPECT_EQ(Str(AddressEvidence(r, 1), "verdict"), "fail");
}

TEST(VpnCheckTest, NoAddressesIsUnknown) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  CheckResult r = RunVpn(v, {});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("No company addresses"), std::string::npos);
  EXPECT_FALSE(r.remediation.empty());
}

TEST(VpnCheckTest, RouteLookupErrorIsUnknownWithReason) {
  FakeSystemView v;  // no route recorded: the fake answers Unavailable
  AddHomePc(v);
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("could not look up the route to 10.20.0.1"), std::string::npos)
      << r.summary;
  EXPECT_NE(Str(AddressEvidence(r, 0), "route_error").find("UNAVAILABLE"), std::string::npos);
}

TEST(VpnCheckTest, RejectRoutesFailAsNoRoute) {
  for (const char* type : {"unreachable", "blackhole", "prohibit"}) {
    FakeSystemView v;
    AddHomePc(v);
    v.addRoute("10.20.0.1", Reject("10.20.0.1", type));
    CheckResult r = RunVpn(v, {"10.20.0.1"});
    EXPECT_EQ(r.verdict, Verdict::kFail) << type;
    EXPECT_EQ(r.summary, std::string("There is no route to 10.20.0.1 (") + type +
                             "), so it is not reached through a VPN");
    EXPECT_EQ(Str(AddressEvidence(r, 0), "reason"), "no_route");
  }
}

TEST(VpnCheckTest, LocalAddressFails) {
  FakeSystemView v;
  AddHomePc(v);
  RouteInfo local = Via("10.20.0.1", "lo", 255, "10.20.0.1/32");
  local.type = "local";
  v.addRoute("10.20.0.1", local);
  EXPECT_EQ(RunVpn(v, {"10.20.0.1"}).verdict, Verdict::kFail);
}

TEST(VpnCheckTest, UnreadableInterfaceIsUnknown) {
  FakeSystemView v;
  AddHomePc(v);
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun7", 254, "default"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("/sys/class/net/tun7 does not exist"), std::string::npos) << r.summary;
}

TEST(VpnCheckTest, SysfsFromAnotherNamespaceIsUnknown) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0", 5));
  RouteInfo route = Via("10.20.0.1", "tun0", 254, "default");
  route.interface_index = 9;  // the kernel's tun0 is not the tun0 this /sys shows
  v.addRoute("10.20.0.1", route);
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("another network namespace"), std::string::npos) << r.summary;
}

TEST(VpnCheckTest, HostileInterfaceNameIsNotFollowed) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "../../../tmp/x", 254, "default"));
  CheckResult r = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("not a valid interface name"), std::string::npos) << r.summary;
}

TEST(VpnCheckTest, RouteWithoutInterfaceIsUnknown) {
  FakeSystemView v;
  AddHomePc(v);
  v.addRoute("10.20.0.1", Via("10.20.0.1", "", 254, "default"));
  EXPECT_EQ(RunVpn(v, {"10.20.0.1"}).verdict, Verdict::kUnknown);
}

TEST(VpnCheckTest, FailOutweighsUnknownAndAllAddressesAreListed) {
  FakeSystemView v;
  AddHomePc(v);
  v.addRoute("10.20.0.1", Via("10.20.0.1", "eth0"));
  v.addRoute("10.30.0.1", Via("10.30.0.1", "eth0"));
  CheckResult r = RunVpn(v, {"10.20.0.1", "10.30.0.1", "10.40.0.1"});  // 10.40: no recording
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary,
            "10.20.0.1 is routed via eth0 (physical), not through a VPN; 1 more company address "
            "is not routed through a VPN either");
  ASSERT_EQ(r.evidence.find("addresses")->size(), 3u);
  EXPECT_EQ(Str(AddressEvidence(r, 2), "verdict"), "unknown");
}

TEST(VpnCheckTest, EveryAddressMustPass) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  AddIface(v, KernelWireGuard("wg0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun0"));
  v.addRoute("10.30.0.1", Via("10.30.0.1", "wg0"));
  v.addRoute("fd00:20::1", Via("fd00:20::1", "wg0"));
  CheckResult r = RunVpn(v, {"10.20.0.1", "10.30.0.1", "fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(r.summary,
            "All 3 company addresses are routed through a VPN that is up: tun0 (tun), wg0 "
            "(wireguard)");
}

TEST(VpnCheckTest, TapHeldByAUserspaceVpnPassesOnlyWithACarrier) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, MakeIface("ztabcdef12", "1", "0x1103", "1", "unknown", "0x1002"));
  AddIface(v, MakeIface("tap9", "1", "0x1103", "0", "down", "0x1802"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "ztabcdef12"));
  v.addRoute("10.30.0.1", Via("10.30.0.1", "tap9"));
  CheckResult zerotier = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(zerotier.verdict, Verdict::kPass) << zerotier.summary;
  EXPECT_EQ(Str(AddressEvidence(zerotier, 0), "interface", "kind"), "tap");
  CheckResult orphan = RunVpn(v, {"10.30.0.1"});
  EXPECT_EQ(orphan.verdict, Verdict::kFail) << orphan.summary;
}

TEST(VpnCheckTest, DockerBridgeHoldingACompanyRangeIsALocalOverlapNotAMissingVpn) {
  FakeSystemView v;
  AddHomePc(v);
  Iface docker = MakeIface("docker0", "1", "0x1003", "1", "up");
  docker.devtype = "bridge";
  AddIface(v, docker);
  v.addRoute("172.17.0.9", Via("172.17.0.9", "docker0"));
  CheckResult r = RunVpn(v, {"172.17.0.9"});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Str(AddressEvidence(r, 0), "interface", "kind"), "bridge");
  EXPECT_EQ(Str(AddressEvidence(r, 0), "interface", "label"), "Docker");
  EXPECT_EQ(Str(AddressEvidence(r, 0), "reason"), "local_network_overlap");
  EXPECT_NE(r.remediation.find("Docker"), std::string::npos) << r.remediation;
  EXPECT_EQ(r.remediation.find("click Connect"), std::string::npos) << r.remediation;
}

TEST(VpnCheckTest, SixInFourTunnelToABrokerIsNotAVpn) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, MakeIface("he-ipv6", "776", "0xd1", "1", "unknown"));
  v.addRoute("fd00:20::1", Via("fd00:20::1", "he-ipv6"));
  CheckResult r = RunVpn(v, {"fd00:20::1"});
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.summary;
  EXPECT_EQ(Str(AddressEvidence(r, 0), "interface", "kind"), "plain-tunnel");
}

TEST(VpnCheckTest, AddressesAreReportedInCanonicalForm) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  v.addRoute("fd00:20::1", Via("fd00:20::1", "tun0"));
  CheckResult r = RunVpn(v, {"FD00:20:0::1"});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Str(AddressEvidence(r, 0), "address"), "fd00:20::1");
}

// --- policy-based IPsec (xfrm policies and SAs, read with `ip xfrm`) ----------------------------

// `ip xfrm policy list dir out` as printed by iproute2 6.1 (captured in a network namespace).
constexpr const char* kXfrmPolicies =
    "src fd00:99::2/128 dst fd00:20::/64 \n"
    "\tdir out priority 0 ptype main \n"
    "\ttmpl src fd00:77::2 dst 2001:db8::1\n"
    "\t\tproto esp reqid 2 mode tunnel\n"
    "src 0.0.0.0/0 dst 10.30.0.0/16 \n"
    "\tdir out action block priority 0 ptype main \n"
    "src 10.99.0.2/32 dst 10.20.0.0/16 \n"
    "\tdir out priority 375423 ptype main \n"
    "\ttmpl src 192.168.77.2 dst 198.51.100.1\n"
    "\t\tproto esp reqid 1 mode tunnel\n"
    "src 10.99.0.2/32 dst 10.40.0.0/16 \n"
    "\tdir out priority 100 ptype main \n"
    "\tmark 0x1/0xffffffff \n"
    "\ttmpl src 192.168.77.2 dst 198.51.100.1\n"
    "\t\tproto esp reqid 3 mode tunnel\n"
    "src 10.99.0.2/32 dst 10.50.0.0/16 proto tcp dport 443 \n"
    "\tdir out priority 100 ptype main \n"
    "\ttmpl src 192.168.77.2 dst 198.51.100.1\n"
    "\t\tproto esp reqid 4 mode tunnel\n";

// `ip xfrm state list nokeys` for an established strongSwan tunnel, plus a larval (acquire) state.
constexpr const char* kXfrmStates =
    "src 192.168.77.2 dst 198.51.100.1\n"
    "\tproto esp spi 0xc2a5e1f0 reqid 1 mode tunnel\n"
    "\treplay-window 0 flag af-unspec\n"
    "\tauth-trunc hmac(sha256) 128\n"
    "\tenc cbc(aes)\n"
    "\tanti-replay context: seq 0x0, oseq 0x3, bitmap 0x00000000\n"
    "\tsel src 0.0.0.0/0 dst 0.0.0.0/0 \n"
    "src 192.168.77.2 dst 2001:db8::1\n"
    "\tproto esp spi 0x00000000 reqid 2 mode tunnel\n"
    "\treplay-window 0 \n"
    "\tsel src fd00:99::2/128 dst fd00:20::1/128 \n";

std::vector<XfrmPolicy> Policies() {
  auto p = ParseXfrmPolicies(kXfrmPolicies);
  EXPECT_TRUE(p.ok()) << p.status().toString();
  return p.ok() ? *p : std::vector<XfrmPolicy>{};
}
std::vector<XfrmState> States() {
  auto s = ParseXfrmStates(kXfrmStates);
  EXPECT_TRUE(s.ok()) << s.status().toString();
  return s.ok() ? *s : std::vector<XfrmState>{};
}

TEST(VpnIpsecTest, ParsesPoliciesAndStates) {
  std::vector<XfrmPolicy> p = Policies();
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].dst, "fd00:20::/64");
  EXPECT_EQ(p[0].dir, "out");
  ASSERT_EQ(p[0].templates.size(), 1u);
  EXPECT_EQ(p[0].templates[0].dst, "2001:db8::1");
  EXPECT_EQ(p[0].templates[0].reqid, 2u);
  EXPECT_EQ(p[1].action, "block");
  EXPECT_EQ(p[2].priority, 375423u);
  EXPECT_TRUE(p[3].marked);
  EXPECT_FALSE(p[4].whole_host_traffic);
  std::vector<XfrmState> s = States();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].spi, 0xc2a5e1f0u);
  EXPECT_EQ(s[0].mode, "tunnel");
  EXPECT_EQ(s[1].spi, 0u);
  EXPECT_FALSE(ParseXfrmPolicies("garbage line\n").ok());
  EXPECT_FALSE(ParseXfrmStates("\tproto esp\n").ok());
}

TEST(VpnIpsecTest, CoverageNeedsAPolicyAndAnEstablishedSa) {
  auto ip = [](const char* s) { return *IpAddress::parse(s); };
  IpsecCoverage ok = FindIpsecCoverage(Policies(), States(), ip("10.20.0.1"), "10.99.0.2");
  EXPECT_TRUE(ok.policy);
  EXPECT_TRUE(ok.established);
  EXPECT_EQ(ok.policy_text, "src 10.99.0.2/32 dst 10.20.0.0/16 via esp tunnel to 198.51.100.1");
  EXPECT_EQ(ok.sa_text, "esp spi 0xc2a5e1f0 reqid 1 tunnel 192.168.77.2 -> 198.51.100.1");
  // The policy selects traffic from 10.99.0.2 only.
  EXPECT_FALSE(FindIpsecCoverage(Policies(), States(), ip("10.20.0.1"), "192.168.1.5").policy);
  // Only a larval state: strongSwan is trying (or a trap policy waits) but nothing is connected.
  IpsecCoverage larval = FindIpsecCoverage(Policies(), States(), ip("fd00:20::1"), "fd00:99::2");
  EXPECT_TRUE(larval.policy);
  EXPECT_FALSE(larval.established);
  // block, marked (needs a firewall mark), or limited to one port: not ordinary traffic.
  EXPECT_FALSE(FindIpsecCoverage(Policies(), States(), ip("10.30.0.1"), "10.99.0.2").policy);
  EXPECT_FALSE(FindIpsecCoverage(Policies(), States(), ip("10.40.0.1"), "10.99.0.2").policy);
  EXPECT_FALSE(FindIpsecCoverage(Policies(), States(), ip("10.50.0.1"), "10.99.0.2").policy);
  EXPECT_FALSE(FindIpsecCoverage(Policies(), {}, ip("10.20.0.1"), "10.99.0.2").established);
}

TEST(VpnIpsecTest, LowestPriorityValueWins) {
  auto p = ParseXfrmPolicies(
      "src 0.0.0.0/0 dst 10.20.0.0/16 \n\tdir out action block priority 10 ptype main \n"
      "src 0.0.0.0/0 dst 10.20.0.0/16 \n\tdir out priority 20 ptype main \n"
      "\ttmpl src 192.168.77.2 dst 198.51.100.1\n\t\tproto esp reqid 1 mode tunnel\n");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(FindIpsecCoverage(*p, States(), *IpAddress::parse("10.20.0.1"), "").policy);
}

void AddIpsec(FakeSystemView& v, const std::string& policies, const std::string& states) {
  v.addFile("/usr/sbin/ip", "");
  CommandResult pol;
  pol.exit_code = 0;
  pol.out = policies;
  v.addCommand({"/usr/sbin/ip", "xfrm", "policy", "list", "dir", "out"}, pol);
  CommandResult st;
  st.exit_code = 0;
  st.out = states;
  v.addCommand({"/usr/sbin/ip", "xfrm", "state", "list", "nokeys"}, st);
}

TEST(VpnCheckTest, PolicyBasedIpsecWithAnSaPasses) {
  FakeSystemView v;
  AddHomePc(v);
  AddIpsec(v, kXfrmPolicies, kXfrmStates);
  RouteInfo r = Via("10.20.0.1", "eth0", 254, "default", "192.168.77.1");
  r.source = "10.99.0.2";
  v.addRoute("10.20.0.1", r);
  CheckResult res = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(res.verdict, Verdict::kPass) << res.summary;
  EXPECT_EQ(res.summary,
            "10.20.0.1 is protected by IPsec (src 10.99.0.2/32 dst 10.20.0.0/16 via esp tunnel to "
            "198.51.100.1) with an established connection");
  EXPECT_EQ(Str(AddressEvidence(res, 0), "reason"), "ipsec_policy");
  EXPECT_EQ(Str(AddressEvidence(res, 0), "ipsec", "sa"),
            "esp spi 0xc2a5e1f0 reqid 1 tunnel 192.168.77.2 -> 198.51.100.1");
}

TEST(VpnCheckTest, IpsecPolicyWithoutSaFails) {
  FakeSystemView v;
  AddHomePc(v);
  AddIpsec(v, kXfrmPolicies, "");
  RouteInfo r = Via("10.20.0.1", "eth0", 254, "default", "192.168.77.1");
  r.source = "10.99.0.2";
  v.addRoute("10.20.0.1", r);
  CheckResult res = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(res.verdict, Verdict::kFail);
  EXPECT_NE(res.summary.find("the IPsec VPN is not connected"), std::string::npos) << res.summary;
  EXPECT_NE(res.remediation.find("not connected"), std::string::npos);
}

TEST(VpnCheckTest, UnreadableIpsecPoliciesLeaveTheRouteToDecide) {
  FakeSystemView v;
  AddHomePc(v);
  v.addFile("/usr/sbin/ip", "");
  CommandResult denied;
  denied.exit_code = 2;
  denied.err = "RTNETLINK answers: Operation not permitted\n";
  v.addCommand({"/usr/sbin/ip", "xfrm", "policy", "list", "dir", "out"}, denied);
  v.addRoute("10.20.0.1", Via("10.20.0.1", "eth0"));
  CheckResult res = RunVpn(v, {"10.20.0.1"});
  EXPECT_EQ(res.verdict, Verdict::kFail);
  EXPECT_EQ(res.summary, "10.20.0.1 is routed via eth0 (physical), not through a VPN");
  EXPECT_NE(Str(AddressEvidence(res, 0), "ipsec_error").find("Operation not permitted"),
            std::string::npos);
}

TEST(VpnCheckTest, IpsecIsNotAskedWhenEveryAddressUsesATunnel) {
  FakeSystemView v;
  AddHomePc(v);
  AddIface(v, HeldTun("tun0"));
  v.addRoute("10.20.0.1", Via("10.20.0.1", "tun0"));
  EXPECT_EQ(RunVpn(v, {"10.20.0.1"}).verdict, Verdict::kPass);
  EXPECT_TRUE(v.commandsRun().empty());
}

}  // namespace
}  // namespace hearth::checks::vpn
