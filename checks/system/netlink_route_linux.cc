// Temporary: replaced by the full rtnetlink lookup in the vpn work.
#include "system/netlink_route.h"

namespace hearth::internal {

StatusOr<RouteInfo> NetlinkRouteLookup(const IpAddress& destination) {
  return UnavailableError("route lookup for " + destination.toString() + " is not built yet");
}

}  // namespace hearth::internal
