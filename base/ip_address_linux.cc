#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

#include "hearth/ip_address.h"

namespace hearth {

StatusOr<IpAddress> IpAddress::parse(const std::string& text) {
  IpAddress a;
  if (text.size() > 64) return InvalidArgumentError("not an IP address: too long");
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return InvalidArgumentError("not an IPv4 or IPv6 address: \"" + text + "\"");
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "";
  if (inet_ntop(family, bytes.data(), buf, sizeof buf) == nullptr) return "";
  return buf;
}

bool IpAddress::isIpv4() const { return family == AF_INET; }

}  // namespace hearth
