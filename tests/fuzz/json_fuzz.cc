// Fuzzes the JSON parser: no crash, and whatever parses is written back to something that parses
// to the same value (the writer never produces invalid JSON).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hearth/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = hearth::json::parse(text);
  if (!v.ok()) return 0;
  std::string out = hearth::json::write(*v);
  auto back = hearth::json::parse(out, {.max_depth = 64});
  if (!back.ok() || !(*back == *v)) std::abort();
  std::string pretty = hearth::json::write(*v, {.pretty = true});
  if (!hearth::json::parse(pretty, {.max_depth = 64}).ok()) std::abort();
  return 0;
}
