// RFC 3339 timestamps ("2026-11-26T03:04:05Z", "2026-11-26T03:04:05.250+01:00"), as Anthropic
// sends its rate-limit resets. A pure parser: no locale, no time zone database, no timegm.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace conclave::anthropic {

/// The instant `value` names: `YYYY-MM-DD` `T` (or `t`, or one space) `hh:mm:ss`, optional
/// fraction (kept to the millisecond, further digits dropped), then `Z`, `z` or `+hh:mm` /
/// `-hh:mm`. The date must exist (Feb 29 only in leap years); a leap second (:60) counts as
/// the next second. Anything else, surrounding spaces included, gives nullopt.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view value);

/// How long from `now` until the instant `value` names, rounded up to the millisecond; an
/// instant already past gives 0. Malformed: nullopt.
std::optional<std::chrono::milliseconds> rfc3339_wait(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace conclave::anthropic
