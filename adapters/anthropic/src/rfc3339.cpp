#include <conclave/anthropic/rfc3339.hpp>

#include <cstddef>

namespace conclave::anthropic {
namespace {

// Reads exactly `n` ASCII digits at `at`; false (nothing consumed) otherwise.
bool digits(std::string_view s, std::size_t& at, std::size_t n, int& out) {
  if (s.size() - at < n) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[at + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  at += n;
  out = v;
  return true;
}

bool literal(std::string_view s, std::size_t& at, char c) {
  if (at >= s.size() || s[at] != c) return false;
  ++at;
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  std::size_t at = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, at, 4, y) || !literal(s, at, '-') || !digits(s, at, 2, mo) ||
      !literal(s, at, '-') || !digits(s, at, 2, d)) {
    return std::nullopt;
  }
  if (at >= s.size() || (s[at] != 'T' && s[at] != 't' && s[at] != ' ')) return std::nullopt;
  ++at;
  if (!digits(s, at, 2, h) || !literal(s, at, ':') || !digits(s, at, 2, mi) ||
      !literal(s, at, ':') || !digits(s, at, 2, sec)) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  milliseconds fraction{0};
  if (literal(s, at, '.')) {
    const std::size_t first = at;
    int scale = 100;
    for (; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at) {
      fraction += milliseconds{(s[at] - '0') * scale};
      scale /= 10;  // past the third digit: 0, the rest is dropped
    }
    if (at == first) return std::nullopt;
  }
  minutes offset{0};
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const bool east = s[at++] == '+';
    int oh = 0, om = 0;
    if (!digits(s, at, 2, oh) || !literal(s, at, ':') || !digits(s, at, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset = hours{oh} + minutes{om};
    if (!east) offset = -offset;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;

  // Calendar arithmetic from <chrono>: pure integer maths, no locale, no TZ, no timegm.
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  // Local time minus its offset is UTC; :60 simply lands on the next minute's first second.
  // Computed in milliseconds, which hold any four-digit year; system_clock's nanoseconds span
  // only ~1678-2262, so instants outside it are refused rather than overflowed.
  const sys_time<milliseconds> utc =
      sys_days{date} + hours{h} + minutes{mi} + seconds{sec} + fraction - offset;
  if (utc < ceil<milliseconds>(system_clock::time_point::min()) ||
      utc > floor<milliseconds>(system_clock::time_point::max())) {
    return std::nullopt;
  }
  return time_point_cast<system_clock::duration>(utc);
}

std::optional<std::chrono::milliseconds> rfc3339_wait(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  const auto at = parse_rfc3339(value);
  if (!at) return std::nullopt;
  if (*at <= now) return std::chrono::milliseconds{0};
  return std::chrono::ceil<std::chrono::milliseconds>(*at - now);
}

}  // namespace conclave::anthropic
