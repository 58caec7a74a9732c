// SystemView's defaults for what only Windows has: every other view answers Unavailable.
#include "hearth/system_view.h"

namespace hearth {

std::string_view registryRootName(RegistryRoot root) {
  switch (root) {
    case RegistryRoot::kLocalMachine:
      return "HKLM";
    case RegistryRoot::kUsers:
      return "HKU";
    case RegistryRoot::kCurrentUser:
      return "HKCU";
  }
  return "?";
}

StatusOr<RegistryValue> SystemView::readRegistry(RegistryRoot /*root*/, const std::string& key,
                                                 const std::string& /*name*/) const {
  return UnavailableError("no Windows registry on this system (" + key + ")");
}

StatusOr<std::vector<std::string>> SystemView::listRegistrySubkeys(RegistryRoot /*root*/,
                                                                   const std::string& key) const {
  return UnavailableError("no Windows registry on this system (" + key + ")");
}

StatusOr<std::vector<WmiRow>> SystemView::queryWmi(
    const std::string& wmi_namespace, const std::string& /*query*/,
    const std::vector<std::string>& /*properties*/) const {
  return UnavailableError("no WMI on this system (" + wmi_namespace + ")");
}

StatusOr<std::vector<WindowsUpdate>> SystemView::searchWindowsUpdates(
    const std::string& /*criteria*/) const {
  return UnavailableError("no Windows Update Agent on this system");
}

StatusOr<WindowsUpdateHistory> SystemView::windowsUpdateHistory() const {
  return UnavailableError("no Windows Update Agent on this system");
}

StatusOr<PowerSettings> SystemView::powerSettings() const {
  return UnavailableError("no Windows power settings on this system");
}

}  // namespace hearth
