#include <conclave/http/header_values.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>

namespace conclave::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses a decimal number (optional sign, optional fraction) that is the whole of `s`.
std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> names = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (names[i] == m) return i;
  }
  return -1;
}

std::optional<std::chrono::system_clock::time_point> to_time_point(int year, int month, int day,
                                                                   int h, int m, int s) {
  if (month < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60 || year < 1970) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value) {
  const std::string v(trim(value));
  char wday[16] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, h = 0, m = 0, s = 0, used = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (std::sscanf(v.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &day, mon, &year, &h, &m,
                  &s, zone, &used) == 8 &&
      used == static_cast<int>(v.size()) && std::string_view(zone) == "GMT") {
    return to_time_point(year, month_index(mon), day, h, m, s);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years below 70 are 20xx)
  if (std::sscanf(v.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wday, &day, mon, &year,
                  &h, &m, &s, zone, &used) == 8 &&
      used == static_cast<int>(v.size()) && std::string_view(zone) == "GMT") {
    year += year < 70 ? 2000 : 1900;
    return to_time_point(year, month_index(mon), day, h, m, s);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (std::sscanf(v.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &h, &m, &s, &year,
                  &used) == 7 &&
      used == static_cast<int>(v.size())) {
    return to_time_point(year, month_index(mon), day, h, m, s);
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front())) || value.front() == '-') {
    const auto seconds = parse_number(value);
    if (!seconds) return std::nullopt;
    if (*seconds <= 0) return std::chrono::milliseconds(0);
    if (*seconds > 1e9) return std::chrono::milliseconds(static_cast<std::int64_t>(1e12));
    return std::chrono::milliseconds(static_cast<std::int64_t>(*seconds * 1000.0));
  }
  const auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

std::optional<std::chrono::milliseconds> parse_retry_after_ms(std::string_view value) {
  const auto ms = parse_number(trim(value));
  if (!ms) return std::nullopt;
  if (*ms <= 0) return std::chrono::milliseconds(0);
  if (*ms > 1e12) return std::chrono::milliseconds(static_cast<std::int64_t>(1e12));
  return std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (auto bare = parse_number(value)) {
    if (*bare < 0) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(*bare * 1000.0));
  }
  double total_ms = 0;
  while (!value.empty()) {
    std::size_t n = 0;
    while (n < value.size() &&
           (std::isdigit(static_cast<unsigned char>(value[n])) || value[n] == '.')) {
      ++n;
    }
    const auto number = parse_number(value.substr(0, n));
    if (!number) return std::nullopt;
    value.remove_prefix(n);
    std::size_t u = 0;
    while (u < value.size() && std::isalpha(static_cast<unsigned char>(value[u]))) ++u;
    const std::string_view unit = value.substr(0, u);
    value.remove_prefix(u);
    double scale = 0;
    if (unit == "h")
      scale = 3'600'000;
    else if (unit == "m")
      scale = 60'000;
    else if (unit == "s")
      scale = 1'000;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "us")
      scale = 0.001;
    else if (unit == "ns")
      scale = 0.000001;
    else
      return std::nullopt;
    total_ms += *number * scale;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms + 0.5));
}

std::optional<std::int64_t> parse_count(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc{} || end != value.data() + value.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace conclave::http
