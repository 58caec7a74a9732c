// The vpn check's pure parts: classifying an interface from its sysfs files, and turning the
// per-address findings into a verdict a person can act on. No I/O here.
#include "vpn/vpn.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "hearth/i18n.h"
#include "hearth/text.h"

namespace hearth::checks::vpn {

namespace {

// <linux/if_arp.h>, <linux/if.h>, <linux/if_tun.h> values (kept here: this file is OS-neutral).
constexpr int64_t kArphrdEther = 1;
constexpr int64_t kArphrdPpp = 512;
constexpr int64_t kArphrdTunnel = 768;   // ipip, vti
constexpr int64_t kArphrdTunnel6 = 769;  // ip6tnl, vti6
constexpr int64_t kArphrdLoopback = 772;
constexpr int64_t kArphrdSit = 776;
constexpr int64_t kArphrdIpGre = 778;
constexpr int64_t kArphrdIp6Gre = 823;
constexpr int64_t kArphrdNone = 65534;  // tun, WireGuard, xfrm, ovpn
constexpr uint64_t kIffUp = 0x1;
constexpr uint64_t kIffTun = 0x0001;
constexpr uint64_t kIffTap = 0x0002;
constexpr uint64_t kIffPersist = 0x0800;

bool isTunnelKind(InterfaceKind k) {
  switch (k) {
    case InterfaceKind::kTun:
    case InterfaceKind::kWireGuard:
    case InterfaceKind::kPpp:
    case InterfaceKind::kXfrm:
    case InterfaceKind::kOvpn:
    case InterfaceKind::kIpTunnel:
    case InterfaceKind::kL3Tunnel:
    case InterfaceKind::kTap:
      return true;
    default:
      return false;
  }
}

std::optional<std::string> trimmed(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return text::trim(*s);
}

std::string describe(const InterfaceState& i) {
  return i.name + " (" + std::string(kindName(i.kind)) + ")";
}

// "10.20.0.0/16" (or a bare address) contains `a`.
bool prefixContains(const std::string& prefix, const IpAddress& a) {
  std::string addr = prefix;
  int len = -1;
  if (auto slash = prefix.find('/'); slash != std::string::npos) {
    addr = prefix.substr(0, slash);
    auto l = text::parseInt(prefix.substr(slash + 1));
    if (!l) return false;
    len = static_cast<int>(*l);
  }
  auto p = IpAddress::parse(addr);
  if (!p.ok() || p->family != a.family) return false;
  int bits = a.isIpv4() ? 32 : 128;
  if (len < 0) len = bits;
  if (len > bits) return false;
  for (int i = 0; i < len; ++i) {
    int byte = i / 8;
    int mask = 0x80 >> (i % 8);
    if ((p->bytes[static_cast<size_t>(byte)] & mask) !=
        (a.bytes[static_cast<size_t>(byte)] & mask)) {
      return false;
    }
  }
  return true;
}

bool anyAddress(const std::string& s) { return s.empty() || s == "0.0.0.0" || s == "::"; }

std::optional<uint32_t> number(const std::string& s) {
  if (s.starts_with("0x")) {
    auto h = text::parseHex(s);
    if (h && *h <= 0xffffffffu) return static_cast<uint32_t>(*h);
    return std::nullopt;
  }
  return text::parseU32(s);
}

// The value after `key` in `words`, if any.
std::optional<std::string> after(const std::vector<std::string>& words, std::string_view key) {
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == key) return words[i + 1];
  }
  return std::nullopt;
}

enum class Outcome { kPass, kFail, kUnknown };

struct Judged {
  Outcome outcome = Outcome::kUnknown;
  i18n::Message sentence;  // one line about this address
  std::string reason;      // short code for the evidence
  bool tunnel_down = false;
};

