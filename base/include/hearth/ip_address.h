// IpAddress: an IPv4 or IPv6 address, parsed from and formatted to its text forms (inet_pton,
// inet_ntop). The vpn check routes to company addresses; the server tells IP names from DNS names
// in its certificate.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "hearth/status.h"

namespace hearth {

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};

  // Accepts dotted quad or any textual IPv6 form (no zone, no prefix). InvalidArgument otherwise.
  static StatusOr<IpAddress> parse(const std::string& text);
  // The canonical text ("fd00:20::1"); "" for an address of no family.
  std::string toString() const;
  // True for an IPv4 address (family AF_INET, whose value differs between Linux and Windows).
  bool isIpv4() const;
  bool operator==(const IpAddress& o) const { return family == o.family && bytes == o.bytes; }
};

}  // namespace hearth
