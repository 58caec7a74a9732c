// Fuzzes disk_encryption's readers of device-mapper tools (checks/disk_encryption/
// disk_encryption.cc): `cryptsetup status` (type and cipher trimmed, active only when it says so),
// `dmsetup table` (a cipher only on crypt segments) and the classification of dm uuids (an
// encryption role only for CRYPT- uuids that are not verity, integrity or sub-devices).
#include <cstdint>
#include <string>

#include "disk_encryption/disk_encryption.h"
#include "fuzz_assert.h"
#include "hearth/text.h"

using namespace hearth::checks::disk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  CryptStatus st = parseCryptsetupStatus(text);
  FUZZ_ASSERT(st.type == hearth::text::trim(st.type));
  FUZZ_ASSERT(st.cipher == hearth::text::trim(st.cipher));
  if (st.active) FUZZ_ASSERT(text.find(" is active") != std::string_view::npos);
  if (!st.cipher.empty() && isNullCipher(st.cipher)) {
    FUZZ_ASSERT(hearth::text::toLower(st.cipher).find("null") != std::string::npos);
  }
  for (const auto& seg : parseDmsetupTable(text)) {
    FUZZ_ASSERT(!seg.target.empty());
    if (seg.target != "crypt") FUZZ_ASSERT(seg.cipher.empty());
  }
  for (const auto& line : hearth::text::splitLines(text)) {
    DmClass c = classifyDmUuid(line);
    FUZZ_ASSERT(!c.label.empty());
    if (c.role == DmRole::kEncryption) {
      std::string u = hearth::text::trim(line);
      FUZZ_ASSERT(u.starts_with("CRYPT-"));
      FUZZ_ASSERT(!u.starts_with("CRYPT-VERITY-") && !u.starts_with("CRYPT-INTEGRITY-") &&
                  !u.starts_with("CRYPT-SUBDEV-"));
    }
    if (c.opal) FUZZ_ASSERT(c.role == DmRole::kEncryption);
  }
  return 0;
}