Judged judge(const AddressFinding& f) {
  using i18n::Lit;
  using i18n::Msg;
  Judged j;
  const i18n::Message a = Lit(f.address);
  if (!f.route_status.ok()) {
    j.outcome = Outcome::kUnknown;
    j.reason = "route_lookup_failed";
    j.sentence = Msg("could not look up the route to {1}: {2}", {a, Lit(f.route_status.message())});
    return j;
  }
  const RouteInfo& r = f.route;
  if (r.type == "unreachable" || r.type == "blackhole" || r.type == "prohibit" ||
      r.type == "throw") {
    j.outcome = Outcome::kFail;
    j.reason = "no_route";
    j.sentence =
        Msg("There is no route to {1} ({2}), so it is not reached through a VPN", {a, Lit(r.type)});
    return j;
  }
  if (r.type == "local") {
    j.outcome = Outcome::kFail;
    j.reason = "local_address";
    j.sentence =
        Msg("{1} is an address of this PC itself, not of the company network behind a VPN", {a});
    return j;
  }
  if (r.type != "unicast") {
    j.outcome = Outcome::kFail;
    j.reason = "not_unicast";
    j.sentence = Msg("{1} has a {2} route, not a route through a VPN", {a, Lit(r.type)});
    return j;
  }
  if (r.interface.empty()) {
    j.outcome = Outcome::kUnknown;
    j.reason = "no_interface";
    j.sentence = Msg("the route to {1} names no output interface", {a});
    return j;
  }
  if (!f.interface_status.ok() || !f.interface) {
    j.outcome = Outcome::kUnknown;
    j.reason = "interface_unreadable";
    j.sentence = Msg(
        "{1} is routed via {2}, but Hearth could not read what that is: {3}",
        {a, Lit(r.interface),
         f.interface_status.ok() ? Msg("no interface facts") : Lit(f.interface_status.message())});
    return j;
  }
  const InterfaceState& i = *f.interface;
  if (!i.tunnel && f.ipsec && f.ipsec->policy) {
    if (f.ipsec->established) {
      j.outcome = Outcome::kPass;
      j.reason = "ipsec_policy";
      j.sentence = Msg("{1} is protected by IPsec ({2}) with an established connection",
                       {a, Lit(f.ipsec->policy_text)});
    } else {
      j.outcome = Outcome::kFail;
      j.reason = "ipsec_not_established";
      j.tunnel_down = true;
      j.sentence =
          Msg("{1} is covered by an IPsec policy ({2}), but the IPsec VPN is not "
              "connected (no security association)",
              {a, Lit(f.ipsec->policy_text)});
    }
    return j;
  }
  if (!i.tunnel) {
    j.outcome = Outcome::kFail;
    // A bridge (docker0, virbr0) holding a company address: a local network overlaps the
    // company's range, which connecting the VPN will not fix.
    j.reason = i.kind == InterfaceKind::kBridge ? "local_network_overlap" : "not_a_tunnel";
    j.sentence = Msg("{1} is routed via {2}, not through a VPN", {a, Lit(describe(i))});
    return j;
  }
  if (!i.up) {
    j.outcome = Outcome::kFail;
    j.reason = "tunnel_down";
    j.tunnel_down = true;
    j.sentence = Msg("{1} is routed via {2}, but that tunnel is down: {3}",
                     {a, Lit(describe(i)), Lit(i.state)});
    return j;
  }
  j.outcome = Outcome::kPass;
  j.reason = "through_tunnel";
  j.sentence = Msg("{1} is routed through {2}, which is up", {a, Lit(describe(i))});
  return j;
}

json::Value routeJson(const RouteInfo& r) {
  json::Value v = json::Value::object();
  v.set("type", r.type);
  v.set("interface", r.interface);
  v.set("interface_index", r.interface_index);
  v.set("table", static_cast<int64_t>(r.table));
  v.set("table_name", TableName(r.table));
  v.set("matched_prefix", r.matched_prefix);
  v.set("gateway", r.gateway);
  v.set("source", r.source);
  return v;
}

std::string_view outcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kFail:
      return "fail";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace

std::string_view kindName(InterfaceKind kind) {
  switch (kind) {
    case InterfaceKind::kTun:
      return "tun";
    case InterfaceKind::kWireGuard:
      return "wireguard";
    case InterfaceKind::kPpp:
      return "ppp";
    case InterfaceKind::kXfrm:
      return "xfrm";
    case InterfaceKind::kOvpn:
      return "ovpn";
    case InterfaceKind::kIpTunnel:
      return "ip-tunnel";
    case InterfaceKind::kPlainTunnel:
      return "plain-tunnel";
    case InterfaceKind::kL3Tunnel:
      return "l3-tunnel";
    case InterfaceKind::kTap:
      return "tap";
    case InterfaceKind::kPhysical:
      return "physical";
    case InterfaceKind::kWireless:
      return "wireless";
    case InterfaceKind::kBridge:
      return "bridge";
    case InterfaceKind::kVlan:
      return "vlan";
    case InterfaceKind::kBond:
      return "bond";
    case InterfaceKind::kVirtual:
      return "virtual";
    case InterfaceKind::kLoopback:
      return "loopback";
    case InterfaceKind::kOther:
      return "other";
  }
  return "other";
}

