#include "hearth/flags.h"

#include "hearth/i18n.h"

namespace hearth {

std::string ParsedFlags::get(std::string_view name, std::string fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? std::move(fallback) : it->second.back();
}

const std::vector<std::string>& ParsedFlags::all(std::string_view name) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(name);
  return it == values_.end() ? kNone : it->second;
}

void ParsedFlags::add(std::string_view name, std::string value) {
  auto it = values_.find(name);
  if (it == values_.end())
    it = values_.emplace(std::string(name), std::vector<std::string>{}).first;
  it->second.push_back(std::move(value));
}

void ParsedFlags::addIfAbsent(std::string_view name, std::string value) {
  if (!has(name)) add(name, std::move(value));
}

StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                 std::span<const FlagSpec> specs, FlagOptions options) {
  ParsedFlags out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool inline_value = false;
    if (name.starts_with("--")) {
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        inline_value = true;
      }
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      if (options.positional && !args[i].starts_with("--")) {
        out.addPositional(args[i]);
        continue;
      }
      return NotFoundError(i18n::Subst(i18n::Tr("unknown option \"{1}\""), {args[i]}));
    }
    switch (spec->kind) {
      case FlagKind::kRefused:
        return InvalidArgumentError(name + ": " + std::string(spec->refusal));
      case FlagKind::kSwitch:
        if (inline_value) {
          return InvalidArgumentError(i18n::Subst(i18n::Tr("{1} takes no value"), {name}));
        }
        out.add(name, "1");
        break;
      case FlagKind::kValue:
        if (!inline_value) {
          if (i + 1 >= args.size()) {
            return InvalidArgumentError(i18n::Subst(i18n::Tr("{1} needs a value"), {name}));
          }
          value = args[++i];
        }
        if (spec->non_empty && value.empty()) {
          return InvalidArgumentError(i18n::Subst(i18n::Tr("{1} needs a non-empty value"), {name}));
        }
        out.add(name, std::move(value));
        break;
    }
  }
  return out;
}

}  // namespace hearth
