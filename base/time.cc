#include "hearth/time.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace hearth {

std::string formatRfc3339(std::chrono::system_clock::time_point t) {
  // The civil calendar of <chrono> (UTC), not gmtime_r: the same code on Linux and Windows.
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
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
  // timegm's normalisation (day 31 of a 30-day month rolls over) through <chrono>'s day count.
  using namespace std::chrono;
  const sys_days date = sys_days{year{y} / month{static_cast<unsigned>(mo)} / 1} + days{d - 1};
  const std::time_t tt = static_cast<std::time_t>(date.time_since_epoch().count()) * 86400 +
                         h * 3600L + mi * 60L + s - offset;
  // Only times a time_point holds.
  if (tt > kMaxTimePointSeconds || tt < -kMaxTimePointSeconds) return bad();
  return std::chrono::system_clock::from_time_t(tt);
}

std::chrono::system_clock::time_point timePointFromSeconds(int64_t seconds) {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(std::clamp(seconds, -kMaxTimePointSeconds, kMaxTimePointSeconds)));
}

}  // namespace hearth