std::string TableName(uint32_t table) {
  switch (table) {
    case 253:
      return "default";
    case 254:
      return "main";
    case 255:
      return "local";
    default:
      return std::to_string(table);
  }
}

std::string LabelForName(std::string_view name) {
  struct Known {
    std::string_view prefix;
    std::string_view label;
  };
  static constexpr std::array<Known, 16> kKnown{{
      {"cscotun", "Cisco Secure Client / AnyConnect"},
      {"gpd", "Palo Alto GlobalProtect"},
      {"zcctun", "Zscaler Client Connector"},
      {"tailscale", "Tailscale"},
      {"wg-mullvad", "Mullvad"},
      {"ipv6leakintrf", "Proton VPN IPv6 leak guard"},
      {"proton", "Proton VPN"},
      {"nordlynx", "NordVPN"},
      {"nordtun", "NordVPN"},
      {"zt", "ZeroTier"},
      {"docker", "Docker"},
      {"br-", "Docker network"},
      {"virbr", "libvirt"},
      {"vboxnet", "VirtualBox"},
      {"vmnet", "VMware"},
      {"CloudflareWARP", "Cloudflare WARP"},
  }};
  for (const auto& k : kKnown) {
    if (name.starts_with(k.prefix)) return std::string(k.label);
  }
  return "";
}

json::Value InterfaceState::toJson() const {
  json::Value v = json::Value::object();
  v.set("name", name);
  v.set("kind", kindName(kind));
  v.set("tunnel", tunnel);
  v.set("up", up);
  v.set("state", state);
  if (!label.empty()) v.set("label", label);
  return v;
}

