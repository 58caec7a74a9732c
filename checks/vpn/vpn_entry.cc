// vpn's agent entry (check_registry.h): its policy part and factory; it re-runs when the network
// changes.
#include "vpn/vpn.h"

namespace hearth::checks {

CheckEntry VpnCheckEntry(AgentPart) {
  return {.spec = VpnCheckEntry(kPolicyPart),
          .make = [] { return NewVpnCheck(); },
          .rerun_on_network_change = true};
}

}  // namespace hearth::checks
