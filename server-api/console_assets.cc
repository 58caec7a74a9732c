// The IT console's compiled-in files, looked up by name.
#include "console_assets.h"

namespace hearth::server {

const ConsoleAsset* FindConsoleAsset(std::string_view name) {
  for (size_t i = 0; i < kConsoleAssetCount; ++i) {
    if (kConsoleAssets[i].name == name) return &kConsoleAssets[i];
  }
  return nullptr;
}

}  // namespace hearth::server
