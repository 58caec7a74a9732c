// The vpn check: every company address must be routed through a VPN tunnel interface that is up.
// vpn.cc holds the pure parts (interface classification from sysfs text, the decision);
// vpn_linux.cc asks the SystemView for routes (RTM_GETROUTE) and /sys/class/net, then decides.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/json.h"
#include "hearth/result.h"
#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::checks {

inline constexpr char kVpnCheckId[] = "vpn";

// The policy's `checks.vpn` settings (besides `required`).
struct VpnSettings : CheckSettings {
  // Addresses inside the company network, validated as IPv4/IPv6 literals. Empty: unknown.
  std::vector<std::string> company_addresses;
  // The name of the company's VPN app as the person sees it ("Cisco Secure Client"), per
  // language (policy `checks.vpn.app_name`); empty: the advice says "your company VPN app".
  CompanyText app_name;
};

std::unique_ptr<Check> NewVpnCheck();
// Its policy part (vpn_spec.cc: settings, names) and its agent's entry (vpn_entry.cc: factory;
// re-run on network changes).
CheckSpec VpnCheckEntry(PolicyPart);
CheckEntry VpnCheckEntry(AgentPart);

namespace vpn {

// The files of /sys/class/net/<name>/ that matter, as read (nullopt: absent or unreadable).
struct InterfaceSysfs {
  std::string name;
  std::optional<std::string> type;       // ARPHRD_* in decimal: "1", "65534", "512"
  std::optional<std::string> flags;      // "0x1091"
  std::optional<std::string> carrier;    // "1" / "0" (unreadable while the interface is down)
  std::optional<std::string> operstate;  // "up", "down", "unknown", ...
  std::optional<std::string> tun_flags;  // tun/tap only: "0x1001"
  std::optional<std::string> uevent;     // "INTERFACE=wg0\nIFINDEX=5\nDEVTYPE=wireguard\n"
  std::optional<std::string> ifindex;
  std::optional<std::string> iflink;
  bool has_device = false;    // a "device" entry: backed by hardware (PCI, USB, virtio, ...)
  bool has_bridge = false;    // a "bridge" directory
  bool has_wireless = false;  // "wireless" or "phy80211" entries
};

enum class InterfaceKind {
  kTun,          // tun device (OpenVPN, openconnect, AnyConnect, wireguard-go, Tailscale, ...)
  kWireGuard,    // kernel WireGuard (DEVTYPE=wireguard)
  kPpp,          // pppd, openfortivpn, L2TP, PPTP
  kXfrm,         // route-based IPsec (xfrm interface)
  kOvpn,         // OpenVPN data channel offload
  kIpTunnel,     // ipip/vti, ip6tnl/vti6 (ARPHRD_TUNNEL/TUNNEL6): route-based IPsec uses these
  kPlainTunnel,  // sit (6in4) and GRE: encapsulation without encryption, not a VPN by itself
  kL3Tunnel,     // another layer-3 point-to-point device (ARPHRD_NONE)
  kTap,          // tap held by a userspace VPN client (ZeroTier, OpenVPN in tap mode)
  kPhysical,     // a NIC backed by a device
  kWireless,
  kBridge,
  kVlan,
  kBond,
  kVirtual,  // veth, dummy, macvlan and other software Ethernet devices
  kLoopback,
  kOther,
};
std::string_view kindName(InterfaceKind kind);  // "tun", "wireguard", "physical", ...

// What the check concluded about one interface.
struct InterfaceState {
  std::string name;
  InterfaceKind kind = InterfaceKind::kOther;
  bool tunnel = false;  // a VPN-class tunnel interface
  bool up = false;
  std::string state;  // why up/down, for people: "IFF_UP, carrier 1", "no carrier (...)"
  std::string label;  // the client a well-known name suggests ("Tailscale"); a label, never proof
  json::Value toJson() const;
};

// Classifies from sysfs text. Kind from the kernel's facts (DEVTYPE, tun_flags, ARPHRD type,
// device links), never from the name. Up: IFF_UP, a carrier when one is reported, and an
// operstate that is not down; tun devices need carrier 1 (a persistent tun without a client is
// down). InvalidArgument if `type` or `flags` is missing or unparsable.
StatusOr<InterfaceState> ClassifyInterface(const InterfaceSysfs& sysfs);

// Windows: classifies the interface GetBestRoute2 chose from its IANA ifType and description
// (RouteInfo::interface_type, interface_description, interface_up). PPP (23) is Windows' own VPN
// client (IKEv2, SSTP, L2TP, PPTP) and is a tunnel; other types are tunnels only when the
// description names a VPN adapter (WireGuard, Wintun, OpenVPN TAP/DCO, Cisco AnyConnect,
// GlobalProtect, FortiClient, ...), which then also gives the label. 6to4, Teredo, ISATAP and
// IP-HTTPS (type 131) encapsulate without being a company VPN: kPlainTunnel. Up: OperStatus up;
// InvalidArgument when the route names no interface type.
StatusOr<InterfaceState> ClassifyWindowsInterface(const RouteInfo& route);

// A well-known VPN client or helper a name suggests ("cscotun0" -> "Cisco Secure Client"); "".
std::string LabelForName(std::string_view name);

// Policy-based IPsec (strongSwan/libreswan without VTI or xfrm interfaces) leaves routes alone:
// the kernel encrypts by xfrm policy. One outbound policy from `ip xfrm policy list dir out`.
struct XfrmTemplate {
  std::string src, dst;  // tunnel endpoints ("" or "0.0.0.0"/"::" = any)
  std::string proto;     // "esp", "ah", "comp"
  uint32_t reqid = 0;
  std::string mode;  // "tunnel", "transport", ...
};
struct XfrmPolicy {
  std::string src, dst;            // selector prefixes: "10.99.0.2/32", "10.20.0.0/16"
  bool whole_host_traffic = true;  // false if the selector limits protocol or ports
  std::string dir;                 // "out", "in", "fwd"
  std::string action = "allow";    // "allow" or "block"
  uint32_t priority = 0;           // lower wins
  bool marked = false;  // needs a firewall mark or an xfrm interface id: not ordinary traffic
  std::vector<XfrmTemplate> templates;
};
// One security association from `ip xfrm state list nokeys` (keys are never read).
struct XfrmState {
  std::string src, dst;
  std::string proto;
  uint32_t spi = 0;  // 0: a larval (acquire) state, not an established SA
  uint32_t reqid = 0;
  std::string mode;
};
StatusOr<std::vector<XfrmPolicy>> ParseXfrmPolicies(std::string_view text);
StatusOr<std::vector<XfrmState>> ParseXfrmStates(std::string_view text);

// Whether ordinary traffic from `source` (may be empty: any) to `destination` is protected.
struct IpsecCoverage {
  bool policy = false;       // the best outbound policy covering it requires IPsec
  bool established = false;  // and an established SA exists for each of its templates
  std::string policy_text;   // "src 10.99.0.2/32 dst 10.20.0.0/16 via esp tunnel to 198.51.100.1"
  std::string sa_text;       // "esp spi 0x00000100 reqid 1 tunnel 192.168.77.2 -> 198.51.100.1"
  json::Value toJson() const;
};
IpsecCoverage FindIpsecCoverage(const std::vector<XfrmPolicy>& policies,
                                const std::vector<XfrmState>& states, const IpAddress& destination,
                                const std::string& source);

// Everything learned about one company address.
struct AddressFinding {
  std::string address;
  Status route_status;  // the route lookup failed: unknown
  RouteInfo route;
  Status interface_status;  // the interface could not be read: unknown
  std::optional<InterfaceState> interface;
  // Looked at only when the route does not use a tunnel interface. ipsec_status: could not list
  // the IPsec policies (not root, no iproute2, not recorded); the route alone then decides.
  std::optional<IpsecCoverage> ipsec;
  Status ipsec_status;
};

// The verdict, summary, evidence and remediation for the findings (one per configured address,
// in policy order). No findings: unknown. Any address not through an up tunnel: fail. Otherwise
// any address that could not be judged: unknown. All through up tunnels: pass.
// Evidence: {"addresses": [{"address", "verdict", "reason", "detail", "route" | "route_error",
// "interface" | "interface_error", "ipsec" | "ipsec_error"}]}, reason one of
//   pass:    through_tunnel, ipsec_policy
//   fail:    not_a_tunnel, tunnel_down, ipsec_not_established, no_route, local_address,
//   not_unicast,
//            local_network_overlap (routed into a local bridge such as docker0)
//   unknown: route_lookup_failed, no_interface, interface_unreadable
// and {"reason": "no_company_addresses"} when the policy lists none.
// `app_name` (the policy's, may be empty) names the VPN app in the advice.
CheckResult Decide(const std::vector<AddressFinding>& findings, const CompanyText& app_name = {});

// Table names as in iproute2: 254 "main", 255 "local", 253 "default", else the number.
std::string TableName(uint32_t table);

}  // namespace vpn
}  // namespace hearth::checks
