// Route lookup through rtnetlink (RTM_GETROUTE), policy routing rules included. Sends no packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::internal {

// Asks the kernel (the caller's network namespace) which route a packet to `destination` would
// take, exactly as `ip route get` does without a mark: policy rules (wg-quick's fwmark rule,
// Tailscale's table 52) apply as for ordinary traffic. Also asks for the matched FIB entry
// (RTM_F_FIB_MATCH) to fill matched_prefix ("" if the kernel does not support it).
// A destination without a usable route is not an error: the RouteInfo then has type
// "unreachable" (no route, or an unreachable route), "prohibit" or "blackhole" and no interface.
// Errors: Unavailable (no netlink socket), DeadlineExceeded (no answer within 2 s), DataLoss (a
// malformed answer), Internal (an unexpected kernel error, with its message).
StatusOr<RouteInfo> NetlinkRouteLookup(const IpAddress& destination);

// --- The pure parts, exposed for tests ------------------------------------------------------

// One decoded answer to a route request.
struct RouteMessage {
  int error = 0;              // positive errno from NLMSG_ERROR; 0 for an RTM_NEWROUTE answer
  std::string error_message;  // the kernel's extended ack text, if any
  uint8_t family = 0;
  uint8_t dst_len = 0;
  uint8_t type = 0;    // RTN_*
  uint32_t table = 0;  // RTA_TABLE, else rtm_table
  int oif = 0;         // RTA_OIF, 0 if absent
  std::optional<IpAddress> dst;
  std::optional<IpAddress> gateway;  // RTA_GATEWAY or RTA_VIA
  std::optional<IpAddress> prefsrc;
};

// The bytes of an RTM_GETROUTE request for `destination` (RTA_DST only, no mark), with
// RTM_F_LOOKUP_TABLE for IPv4 (the answer names the table used) and, if `fib_match`,
// RTM_F_FIB_MATCH.
std::vector<uint8_t> BuildRouteRequest(const IpAddress& destination, uint32_t seq, bool fib_match);

// Decodes one datagram received from the kernel. Messages whose sequence number or port id
// differ from `seq` / `port_id` are skipped. Returns nullopt when the datagram holds no answer
// to our request, DataLoss when it is malformed (lengths out of bounds, short headers).
StatusOr<std::optional<RouteMessage>> ParseRouteReply(const uint8_t* data, size_t len, uint32_t seq,
                                                      uint32_t port_id);

// "unicast", "local", "unreachable", ... for an RTN_* value; "type N" for others.
std::string RouteTypeName(uint8_t type);

}  // namespace hearth::internal
