#include "hearth/json.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace hearth::json {

namespace {
const std::string kEmptyString;
const Array kEmptyArray;
const Object kEmptyObject;
}  // namespace

std::string_view typeName(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kInt:
      return "integer";
    case Type::kDouble:
      return "number";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "?";
}

Type Value::type() const { return static_cast<Type>(v_.index()); }

bool Value::asBool() const {
  assert(isBool());
  return isBool() ? std::get<bool>(v_) : false;
}
int64_t Value::asInt() const {
  assert(isInt());
  return isInt() ? std::get<int64_t>(v_) : 0;
}
double Value::asDouble() const {
  if (isInt()) return static_cast<double>(std::get<int64_t>(v_));
  assert(type() == Type::kDouble);
  return type() == Type::kDouble ? std::get<double>(v_) : 0.0;
}
const std::string& Value::asString() const {
  assert(isString());
  return isString() ? std::get<std::string>(v_) : kEmptyString;
}
const Array& Value::asArray() const {
  assert(isArray());
  return isArray() ? std::get<Array>(v_) : kEmptyArray;
}
Array& Value::asArray() {
  if (isNull()) v_ = Array{};
  assert(isArray());
  return std::get<Array>(v_);
}
const Object& Value::asObject() const {
  assert(isObject());
  return isObject() ? std::get<Object>(v_) : kEmptyObject;
}
Object& Value::asObject() {
  if (isNull()) v_ = Object{};
  assert(isObject());
  return std::get<Object>(v_);
}

const Value* Value::find(std::string_view key) const {
  if (!isObject()) return nullptr;
  for (const auto& [k, v] : std::get<Object>(v_)) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value* Value::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value&>(*this).find(key));
}

bool Value::erase(std::string_view key) {
  if (!isObject()) return false;
  Object& o = std::get<Object>(v_);
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (it->first == key) {
      o.erase(it);
      return true;
    }
  }
  return false;
}

Value& Value::set(std::string_view key, Value v) {
  Object& o = asObject();
  for (auto& [k, existing] : o) {
    if (k == key) {
      existing = std::move(v);
      return existing;
    }
  }
  o.emplace_back(std::string(key), std::move(v));
  return o.back().second;
}

Value& Value::push(Value v) {
  Array& a = asArray();
  a.push_back(std::move(v));
  return a.back();
}

size_t Value::size() const {
  if (isArray()) return std::get<Array>(v_).size();
  if (isObject()) return std::get<Object>(v_).size();
  return 0;
}

bool Value::operator==(const Value& other) const { return v_ == other.v_; }

// ---------------------------------------------------------------------------------------------
// Parser

namespace {

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : s_(text), opt_(options) {}

  StatusOr<Value> run() {
    if (s_.size() > opt_.max_bytes) {
      return InvalidArgumentError("document is " + std::to_string(s_.size()) +
                                  " bytes, more than the limit of " +
                                  std::to_string(opt_.max_bytes));
    }
    // A UTF-8 byte order mark is tolerated at the very start (editors on Windows add it).
    if (s_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    skipWs();
    Value v;
    if (!parseValue(v, 0)) return error();
    skipWs();
    if (pos_ != s_.size()) {
      fail("unexpected text after the end of the JSON value");
      return error();
    }
    return v;
  }

 private:
  Status error() const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < err_pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(s_[i]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    return InvalidArgumentError("line " + std::to_string(line) + ", column " + std::to_string(col) +
                                ": " + err_);
  }

  bool fail(std::string msg) {
    if (err_.empty()) {
      err_ = std::move(msg);
      err_pos_ = pos_;
    }
    return false;
  }

  void skipWs() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return fail("invalid literal (expected a value)");
  }

