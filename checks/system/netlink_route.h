// Route lookup through rtnetlink (RTM_GETROUTE), policy routing rules included. Sends no packet.
#pragma once

#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::internal {

StatusOr<RouteInfo> NetlinkRouteLookup(const IpAddress& destination);

}  // namespace hearth::internal
