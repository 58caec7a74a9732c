// The built-in checks' entries (builtin_checks.h lists them).
#include "builtin_checks.h"

#include "hearth/check_registry.h"

namespace hearth {

CheckRegistry BuiltinChecks() { return checks::BuiltinRegistry<CheckRegistry>(kAgentPart); }

}  // namespace hearth
