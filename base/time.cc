#include "hearth/time.h"

#include <algorithm>
#include <ctime>

namespace hearth {

std::string formatRfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

StatusOr<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text) {
  // Accepts YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
  auto bad = [&] {
    return InvalidArgumentError("not an RFC 3339 time: \"" + std::string(text) + "\"");
  };
  if (text.size() < 20) return bad();
  auto num = [&](size_t pos, size_t len, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (!num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' || !num(8, 2, d) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !num(11, 2, h) ||
      text[13] != ':' || !num(14, 2, mi) || text[16] != ':' || !num(17, 2, s)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  long offset = 0;
  if (pos >= text.size()) return bad();
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh, om;
    if (pos + 6 > text.size() || !num(pos + 1, 2, oh) || text[pos + 3] != ':' ||
        !num(pos + 4, 2, om)) {
      return bad();
    }
    offset = (oh * 3600L + om * 60L) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t tt = timegm(&tm) - offset;
  // Only times a time_point holds.
  if (tt > kMaxTimePointSeconds || tt < -kMaxTimePointSeconds) return bad();
  return std::chrono::system_clock::from_time_t(tt);
}

std::chrono::system_clock::time_point timePointFromSeconds(int64_t seconds) {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(std::clamp(seconds, -kMaxTimePointSeconds, kMaxTimePointSeconds)));
}

}  // namespace hearth