StatusOr<InterfaceState> ClassifyInterface(const InterfaceSysfs& s) {
  InterfaceState st;
  st.name = s.name;
  st.label = LabelForName(s.name);
  auto type_text = trimmed(s.type);
  auto flags_text = trimmed(s.flags);
  if (!type_text) return InvalidArgumentError("/sys/class/net/" + s.name + "/type is missing");
  if (!flags_text) return InvalidArgumentError("/sys/class/net/" + s.name + "/flags is missing");
  auto type = text::parseInt(*type_text);
  auto flags = text::parseHex(*flags_text);
  if (!type) return InvalidArgumentError("/sys/class/net/" + s.name + "/type: not a number");
  if (!flags) return InvalidArgumentError("/sys/class/net/" + s.name + "/flags: not a hex number");
  std::string devtype;
  if (s.uevent) {
    auto kv = text::parseOsRelease(*s.uevent);
    if (auto it = kv.find("DEVTYPE"); it != kv.end()) devtype = it->second;
  }
  std::optional<uint64_t> tun_flags;
  if (auto t = trimmed(s.tun_flags)) tun_flags = text::parseHex(*t);

  if (devtype == "wireguard") {
    st.kind = InterfaceKind::kWireGuard;
  } else if (tun_flags) {
    if ((*tun_flags & kIffTap) != 0) {
      st.kind = InterfaceKind::kTap;
    } else if ((*tun_flags & kIffTun) != 0) {
      st.kind = InterfaceKind::kTun;
    } else {
      st.kind = InterfaceKind::kOther;
    }
  } else if (*type == kArphrdPpp) {
    st.kind = InterfaceKind::kPpp;
  } else if (devtype == "xfrm") {
    st.kind = InterfaceKind::kXfrm;
  } else if (devtype == "ovpn") {
    st.kind = InterfaceKind::kOvpn;
  } else if (*type == kArphrdTunnel || *type == kArphrdTunnel6) {
    st.kind = InterfaceKind::kIpTunnel;
  } else if (*type == kArphrdSit || *type == kArphrdIpGre || *type == kArphrdIp6Gre) {
    // 6in4 to a tunnel broker, GRE: plain encapsulation. Over IPsec they are judged by the
    // xfrm policy check like any other non-tunnel route.
    st.kind = InterfaceKind::kPlainTunnel;
  } else if (*type == kArphrdNone) {
    st.kind = InterfaceKind::kL3Tunnel;
  } else if (*type == kArphrdLoopback) {
    st.kind = InterfaceKind::kLoopback;
  } else if (*type == kArphrdEther) {
    if (devtype == "bridge" || s.has_bridge) {
      st.kind = InterfaceKind::kBridge;
    } else if (devtype == "vlan") {
      st.kind = InterfaceKind::kVlan;
    } else if (devtype == "bond") {
      st.kind = InterfaceKind::kBond;
    } else if (devtype == "wlan" || s.has_wireless) {
      st.kind = InterfaceKind::kWireless;
    } else if (s.has_device) {
      st.kind = InterfaceKind::kPhysical;
    } else {
      st.kind = InterfaceKind::kVirtual;
    }
  } else if (s.has_device) {
    st.kind = InterfaceKind::kPhysical;
  } else {
    st.kind = InterfaceKind::kOther;
  }
  st.tunnel = isTunnelKind(st.kind);

  std::optional<int64_t> carrier;
  if (auto c = trimmed(s.carrier)) carrier = text::parseInt(*c);
  std::string operstate = trimmed(s.operstate).value_or("");
  if ((*flags & kIffUp) == 0) {
    st.up = false;
    st.state = "administratively down (IFF_UP not set)";
  } else if (st.kind == InterfaceKind::kTun || st.kind == InterfaceKind::kTap) {
    // tun never reports operstate "up": a client holding the device gives it a carrier.
    if (carrier == 1) {
      st.up = true;
      st.state = "IFF_UP, carrier 1 (a VPN client holds the device)";
    } else {
      st.up = false;
      st.state = "no carrier, so no VPN client holds the tun device";
      if (tun_flags && (*tun_flags & kIffPersist) != 0) {
        st.state += "; it is a persistent tun left behind by a disconnected client";
      }
    }
  } else if (carrier && *carrier == 0) {
    st.up = false;
    st.state = "no carrier";
  } else if (operstate == "down" || operstate == "lowerlayerdown" || operstate == "notpresent" ||
             operstate == "dormant") {
    st.up = false;
    st.state = "operstate " + operstate;
  } else {
    st.up = true;
    st.state = "IFF_UP";
    if (carrier) st.state += ", carrier " + std::to_string(*carrier);
    if (!operstate.empty()) st.state += ", operstate " + operstate;
  }
  return st;
}

