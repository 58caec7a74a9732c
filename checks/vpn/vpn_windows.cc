// The vpn check on Windows: for each company address, GetBestRoute2 and the chosen interface
// (SystemView::routeTo), classified by its type and description (vpn.cc); the decision is
// Linux's (vpn::Decide). Sends no packet. Where GetBestRoute2 is not supported (Wine 8 answers
// ERROR_NOT_SUPPORTED) the address is unknown with that reason: no fallback to GetBestRoute,
// whose table Wine makes up.
#include <string>
#include <vector>

#include "vpn/vpn.h"

namespace hearth::checks {

namespace {

class VpnCheck final : public Check {
 public:
  std::string_view id() const override { return kVpnCheckId; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override {
    std::vector<vpn::AddressFinding> findings;
    CompanyText app_name;  // the company's VPN app, named in the advice (docs/policy.md)
    if (const auto* settings = params.policy.settings<VpnSettings>(id())) {
      app_name = settings->app_name;
      for (const auto& address : settings->company_addresses) {
        findings.push_back(examine(system, address));
      }
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
    auto iface = vpn::ClassifyWindowsInterface(f.route);
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
