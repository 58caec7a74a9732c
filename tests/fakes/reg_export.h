// Registry exports (.reg files, "Windows Registry Editor Version 5.00", saved as UTF-8 text) for
// Windows fixtures: parsed and loaded into a FakeSystemView. REG_SZ ("name"="text" with \\ and \"
// escapes) and REG_DWORD ("name"=dword:0000012c) values are kept; other types (hex:...) are
// skipped; "@" (a key's default value) and deletions ("name"=-, [-KEY]) are not supported.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fakes/fake_system_view.h"
#include "hearth/status.h"

namespace hearth::testing {

struct RegExportValue {
  RegistryRoot root = RegistryRoot::kLocalMachine;
  std::string key;  // below the root, backslashes
  std::string name;
  RegistryValue value;
};

// InvalidArgument (naming the line) for a header, key or value line it cannot read.
StatusOr<std::vector<RegExportValue>> ParseRegExport(std::string_view text);

// Adds every value of `text` to `view`.
Status LoadRegExport(FakeSystemView& view, std::string_view text);

}  // namespace hearth::testing