CheckResult Decide(const std::vector<AddressFinding>& findings, const CompanyText& app_name) {
  using i18n::Lit;
  using i18n::Msg;
  CheckResult r;
  // The company's name for its VPN app, when the policy gives one.
  const bool named = !app_name.empty();
  const i18n::Message app = named ? i18n::Local(app_name) : i18n::Message();
  auto advise = [&](const char* code, std::vector<i18n::Message> steps) {
    Advice a;
    a.code = code;
    a.steps = std::move(steps);
    r.addAdvice(std::move(a));
  };
  r.id = kVpnCheckId;
  json::Value list = json::Value::array();
  if (findings.empty()) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(
        Msg("No company addresses are set in the policy (vpn.company_addresses), so Hearth "
            "cannot tell whether the VPN is in use"));
    r.evidence.set("reason", "no_company_addresses");
    r.evidence.set("addresses", std::move(list));
    advise("vpn.policy_has_no_addresses",
           {Msg("Nothing to do on this PC: your IT department needs to list company addresses in "
                "the vpn section of the security policy.")});
    return r;
  }

  std::vector<Judged> judged;
  judged.reserve(findings.size());
  for (const auto& f : findings) {
    Judged j = judge(f);
    json::Value e = json::Value::object();
    e.set("address", f.address);
    e.set("verdict", outcomeName(j.outcome));
    e.set("reason", j.reason);
    e.set("detail", j.sentence.english());
    if (f.route_status.ok()) {
      e.set("route", routeJson(f.route));
    } else {
      e.set("route_error", f.route_status.toString());
    }
    if (f.interface) {
      e.set("interface", f.interface->toJson());
    } else if (!f.interface_status.ok()) {
      e.set("interface_error", f.interface_status.toString());
    }
    if (f.ipsec) {
      e.set("ipsec", f.ipsec->toJson());
    } else if (!f.ipsec_status.ok()) {
      e.set("ipsec_error", f.ipsec_status.toString());
    }
    list.push(std::move(e));
    judged.push_back(std::move(j));
  }
  r.evidence.set("addresses", std::move(list));

  auto count = [&](Outcome o) {
    return static_cast<size_t>(std::count_if(judged.begin(), judged.end(),
                                             [&](const Judged& j) { return j.outcome == o; }));
  };
  size_t passed = count(Outcome::kPass);
  size_t failed = count(Outcome::kFail);
  size_t unknown = count(Outcome::kUnknown);

  auto first = [&](Outcome o) -> const Judged& {
    return *std::find_if(judged.begin(), judged.end(),
                         [&](const Judged& j) { return j.outcome == o; });
  };

  if (failed > 0) {
    const Judged& j = first(Outcome::kFail);
    r.verdict = Verdict::kFail;
    if (failed > 1) {
      r.setSummary(i18n::Joined(
          {j.sentence,
           i18n::MsgN("{1} more company address is not routed through a VPN either",
                      "{1} more company addresses are not routed through a VPN "
                      "either",
                      static_cast<int64_t>(failed - 1), {Lit(std::to_string(failed - 1))})},
          "; "));
    } else {
      r.setSummary(j.sentence);
    }
    bool any_down =
        std::any_of(judged.begin(), judged.end(), [](const Judged& x) { return x.tunnel_down; });
    bool overlap = std::any_of(judged.begin(), judged.end(), [](const Judged& x) {
      return x.outcome == Outcome::kFail &&
             (x.reason == "local_address" || x.reason == "local_network_overlap");
    });
    if (overlap) {
      advise("vpn.address_conflict",
             {Msg("A network on this PC itself (your home network, Docker or a virtual machine "
                  "network) uses the company's address range, so traffic to it cannot reach the "
                  "VPN."),
              Msg("Tell your IT department the address in the summary; they can tell you how to "
                  "change the conflicting network.")});
    } else if (any_down) {
      advise("vpn.connect",
             {named ? Msg("Open {1}.", {app}) : Msg("Open your company VPN app."),
              Msg("Click Connect (or disconnect and connect again): the VPN is not connected."),
              Msg("Run the check again.")});
    } else if (passed > 0) {
      advise("vpn.reconnect",
             {Msg("Disconnect the VPN and connect again: it is connected, but does not carry all "
                  "company traffic (see the summary)."),
              Msg("Run the check again."),
              Msg("If it still fails, tell your IT department which address does not go "
                  "through the VPN.")});
    } else {
      advise("vpn.connect",
             {named ? Msg("Connect your company VPN: open {1} and click Connect.", {app})
                    : Msg("Connect your company VPN: open the VPN app and click Connect."),
              Msg("Run the check again."),
              Msg("If the VPN is connected and this still fails, tell your IT department which "
                  "address does not go through the VPN (see the summary).")});
    }
    return r;
  }
  if (unknown > 0) {
    const Judged& j = first(Outcome::kUnknown);
    r.verdict = Verdict::kUnknown;
    r.setSummary(Msg("Could not tell whether the VPN is in use: {1}", {j.sentence}));
    advise("vpn.check_again",
           {Msg("Run the check again in a minute."),
            Msg("If this persists, contact your IT department and include the summary above.")});
    return r;
  }
  r.verdict = Verdict::kPass;
  if (judged.size() == 1) {
    r.setSummary(judged.front().sentence);
  } else {
    std::vector<std::string> names;
    for (const auto& f : findings) {
      std::string d = f.interface->tunnel ? describe(*f.interface) : "IPsec policy";
      if (std::find(names.begin(), names.end(), d) == names.end()) names.push_back(d);
    }
    r.setSummary(Msg("All {1} company addresses are routed through a VPN that is up: {2}",
                     {Lit(std::to_string(judged.size())), Lit(text::join(names, ", "))}));
  }
  return r;
}

json::Value IpsecCoverage::toJson() const {
  json::Value v = json::Value::object();
  v.set("policy", policy);
  v.set("established", established);
  if (!policy_text.empty()) v.set("policy_text", policy_text);
  if (!sa_text.empty()) v.set("sa", sa_text);
  return v;
}

