#include "fakes/reg_export.h"

#include "hearth/text.h"

namespace hearth::testing {

namespace {

bool rootFor(std::string_view name, RegistryRoot& root) {
  if (name == "HKEY_LOCAL_MACHINE" || name == "HKLM") {
    root = RegistryRoot::kLocalMachine;
  } else if (name == "HKEY_CURRENT_USER" || name == "HKCU") {
    root = RegistryRoot::kCurrentUser;
  } else if (name == "HKEY_USERS" || name == "HKU") {
    root = RegistryRoot::kUsers;
  } else {
    return false;
  }
  return true;
}

// A quoted string starting at s[pos] == '"'; pos ends after the closing quote.
bool quoted(std::string_view s, size_t& pos, std::string& out) {
  if (pos >= s.size() || s[pos] != '"') return false;
  out.clear();
  for (++pos; pos < s.size(); ++pos) {
    char c = s[pos];
    if (c == '\\' && pos + 1 < s.size()) {
      out += s[++pos];
    } else if (c == '"') {
      ++pos;
      return true;
    } else {
      out += c;
    }
  }
  return false;
}

}  // namespace

StatusOr<std::vector<RegExportValue>> ParseRegExport(std::string_view text) {
  std::vector<RegExportValue> out;
  bool have_key = false, header = false;
  RegistryRoot root = RegistryRoot::kLocalMachine;
  std::string key;
  int n = 0;
  for (const auto& raw : text::splitLines(text)) {
    ++n;
    std::string line = text::trim(raw);
    if (line.starts_with("\xEF\xBB\xBF")) line = line.substr(3);
    auto bad = [&](const char* why) {
      return InvalidArgumentError("registry export line " + std::to_string(n) + ": " + why + ": " +
                                  line);
    };
    if (line.empty() || line[0] == ';') continue;
    if (!header) {
      if (line != "Windows Registry Editor Version 5.00") return bad("not a .reg export");
      header = true;
      continue;
    }
    if (line[0] == '[') {
      if (line.back() != ']' || line.size() < 3 || line[1] == '-') return bad("bad key");
      std::string path = line.substr(1, line.size() - 2);
      size_t slash = path.find('\\');
      if (!rootFor(path.substr(0, slash), root)) return bad("unknown root");
      key = slash == std::string::npos ? "" : path.substr(slash + 1);
      have_key = true;
      continue;
    }
    if (!have_key) return bad("a value before any key");
    size_t pos = 0;
    RegExportValue v;
    v.root = root;
    v.key = key;
    if (!quoted(line, pos, v.name)) return bad("bad value name");
    if (pos >= line.size() || line[pos] != '=') return bad("no '='");
    std::string_view data = std::string_view(line).substr(pos + 1);
    if (data.starts_with("\"")) {
      size_t p = 0;
      std::string s;
      if (!quoted(data, p, s) || p != data.size()) return bad("bad string");
      v.value.type = RegistryValue::Type::kText;
      v.value.text = s;
    } else if (data.starts_with("dword:")) {
      std::string hex(data.substr(6));
      if (hex.size() != 8 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        return bad("bad dword");
      }
      v.value.type = RegistryValue::Type::kNumber;
      v.value.number = std::stoull(hex, nullptr, 16);
    } else if (data.starts_with("hex")) {
      continue;
    } else {
      return bad("unsupported value");
    }
    out.push_back(std::move(v));
  }
  if (!header) return InvalidArgumentError("registry export: empty");
  return out;
}

Status LoadRegExport(FakeSystemView& view, std::string_view text) {
  HEARTH_ASSIGN_OR_RETURN(auto values, ParseRegExport(text));
  for (auto& v : values) view.addRegistryValue(v.root, v.key, v.name, std::move(v.value));
  return OkStatus();
}

}  // namespace hearth::testing
