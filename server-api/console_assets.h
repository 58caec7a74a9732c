// The IT console's files (server-api/console/), compiled into hearth-server by
// console_embed.cmake: nothing is read from disk or fetched at run time.
#pragma once

#include <cstddef>
#include <string_view>

namespace hearth::server {

struct ConsoleAsset {
  std::string_view name;          // "app.js", as under server-api/console/
  std::string_view content_type;  // with charset for text
  std::string_view body;
};

// The generated table (console_assets_data.cc) and the version of the assets: the first 16 hex
// digits of the SHA-256 over them, the <version> of /assets/<version>/<name>.
extern const ConsoleAsset kConsoleAssets[];
extern const size_t kConsoleAssetCount;
extern const char kConsoleAssetVersion[];

// The asset `name` ("index.html", "app.js"); null when there is none.
const ConsoleAsset* FindConsoleAsset(std::string_view name);

}  // namespace hearth::server
