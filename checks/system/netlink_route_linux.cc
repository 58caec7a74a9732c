// rtnetlink route lookup: one RTM_GETROUTE per question on a fresh NETLINK_ROUTE socket, bounded
// buffers and a receive timeout. Nothing is sent on any network: the kernel only answers from its
// routing tables and policy rules. Messages are decoded with memcpy (no casts into the buffer), so
// a short or hostile datagram cannot cause misaligned or out-of-bounds reads.
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hearth/fd.h"
#include "system/netlink_route.h"

namespace hearth::internal {

namespace {

constexpr size_t kReceiveBuffer = 32 * 1024;  // one route answer is a few hundred bytes
constexpr int kMaxDatagrams = 32;             // stray datagrams tolerated before giving up
constexpr auto kTimeout = std::chrono::seconds(2);

size_t addressLength(int family) { return family == AF_INET ? 4 : 16; }

void appendBytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}

void padTo4(std::vector<uint8_t>& out) {
  while (out.size() % 4 != 0) out.push_back(0);
}

std::optional<IpAddress> addressFrom(int family, const uint8_t* p, size_t n) {
  if ((family != AF_INET && family != AF_INET6) || n != addressLength(family)) return std::nullopt;
  IpAddress a;
  a.family = family;
  std::memcpy(a.bytes.data(), p, n);
  return a;
}

uint32_t readU32(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Walks rtattr/nlattr TLVs in [p, p+n). Calls f(type, payload, payload_len). DataLoss if a length
// is out of bounds.
template <typename F>
Status forEachAttr(const uint8_t* p, size_t n, F&& f) {
  size_t off = 0;
  while (n - off >= sizeof(rtattr)) {
    rtattr a{};
    std::memcpy(&a, p + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > n - off) {
      return DataLossError("netlink: attribute length out of bounds");
    }
    f(static_cast<uint16_t>(a.rta_type & NLA_TYPE_MASK), p + off + RTA_LENGTH(0),
      static_cast<size_t>(a.rta_len) - RTA_LENGTH(0));
    size_t step = RTA_ALIGN(static_cast<size_t>(a.rta_len));
    if (step > n - off) break;
    off += step;
  }
  return OkStatus();
}

StatusOr<RouteMessage> decodeError(const nlmsghdr& h, const uint8_t* payload, size_t n) {
  if (n < sizeof(nlmsgerr)) return DataLossError("netlink: short error message");
  nlmsgerr e{};
  std::memcpy(&e, payload, sizeof e);
  RouteMessage m;
  m.error = e.error < 0 ? -e.error : e.error;
  if (m.error == 0) m.error = ENODATA;  // an ACK without an answer: we asked for none
  if ((h.nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    size_t tlv = sizeof(nlmsgerr);
    if ((h.nlmsg_flags & NLM_F_CAPPED) == 0 && e.msg.nlmsg_len >= sizeof(nlmsghdr)) {
      tlv += NLMSG_ALIGN(e.msg.nlmsg_len - sizeof(nlmsghdr));
    }
    if (tlv <= n) {
      HEARTH_RETURN_IF_ERROR(
          forEachAttr(payload + tlv, n - tlv, [&](uint16_t type, const uint8_t* p, size_t len) {
            if (type != NLMSGERR_ATTR_MSG) return;
            std::string s(reinterpret_cast<const char*>(p), len);
            if (auto z = s.find('\0'); z != std::string::npos) s.resize(z);
            m.error_message = s.substr(0, 256);
          }));
    }
  }
  return m;
}

StatusOr<RouteMessage> decodeRoute(const uint8_t* payload, size_t n) {
  if (n < sizeof(rtmsg)) return DataLossError("netlink: short route message");
  rtmsg r{};
  std::memcpy(&r, payload, sizeof r);
  RouteMessage m;
  m.family = r.rtm_family;
  m.dst_len = r.rtm_dst_len;
  m.type = r.rtm_type;
  m.table = r.rtm_table;
  size_t start = NLMSG_ALIGN(sizeof(rtmsg));
  if (start > n) return m;
  Status s =
      forEachAttr(payload + start, n - start, [&](uint16_t type, const uint8_t* p, size_t len) {
        switch (type) {
          case RTA_DST:
            m.dst = addressFrom(r.rtm_family, p, len);
            break;
          case RTA_GATEWAY:
            m.gateway = addressFrom(r.rtm_family, p, len);
            break;
          case RTA_PREFSRC:
            m.prefsrc = addressFrom(r.rtm_family, p, len);
            break;
          case RTA_OIF:
            if (len == 4) m.oif = static_cast<int>(readU32(p));
            break;
          case RTA_TABLE:
            if (len == 4) m.table = readU32(p);
            break;
          case RTA_VIA: {  // IPv4 route via an IPv6 next hop (RFC 5549)
            uint16_t fam = 0;
            if (len < sizeof fam) break;
            std::memcpy(&fam, p, sizeof fam);
            m.gateway = addressFrom(fam, p + sizeof fam, len - sizeof fam);
            break;
          }
          default:
            break;
        }
      });
  if (!s.ok()) return s;
  return m;
}

std::atomic<uint32_t> g_seq{1};

// Sends one request on a fresh socket and returns the kernel's answer (a route or an error).
StatusOr<RouteMessage> ask(const IpAddress& destination, bool fib_match) {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (fd.get() < 0) {
    return UnavailableError(std::string("route lookup: no rtnetlink socket: ") +
                            std::strerror(errno));
  }
  timeval tv{};
  tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kTimeout).count();
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  // Best effort: error texts from the kernel, no echo of our request, strict header checks.
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);

  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    return ErrnoToStatus(errno, "route lookup: bind netlink socket");
  }
  socklen_t local_len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    return ErrnoToStatus(errno, "route lookup: getsockname");
  }

  uint32_t seq = g_seq.fetch_add(1);
  std::vector<uint8_t> req = BuildRouteRequest(destination, seq, fib_match);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd.get(), req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&kernel),
                    sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ErrnoToStatus(errno, "route lookup: send to netlink");
  if (static_cast<size_t>(sent) != req.size()) return InternalError("route lookup: short send");

  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  std::vector<uint8_t> buf(kReceiveBuffer);
  for (int i = 0; i < kMaxDatagrams; ++i) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    timeval wait{};
    wait.tv_sec = static_cast<time_t>(left.count() / 1000000);
    wait.tv_usec = static_cast<suseconds_t>(left.count() % 1000000);
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(fd.get(), buf.data(), buf.size(), MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return ErrnoToStatus(errno, "route lookup: receive from netlink");
    }
    if (static_cast<size_t>(n) > buf.size()) {
      return ResourceExhaustedError("route lookup: netlink answer larger than " +
                                    std::to_string(buf.size()) + " bytes");
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    HEARTH_ASSIGN_OR_RETURN(auto msg,
                            ParseRouteReply(buf.data(), static_cast<size_t>(n), seq, local.nl_pid));
    if (msg) return *msg;
  }
  return DeadlineExceededError("route lookup for " + destination.toString() +
                               ": no answer from the kernel within 2 s");
}

