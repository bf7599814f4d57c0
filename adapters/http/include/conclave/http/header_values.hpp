// Parsers for header values that carry time: Retry-After (RFC 9110), retry-after-ms, and the
// Go-style durations of OpenAI's x-ratelimit-reset-* ("6m0s", "12ms"). Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace conclave::http {

/// Retry-After: delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", also
/// the obsolete RFC 850 and asctime forms), relative to `now`. A date in the past or a negative
/// number gives 0. Malformed or empty: nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

/// retry-after-ms: a non-negative number of milliseconds, fractions allowed ("250", "12.5").
/// Negative values give 0; malformed: nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after_ms(std::string_view value);

/// A duration like "1s", "6m0s", "1h2m3.5s", "12ms", "250us". A bare number is seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view value);

/// An HTTP-date in any of the three forms RFC 9110 accepts; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value);

/// A non-negative decimal integer, the whole value; nullopt otherwise.
std::optional<std::int64_t> parse_count(std::string_view value);

}  // namespace conclave::http
