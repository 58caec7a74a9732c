// The vpn check on Linux: for each company address, the kernel's route (SystemView::routeTo, which
// is RTM_GETROUTE live and a recording under --root), then the output interface's sysfs files.
// Sends no packet.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "hearth/text.h"
#include "vpn/vpn.h"

namespace hearth::checks {

namespace {

constexpr size_t kSysfsLimit = 4096;

// An interface name as the kernel allows it (IFNAMSIZ - 1, no '/', no whitespace, not . or ..).
bool validInterfaceName(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

// The file, or nullopt if it is absent or unreadable (carrier is unreadable while down).
std::optional<std::string> readOptional(const SystemView& system, const std::string& path) {
  auto r = system.readFile(path, kSysfsLimit, false);
  if (!r.ok()) return std::nullopt;
  return std::move(r).value();
}

StatusOr<vpn::InterfaceState> readInterface(const SystemView& system, const RouteInfo& route) {
  const std::string& name = route.interface;
  if (!validInterfaceName(name)) {
    return InvalidArgumentError("not a valid interface name: \"" + name + "\"");
  }
  const std::string dir = "/sys/class/net/" + name;
  auto entries = system.listDir(dir);
  if (!entries.ok()) {
    if (entries.status().code() == StatusCode::kNotFound) {
      return NotFoundError(dir + " does not exist (is /sys mounted for this network namespace?)");
    }
    return entries.status();
  }
  vpn::InterfaceSysfs s;
  s.name = name;
  auto has = [&](std::string_view e) {
    return std::binary_search(entries->begin(), entries->end(), std::string(e));
  };
  s.has_device = has("device");
  s.has_bridge = has("bridge");
  s.has_wireless = has("wireless") || has("phy80211");
  // type and flags decide; their read errors (permission, not a file) are reported as such.
  for (auto [file, slot] : {std::pair{"type", &s.type}, std::pair{"flags", &s.flags}}) {
    auto r = system.readFile(dir + "/" + file, kSysfsLimit, false);
    if (!r.ok()) return r.status();
    *slot = std::move(r).value();
  }
  s.carrier = readOptional(system, dir + "/carrier");
  s.operstate = readOptional(system, dir + "/operstate");
  s.tun_flags = readOptional(system, dir + "/tun_flags");
  s.uevent = readOptional(system, dir + "/uevent");
  s.ifindex = readOptional(system, dir + "/ifindex");
  s.iflink = readOptional(system, dir + "/iflink");
  if (route.interface_index > 0 && s.ifindex) {
    auto idx = text::parseInt(text::trim(*s.ifindex));
    if (idx && *idx != route.interface_index) {
      return FailedPreconditionError(
          dir + " has ifindex " + std::to_string(*idx) + " but the route uses interface index " +
          std::to_string(route.interface_index) + ": /sys shows another network namespace");
    }
  }
  return vpn::ClassifyInterface(s);
}

// iproute2's ip. Under --root, recordings name /usr/sbin/ip.
std::string ipBinary(const SystemView& system) {
  if (system.isRooted()) return "/usr/sbin/ip";
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    auto st = system.stat(p, true);
    if (st.ok() && st->type == FileType::kRegular) return p;
  }
  return "";
}

StatusOr<std::string> runIp(const SystemView& system, const std::string& ip,
                            std::vector<std::string> args) {
  Command c;
  c.argv = {ip};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  c.timeout = std::chrono::seconds(5);
  c.max_output = 4 << 20;
  HEARTH_ASSIGN_OR_RETURN(CommandResult r, system.run(c));
  std::string what = text::join(c.argv, " ");
  if (r.term_signal != 0 || r.exit_code != 0) {
    return UnavailableError(
        what + " failed: " + text::join(text::splitLines(text::trim(r.err.substr(0, 300))), "; "));
  }
  if (r.out_truncated) return ResourceExhaustedError(what + ": output too large");
  return r.out;
}

// The outbound IPsec policies and SAs (`ip xfrm`, which needs root), read once per run.
struct IpsecTables {
  std::vector<vpn::XfrmPolicy> policies;
  std::vector<vpn::XfrmState> states;
};

StatusOr<IpsecTables> readIpsec(const SystemView& system) {
  std::string ip = ipBinary(system);
  if (ip.empty()) return UnavailableError("iproute2 (ip) is not installed");
  IpsecTables t;
  HEARTH_ASSIGN_OR_RETURN(std::string pol,
                          runIp(system, ip, {"xfrm", "policy", "list", "dir", "out"}));
  HEARTH_ASSIGN_OR_RETURN(t.policies, vpn::ParseXfrmPolicies(pol));
  if (t.policies.empty()) return t;  // no policy: no SA can matter
  HEARTH_ASSIGN_OR_RETURN(std::string states,
                          runIp(system, ip, {"xfrm", "state", "list", "nokeys"}));
  HEARTH_ASSIGN_OR_RETURN(t.states, vpn::ParseXfrmStates(states));
  return t;
}

class VpnCheck final : public Check {
 public:
  std::string_view id() const override { return kVpnCheckId; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override {
    std::vector<vpn::AddressFinding> findings;
    CompanyText app_name;
    if (const auto* settings = params.policy.settings<VpnSettings>(id()))
      app_name = settings->app_name;
    if (const auto* settings = params.policy.settings<VpnSettings>(id())) {
      for (const auto& address : settings->company_addresses) {
        findings.push_back(examine(system, address));
      }
    }
    // Policy-based IPsec leaves routes alone: for addresses that leave through an ordinary
    // interface, look for an outbound xfrm policy and its SA.
    std::optional<StatusOr<IpsecTables>> ipsec;
    for (auto& f : findings) {
      if (!f.interface || f.interface->tunnel) continue;
      if (!ipsec) ipsec = readIpsec(system);
      if (!ipsec->ok()) {
        f.ipsec_status = ipsec->status();
        continue;
      }
      auto ip = IpAddress::parse(f.address);
      if (!ip.ok()) continue;
      f.ipsec = vpn::FindIpsecCoverage((*ipsec)->policies, (*ipsec)->states, *ip, f.route.source);
    }
    return vpn::Decide(findings, app_name);
  }

 private:
  static vpn::AddressFinding examine(const SystemView& system, const std::string& address) {
    vpn::AddressFinding f;
    f.address = address;
    auto ip = IpAddress::parse(address);
    if (!ip.ok()) {
      f.route_status = ip.status();
      return f;
    }
    f.address = ip->toString();
    auto route = system.routeTo(*ip);
    if (!route.ok()) {
      f.route_status = route.status();
      return f;
    }
    f.route = std::move(route).value();
    if (f.route.interface.empty() || f.route.type != "unicast") {
      return f;
    }
    auto iface = readInterface(system, f.route);
    if (iface.ok()) {
      f.interface = std::move(iface).value();
    } else {
      f.interface_status = iface.status();
    }
    return f;
  }
};

}  // namespace

std::unique_ptr<Check> NewVpnCheck() { return std::make_unique<VpnCheck>(); }

}  // namespace hearth::checks