std::string prefixText(const RouteMessage& m) {
  if (m.dst_len == 0) return "default";
  if (!m.dst) return "";
  return m.dst->toString() + "/" + std::to_string(m.dst_len);
}

}  // namespace

std::string RouteTypeName(uint8_t type) {
  switch (type) {
    case RTN_UNSPEC:
      return "none";
    case RTN_UNICAST:
      return "unicast";
    case RTN_LOCAL:
      return "local";
    case RTN_BROADCAST:
      return "broadcast";
    case RTN_ANYCAST:
      return "anycast";
    case RTN_MULTICAST:
      return "multicast";
    case RTN_BLACKHOLE:
      return "blackhole";
    case RTN_UNREACHABLE:
      return "unreachable";
    case RTN_PROHIBIT:
      return "prohibit";
    case RTN_THROW:
      return "throw";
    case RTN_NAT:
      return "nat";
    case RTN_XRESOLVE:
      return "xresolve";
    default:
      return "type " + std::to_string(type);
  }
}

std::vector<uint8_t> BuildRouteRequest(const IpAddress& destination, uint32_t seq, bool fib_match) {
  size_t alen = addressLength(destination.family);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(rtmsg)) + RTA_SPACE(alen));
  h.nlmsg_type = RTM_GETROUTE;
  h.nlmsg_flags = NLM_F_REQUEST;
  h.nlmsg_seq = seq;
  h.nlmsg_pid = 0;
  rtmsg r{};
  r.rtm_family = static_cast<unsigned char>(destination.family);
  r.rtm_dst_len = static_cast<unsigned char>(alen * 8);
  // IPv4 answers name table main unless asked for the table the lookup used; IPv6 answers always
  // name it (and its strict header check rejects the flag).
  r.rtm_flags = (destination.family == AF_INET ? RTM_F_LOOKUP_TABLE : 0u) |
                (fib_match ? RTM_F_FIB_MATCH : 0u);
  rtattr a{};
  a.rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
  a.rta_type = RTA_DST;

  std::vector<uint8_t> out;
  out.reserve(h.nlmsg_len);
  appendBytes(out, &h, sizeof h);
  padTo4(out);
  appendBytes(out, &r, sizeof r);
  padTo4(out);
  appendBytes(out, &a, sizeof a);
  appendBytes(out, destination.bytes.data(), alen);
  padTo4(out);
  return out;
}

