// The built-in checks' policy parts (builtin_checks.h lists them).
#include "builtin_checks.h"
#include "hearth/check_spec.h"

namespace hearth {

CheckSpecRegistry BuiltinCheckSpecs() {
  return checks::BuiltinRegistry<CheckSpecRegistry>(kPolicyPart);
}

}  // namespace hearth