StatusOr<std::vector<XfrmPolicy>> ParseXfrmPolicies(std::string_view text_in) {
  std::vector<XfrmPolicy> out;
  XfrmTemplate* tmpl = nullptr;
  for (const std::string& line : text::splitLines(text_in)) {
    std::vector<std::string> w = text::splitWhitespace(line);
    if (w.empty()) continue;
    bool indented = line[0] == ' ' || line[0] == '\t';
    if (!indented) {
      if (w[0] != "src") return InvalidArgumentError("ip xfrm policy: unexpected line: " + line);
      XfrmPolicy p;
      p.src = after(w, "src").value_or("");
      p.dst = after(w, "dst").value_or("");
      // Any further selector (proto, sport, dport, type, code, dev) narrows the traffic.
      p.whole_host_traffic = w.size() <= 4;
      out.push_back(std::move(p));
      tmpl = nullptr;
      continue;
    }
    if (out.empty()) return InvalidArgumentError("ip xfrm policy: line before a policy: " + line);
    XfrmPolicy& p = out.back();
    if (w[0] == "dir") {
      p.dir = w.size() > 1 ? w[1] : "";
      if (auto a = after(w, "action")) p.action = *a;
      if (auto pr = after(w, "priority")) p.priority = number(*pr).value_or(0);
    } else if (w[0] == "mark" || w[0] == "if_id") {
      std::string v = w.size() > 1 ? w[1] : "";
      p.marked =
          p.marked || !(v == "0" || v == "0x0" || v.starts_with("0/") || v.starts_with("0x0/") ||
                        v.ends_with("/0x0") || v.ends_with("/0x00000000"));
    } else if (w[0] == "tmpl") {
      XfrmTemplate t;
      t.src = after(w, "src").value_or("");
      t.dst = after(w, "dst").value_or("");
      p.templates.push_back(std::move(t));
      tmpl = &p.templates.back();
    } else if (w[0] == "proto" && tmpl != nullptr) {
      tmpl->proto = w.size() > 1 ? w[1] : "";
      if (auto r = after(w, "reqid")) tmpl->reqid = number(*r).value_or(0);
      tmpl->mode = after(w, "mode").value_or("");
    }
  }
  return out;
}

StatusOr<std::vector<XfrmState>> ParseXfrmStates(std::string_view text_in) {
  std::vector<XfrmState> out;
  for (const std::string& line : text::splitLines(text_in)) {
    std::vector<std::string> w = text::splitWhitespace(line);
    if (w.empty()) continue;
    bool indented = line[0] == ' ' || line[0] == '\t';
    if (!indented) {
      if (w[0] != "src") return InvalidArgumentError("ip xfrm state: unexpected line: " + line);
      XfrmState st;
      st.src = after(w, "src").value_or("");
      st.dst = after(w, "dst").value_or("");
      out.push_back(std::move(st));
      continue;
    }
    if (out.empty()) return InvalidArgumentError("ip xfrm state: line before a state: " + line);
    if (w[0] == "proto") {
      XfrmState& st = out.back();
      st.proto = w.size() > 1 ? w[1] : "";
      if (auto spi = after(w, "spi")) st.spi = number(*spi).value_or(0);
      if (auto r = after(w, "reqid")) st.reqid = number(*r).value_or(0);
      st.mode = after(w, "mode").value_or("");
    }
  }
  return out;
}

