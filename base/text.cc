#include "hearth/text.h"

#include <charconv>
#include <cstdio>

namespace hearth::text {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
    --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> splitLines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    std::string_view line = s.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.emplace_back(line);
    start = nl + 1;
  }
  return out;
}

std::vector<std::string> splitWhitespace(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::optional<int64_t> parseInt(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint32_t> parseU32(std::string_view s) {
  auto v = parseInt(s);
  if (!v || *v < 0 || *v > 0xffffffffLL) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::optional<uint64_t> parseHex(std::string_view s) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::map<std::string, std::string> parseOsRelease(std::string_view s) {
  std::map<std::string, std::string> out;
  for (const auto& raw : splitLines(s)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      std::string unq;
      for (size_t i = 1; i + 1 < value.size(); ++i) {
        if (value[i] == '\\' && i + 2 < value.size()) ++i;
        unq += value[i];
      }
      value = unq;
    }
    out[key] = value;
  }
  return out;
}

std::string unescapeOctal(std::string_view s) {
  std::string out;
  auto octal = [&](size_t k) { return s[k] >= '0' && s[k] <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out +=
          static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string firstLine(std::string_view s, size_t max_bytes) {
  std::string t = trim(s);
  size_t nl = t.find('\n');
  if (nl != std::string::npos) t.resize(nl);
  if (t.size() > max_bytes) t = t.substr(0, max_bytes) + "...";
  return t;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::optional<CodePoint> decodeUtf8(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::nullopt;
  auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) return CodePoint{b0, 1};
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (pos + len > s.size()) return std::nullopt;
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[pos + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return CodePoint{cp, len};
}

bool isDisallowedInPersonText(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

namespace {
std::string codePointName(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(cp));
  return buf;
}
}  // namespace

Status validatePersonText(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t pos = 0; pos < s.size();) {
    auto cp = decodeUtf8(s, pos);
    if (!cp) return InvalidArgumentError("is not valid UTF-8");
    if (isDisallowedInPersonText(cp->value)) {
      bool control = cp->value < 0x20 || (cp->value >= 0x7F && cp->value <= 0x9F);
      return InvalidArgumentError(std::string("contains the ") +
                                  (control ? "control" : "invisible formatting") + " character " +
                                  codePointName(cp->value));
    }
    if (++chars > max_chars) {
      return InvalidArgumentError("is longer than " + std::to_string(max_chars) + " characters");
    }
    pos += cp->length;
  }
  return OkStatus();
}

std::string escapeForDisplay(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char buf[16];
  for (size_t pos = 0; pos < s.size();) {
    auto cp = decodeUtf8(s, pos);
    if (!cp || cp->value < 0x20 || (cp->value >= 0x7F && cp->value <= 0x9F)) {
      // A byte of invalid UTF-8, or a control: its code (C1 controls by their value).
      unsigned value = cp ? static_cast<unsigned>(cp->value) : static_cast<unsigned char>(s[pos]);
      std::snprintf(buf, sizeof(buf), "\\x%02X", value);
      out += buf;
      pos += cp ? cp->length : 1;
      continue;
    }
    if (isDisallowedInPersonText(cp->value)) {
      std::snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(cp->value));
      out += buf;
    } else {
      out.append(s.substr(pos, cp->length));
    }
    pos += cp->length;
  }
  return out;
}

}  // namespace hearth::text
