// vpn's policy part (check_spec.h): its id, wording and policy settings.
#include "hearth/i18n.h"
#include "hearth/ip_address.h"
#include "vpn/vpn.h"

namespace hearth::checks {

namespace {

constexpr size_t kMaxCompanyAddresses = 256;

Status readSettings(const json::ObjectReader& section, VpnSettings& s) {
  const json::Array* addresses = nullptr;
  HEARTH_RETURN_IF_ERROR(section.readArray("company_addresses", kMaxCompanyAddresses,
                                           "an array of at most 256 IP addresses", addresses));
  for (size_t i = 0; addresses != nullptr && i < addresses->size(); ++i) {
    const json::Value& e = (*addresses)[i];
    if (!e.isString() || !IpAddress::parse(e.asString()).ok()) {
      return section.invalid("company_addresses[" + std::to_string(i) + "]",
                             "an IPv4 or IPv6 address such as \"10.20.0.1\" or \"fd00::1\"", &e);
    }
    s.company_addresses.push_back(e.asString());
  }
  return ReadCompanyText(section, "app_name", 100, s.app_name);
}

}  // namespace

CheckSpec VpnCheckEntry(PolicyPart) {
  return {.id = kVpnCheckId,
          .wording = {N_("VPN"), N_("VPN needs attention")},
          .settings = SettingsOf({"company_addresses", "app_name"}, readSettings)};
}

}  // namespace hearth::checks