IpsecCoverage FindIpsecCoverage(const std::vector<XfrmPolicy>& policies,
                                const std::vector<XfrmState>& states, const IpAddress& destination,
                                const std::string& source) {
  IpsecCoverage c;
  auto src = IpAddress::parse(source);
  // The kernel uses the matching outbound policy with the lowest priority value.
  const XfrmPolicy* best = nullptr;
  for (const auto& p : policies) {
    if (p.dir != "out" || p.marked || !p.whole_host_traffic) continue;
    if (!prefixContains(p.dst, destination)) continue;
    if (src.ok() && !prefixContains(p.src, *src)) continue;
    if (!src.ok() && !p.src.ends_with("/0")) continue;
    if (best == nullptr || p.priority < best->priority) best = &p;
  }
  if (best == nullptr || best->action != "allow" || best->templates.empty()) return c;
  c.policy = true;
  const XfrmTemplate& first = best->templates.front();
  c.policy_text = "src " + best->src + " dst " + best->dst + " via " + first.proto + " " +
                  first.mode + (anyAddress(first.dst) ? "" : " to " + first.dst);
  std::vector<std::string> sas;
  for (const auto& t : best->templates) {
    std::string want_dst = anyAddress(t.dst) ? destination.toString() : t.dst;
    auto sa = std::find_if(states.begin(), states.end(), [&](const XfrmState& st) {
      return st.spi != 0 && st.dst == want_dst && st.proto == t.proto &&
             (t.reqid == 0 || st.reqid == t.reqid) && (t.mode.empty() || st.mode == t.mode) &&
             (anyAddress(t.src) || st.src == t.src);
    });
    if (sa == states.end()) return c;
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", sa->spi);
    sas.push_back(sa->proto + " spi " + spi + " reqid " + std::to_string(sa->reqid) + " " +
                  sa->mode + " " + sa->src + " -> " + sa->dst);
  }
  c.established = true;
  c.sa_text = text::join(sas, ", ");
  return c;
}

}  // namespace hearth::checks::vpn

namespace hearth::checks::vpn {

namespace {

// Descriptions of VPN adapters as Windows lists them (lower case, matched as substrings), and
// the client each one means.
struct WindowsVpnAdapter {
  const char* description;
  const char* label;
  InterfaceKind kind;
};
constexpr WindowsVpnAdapter kWindowsVpnAdapters[] = {
    {"wireguard tunnel", "WireGuard", InterfaceKind::kWireGuard},
    {"wintun", "Wintun (WireGuard, Tailscale, OpenVPN)", InterfaceKind::kTun},
    {"openvpn data channel offload", "OpenVPN", InterfaceKind::kOvpn},
    {"tap-windows adapter", "OpenVPN (TAP)", InterfaceKind::kTap},
    {"anyconnect", "Cisco AnyConnect", InterfaceKind::kTun},
    {"cisco secure client", "Cisco Secure Client", InterfaceKind::kTun},
    {"pangp virtual ethernet", "GlobalProtect", InterfaceKind::kTun},
    {"fortinet", "FortiClient", InterfaceKind::kTun},
    {"juniper networks virtual adapter", "Pulse Secure", InterfaceKind::kTun},
    {"ivanti", "Ivanti Secure Access", InterfaceKind::kTun},
    {"tailscale tunnel", "Tailscale", InterfaceKind::kTun},
    {"zerotier virtual port", "ZeroTier", InterfaceKind::kTap},
};

}  // namespace

StatusOr<InterfaceState> ClassifyWindowsInterface(const RouteInfo& route) {
  if (route.interface_type == 0) {
    return InvalidArgumentError("the route to " + route.destination + " names no interface type");
  }
  InterfaceState s;
  s.name = route.interface.empty() ? route.interface_description : route.interface;
  const std::string description = text::toLower(route.interface_description);
  switch (route.interface_type) {
    case 23:  // IF_TYPE_PPP: RAS (IKEv2, SSTP, L2TP, PPTP)
      s.kind = InterfaceKind::kPpp;
      s.tunnel = true;
      s.label = "Windows VPN (RAS)";
      break;
    case 24:  // IF_TYPE_SOFTWARE_LOOPBACK
      s.kind = InterfaceKind::kLoopback;
      break;
    case 71:  // IF_TYPE_IEEE80211
      s.kind = InterfaceKind::kWireless;
      break;
    case 131:  // IF_TYPE_TUNNEL: 6to4, Teredo, ISATAP, IP-HTTPS
      s.kind = InterfaceKind::kPlainTunnel;
      break;
    case 6:  // IF_TYPE_ETHERNET_CSMACD
      s.kind = InterfaceKind::kPhysical;
      break;
    default:  // 53 IF_TYPE_PROP_VIRTUAL and the rest
      s.kind = InterfaceKind::kVirtual;
      break;
  }
  for (const auto& a : kWindowsVpnAdapters) {
    if (description.find(a.description) != std::string::npos) {
      s.kind = a.kind;
      s.tunnel = true;
      s.label = a.label;
      break;
    }
  }
  s.up = route.interface_up.value_or(false);
  s.state = route.interface_up.has_value()
                ? (*route.interface_up ? "OperStatus up" : "OperStatus not up")
                : "OperStatus not reported";
  return s;
}

}  // namespace hearth::checks::vpn
