// Fuzzes disk_encryption's ZFS readers (checks/disk_encryption/disk_encryption.cc): `zfs get -H
// -o name,property,value encryption,keystatus,encryptionroot` (no property without the dataset it
// belongs to, no value with a tab or newline) and the vdevs of `zpool status -P` / `zpool list
// -vHP` (absolute paths, each once).
#include <cstdint>
#include <set>
#include <string>

#include "disk_encryption/disk_encryption.h"
#include "fuzz_assert.h"

using namespace hearth::checks::disk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  ZfsEncryption z = parseZfsGet(text);
  if (!z.encryption.empty() || !z.keystatus.empty() || !z.encryption_root.empty()) {
    FUZZ_ASSERT(!z.dataset.empty());
  }
  for (const std::string* v : {&z.dataset, &z.encryption, &z.keystatus, &z.encryption_root}) {
    FUZZ_ASSERT(v->find('\n') == std::string::npos && v->find('\t') == std::string::npos);
  }
  std::set<std::string> seen;
  for (const auto& dev : parseZpoolDevices(text)) {
    FUZZ_ASSERT(!dev.empty() && dev[0] == '/');
    FUZZ_ASSERT(seen.insert(dev).second);
  }
  return 0;
}