  bool parseValue(Value& out, size_t depth) {
    if (pos_ >= s_.size()) return fail("unexpected end of input (expected a value)");
    char c = s_[pos_];
    switch (c) {
      case '{':
        return parseObject(out, depth + 1);
      case '[':
        return parseArray(out, depth + 1);
      case '"': {
        std::string str;
        if (!parseString(str)) return false;
        out = Value(std::move(str));
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        out = Value(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        out = Value(false);
        return true;
      case 'n':
        if (!literal("null")) return false;
        out = Value();
        return true;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parseNumber(out);
        if (c == '/') return fail("comments are not allowed in JSON");
        return fail(std::string("unexpected character '") + printable(c) + "' (expected a value)");
    }
  }

  static std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", u);
    return buf;
  }

  bool parseObject(Value& out, size_t depth) {
    if (depth > opt_.max_depth) {
      return fail("nesting deeper than " + std::to_string(opt_.max_depth) + " levels");
    }
    ++pos_;  // {
    Object obj;
    skipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      out = Value(std::move(obj));
      return true;
    }
    while (true) {
      skipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        if (pos_ < s_.size() && s_[pos_] == '}') return fail("trailing comma before '}'");
        return fail("expected a string key in quotes");
      }
      size_t key_pos = pos_;
      std::string key;
      if (!parseString(key)) return false;
      for (const auto& kv : obj) {
        if (kv.first == key) {
          pos_ = key_pos;
          return fail("duplicate key \"" + escape(key) + "\"");
        }
      }
      skipWs();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':' after the key");
      ++pos_;
      skipWs();
      Value v;
      if (!parseValue(v, depth)) return false;
      obj.emplace_back(std::move(key), std::move(v));
      skipWs();
      if (pos_ >= s_.size()) return fail("unexpected end of input (expected ',' or '}')");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        out = Value(std::move(obj));
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(Value& out, size_t depth) {
    if (depth > opt_.max_depth) {
      return fail("nesting deeper than " + std::to_string(opt_.max_depth) + " levels");
    }
    ++pos_;  // [
    Array arr;
    skipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      out = Value(std::move(arr));
      return true;
    }
    while (true) {
      skipWs();
      if (pos_ < s_.size() && s_[pos_] == ']') return fail("trailing comma before ']'");
      Value v;
      if (!parseValue(v, depth)) return false;
      arr.push_back(std::move(v));
      skipWs();
      if (pos_ >= s_.size()) return fail("unexpected end of input (expected ',' or ']')");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        out = Value(std::move(arr));
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("invalid hex digit in \\u escape");
      }
    }
    return true;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Validates one UTF-8 sequence starting at pos_ and appends it.
  bool utf8(std::string& out) {
    auto b0 = static_cast<unsigned char>(s_[pos_]);
    size_t n;
    uint32_t cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      cp = b0 & 0x07;
    } else {
      return fail("invalid UTF-8 in string");
    }
    if (pos_ + n > s_.size()) return fail("invalid UTF-8 in string");
    for (size_t i = 1; i < n; ++i) {
      auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) return fail("invalid UTF-8 in string");
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return fail("invalid UTF-8 in string");
    }
    out.append(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  bool parseString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      char c = s_[pos_];
      auto u = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (u < 0x20) return fail("control character in string (escape it)");
      if (u >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") return fail("lone high surrogate in \\u escape");
            pos_ += 2;
            uint32_t lo;
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("invalid surrogate pair in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          return fail(std::string("invalid escape '\\") + printable(e) + "'");
      }
    }
  }

  bool parseNumber(Value& out) {
    size_t start = pos_;
    bool is_float = false;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return fail("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        return fail("numbers may not have leading zeros");
      }
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    } else {
      return fail("invalid number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_float = true;
      ++pos_;
      size_t digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == digits) return fail("invalid number (digits expected after '.')");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      is_float = true;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      size_t digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == digits) return fail("invalid number (digits expected in exponent)");
    }
    std::string_view text = s_.substr(start, pos_ - start);
    if (!is_float) {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && p == text.data() + text.size()) {
        out = Value(i);
        return true;
      }
      // Out of int64 range: keep it as a double.
    }
    double d = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || !std::isfinite(d)) {
      pos_ = start;
      return fail("number out of range");
    }
    out = Value(d);
    return true;
  }

  std::string_view s_;
  const ParseOptions& opt_;
  size_t pos_ = 0;
  std::string err_;
  size_t err_pos_ = 0;
};

}  // namespace

StatusOr<Value> parse(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).run();
}

// ---------------------------------------------------------------------------------------------
// Writer

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  size_t i = 0;
  while (i < s.size()) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x80) {
      switch (u) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
          } else {
            out += static_cast<char>(u);
          }
      }
      ++i;
      continue;
    }
    // Validate a UTF-8 sequence; copy it if valid, else emit U+FFFD for this byte.
    size_t n = 0;
    uint32_t cp = 0;
    if (u >= 0xC2 && u <= 0xDF) {
      n = 2;
      cp = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
      n = 3;
      cp = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
      n = 4;
      cp = u & 0x07;
    }
    bool valid = n != 0 && i + n <= s.size();
    for (size_t k = 1; valid && k < n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (b & 0x3F);
      }
    }
    if (valid && ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                  (cp >= 0xD800 && cp <= 0xDFFF))) {
      valid = false;
    }
    if (valid) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

namespace {

void writeDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view sv(buf, static_cast<size_t>(p - buf));
  out += sv;
  if (sv.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void indent(std::string& out, int level) {
  out += '\n';
  out.append(static_cast<size_t>(level) * 2, ' ');
}

void writeValue(std::string& out, const Value& v, const WriteOptions& opt, int level) {
  switch (v.type()) {
    case Type::kNull:
      out += "null";
      return;
    case Type::kBool:
      out += v.asBool() ? "true" : "false";
      return;
    case Type::kInt:
      out += std::to_string(v.asInt());
      return;
    case Type::kDouble:
      writeDouble(out, v.asDouble());
      return;
    case Type::kString:
      out += '"';
      out += escape(v.asString());
      out += '"';
      return;
    case Type::kArray: {
      const Array& a = v.asArray();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        if (opt.pretty) indent(out, level + 1);
        writeValue(out, a[i], opt, level + 1);
      }
      if (opt.pretty) indent(out, level);
      out += ']';
      return;
    }
    case Type::kObject: {
      const Object& o = v.asObject();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, val] : o) {
        if (!first) out += ',';
        first = false;
        if (opt.pretty) indent(out, level + 1);
        out += '"';
        out += escape(k);
        out += opt.pretty ? "\": " : "\":";
        writeValue(out, val, opt, level + 1);
      }
      if (opt.pretty) indent(out, level);
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string write(const Value& v, const WriteOptions& options) {
  std::string out;
  writeValue(out, v, options, 0);
  return out;
}

}  // namespace hearth::json