StatusOr<std::optional<RouteMessage>> ParseRouteReply(const uint8_t* data, size_t len, uint32_t seq,
                                                      uint32_t port_id) {
  size_t off = 0;
  while (len - off >= sizeof(nlmsghdr)) {
    nlmsghdr h{};
    std::memcpy(&h, data + off, sizeof h);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len - off) {
      return DataLossError("netlink: message length out of bounds");
    }
    const uint8_t* payload = data + off + NLMSG_HDRLEN;
    size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
    if (h.nlmsg_seq == seq && h.nlmsg_pid == port_id) {
      if (h.nlmsg_type == NLMSG_ERROR) {
        HEARTH_ASSIGN_OR_RETURN(RouteMessage m, decodeError(h, payload, plen));
        return std::optional<RouteMessage>(std::move(m));
      }
      if (h.nlmsg_type == NLMSG_OVERRUN) return DataLossError("netlink: overrun");
      if (h.nlmsg_type == RTM_NEWROUTE) {
        HEARTH_ASSIGN_OR_RETURN(RouteMessage m, decodeRoute(payload, plen));
        return std::optional<RouteMessage>(std::move(m));
      }
    }
    size_t step = NLMSG_ALIGN(static_cast<size_t>(h.nlmsg_len));
    if (step > len - off) break;
    off += step;
  }
  return std::optional<RouteMessage>();
}

StatusOr<RouteInfo> NetlinkRouteLookup(const IpAddress& destination) {
  if (destination.family != AF_INET && destination.family != AF_INET6) {
    return InvalidArgumentError("route lookup: not an IPv4 or IPv6 address");
  }
  RouteInfo info;
  info.destination = destination.toString();
  HEARTH_ASSIGN_OR_RETURN(RouteMessage m, ask(destination, /*fib_match=*/false));
  if (m.error != 0) {
    // The kernel answers a lookup that ends in a reject route with that route's error.
    switch (m.error) {
      case ENETUNREACH:
      case EHOSTUNREACH:
        info.type = "unreachable";
        return info;
      case EACCES:
        info.type = "prohibit";
        return info;
      case EINVAL:
        // A blackhole route answers EINVAL; a request the kernel rejects says why in the ack.
        if (m.error_message.empty()) {
          info.type = "blackhole";
          return info;
        }
        break;
      default:
        break;
    }
    std::string what =
        "route lookup for " + info.destination + ": the kernel answered " + std::strerror(m.error);
    if (!m.error_message.empty()) what += " (" + m.error_message + ")";
    return InternalError(what);
  }
  info.type = RouteTypeName(m.type);
  info.table = m.table;
  info.interface_index = m.oif;
  if (m.oif > 0) {
    std::array<char, IF_NAMESIZE + 1> name{};
    if (::if_indextoname(static_cast<unsigned>(m.oif), name.data()) != nullptr) {
      info.interface = name.data();
    } else {
      return ErrnoToStatus(errno, "route lookup for " + info.destination + ": name of interface " +
                                      std::to_string(m.oif));
    }
  }
  if (m.gateway) info.gateway = m.gateway->toString();
  if (m.prefsrc) info.source = m.prefsrc->toString();

  // The matched FIB entry; kernels before 4.13 reject the flag, which only loses this detail.
  auto fib = ask(destination, /*fib_match=*/true);
  if (fib.ok() && fib->error == 0) {
    info.matched_prefix = prefixText(*fib);
    if (info.table == 0) info.table = fib->table;
  }
  return info;
}

}  // namespace hearth::internal
