// Fuzzes the reader of `gsettings list-recursively` output and the GNOME and Cinnamon decisions
// over it (checks/screen_lock/gsettings.cc): schema and key names hold no space; a value that does
// not parse is refused naming its schema and key (InvalidArgument), missing schemas are NotFound;
// a GVariant number reads back as itself; the LockConfig keeps the assessment's contract.
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "screen_lock/screen_lock.h"
#include "screen_lock_contract.h"

using namespace hearth::checks::screen_lock;

namespace {

void checkConfig(const hearth::StatusOr<LockConfig>& c, std::string_view schema_prefix) {
  if (!c.ok()) {
    auto code = c.status().code();
    FUZZ_ASSERT(code == hearth::StatusCode::kNotFound ||
                code == hearth::StatusCode::kInvalidArgument);
    if (code == hearth::StatusCode::kInvalidArgument) {
      FUZZ_ASSERT(hearth::fuzz::StartsWith(c.status().message(), schema_prefix));
    }
    return;
  }
  hearth::fuzz::CheckAssessment(*c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  GSettingsValues values = parseGSettingsList(text);
  for (const auto& [schema, keys] : values) {
    FUZZ_ASSERT(!schema.empty() && schema.find(' ') == std::string::npos);
    for (const auto& [key, value] : keys) {
      FUZZ_ASSERT(!key.empty() && key.find(' ') == std::string::npos);
      if (auto n = parseGVariantInt(value)) {
        FUZZ_ASSERT(parseGVariantInt("int64 " + std::to_string(*n)) == n);
      }
    }
  }
  checkConfig(gnomeConfig(values, false), "org.gnome.desktop.");
  checkConfig(cinnamonConfig(values, true), "org.cinnamon.");
  (void)gnomeRelevantKeys(values);
  (void)cinnamonRelevantKeys(values);
  (void)gsettingsBackendProblem(text);
  return 0;
}
