// vpn's registry entry (check_registry.h): its policy settings, names and factory.
#include "hearth/system_view.h"
#include "vpn/vpn.h"

namespace hearth::checks {

namespace {

constexpr size_t kMaxCompanyAddresses = 256;

StatusOr<std::shared_ptr<const CheckSettings>> parseSettings(const json::ObjectReader& section) {
  auto s = std::make_shared<VpnSettings>();
  const json::Array* addresses = nullptr;
  HEARTH_RETURN_IF_ERROR(section.readArray("company_addresses", kMaxCompanyAddresses,
                                           "an array of at most 256 IP addresses", addresses));
  for (size_t i = 0; addresses != nullptr && i < addresses->size(); ++i) {
    const json::Value& e = (*addresses)[i];
    if (!e.isString() || !IpAddress::parse(e.asString()).ok()) {
      return section.invalid("company_addresses[" + std::to_string(i) + "]",
                             "an IPv4 or IPv6 address such as \"10.20.0.1\" or \"fd00::1\"", &e);
    }
    s->company_addresses.push_back(e.asString());
  }
  return std::shared_ptr<const CheckSettings>(std::move(s));
}

}  // namespace

CheckEntry VpnCheckEntry() {
  CheckEntry e;
  e.id = kVpnCheckId;
  e.name = "VPN";
  e.notification_title = "VPN needs attention";
  e.make = [] { return NewVpnCheck(); };
  e.settings_keys = {"company_addresses"};
  e.parse_settings = parseSettings;
  e.rerun_on_network_change = true;
  return e;
}

}  // namespace hearth::checks
