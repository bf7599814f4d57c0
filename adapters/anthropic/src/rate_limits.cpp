// anthropic-ratelimit-* response headers into the provider-neutral rate_limit_info.
#include <conclave/anthropic/rfc3339.hpp>
#include <conclave/anthropic/wire.hpp>
#include <conclave/http/header_values.hpp>

#include <optional>
#include <string>

namespace conclave::anthropic {
namespace {

// One family's limit, remaining and reset ("anthropic-ratelimit-<family>-<part>").
struct reading {
  std::optional<std::int64_t> limit, remaining;
  std::optional<std::chrono::milliseconds> reset;
  bool any() const noexcept { return limit || remaining || reset; }
};

reading read_family(const http::header_fields& h, std::string_view family,
                    std::chrono::system_clock::time_point now) {
  const std::string prefix = "anthropic-ratelimit-" + std::string(family) + "-";
  auto value = [&](const char* part) -> std::optional<std::string_view> {
    auto it = h.find(prefix + part);
    if (it == h.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  };
  reading r;
  if (auto v = value("limit")) r.limit = http::parse_count(*v);
  if (auto v = value("remaining")) r.remaining = http::parse_count(*v);
  if (auto v = value("reset")) r.reset = rfc3339_wait(*v, now);
  return r;
}

}  // namespace

rate_limit_info decode_rate_limits(const http::header_fields& headers,
                                   std::chrono::system_clock::time_point now) {
  rate_limit_info info;
  const reading requests = read_family(headers, "requests", now);
  info.limit_requests = requests.limit;
  info.remaining_requests = requests.remaining;
  info.reset_requests = requests.reset;

  reading tokens = read_family(headers, "tokens", now);
  if (!tokens.any()) {
    // Input and output tokens are limited apart; the one with less left stops us first. With
    // one remaining unknown, the known one decides.
    const reading in = read_family(headers, "input-tokens", now);
    const reading out = read_family(headers, "output-tokens", now);
    if (in.remaining && out.remaining) {
      tokens = *out.remaining < *in.remaining ? out : in;
    } else {
      tokens = out.remaining ? out : in;
    }
  }
  info.limit_tokens = tokens.limit;
  info.remaining_tokens = tokens.remaining;
  info.reset_tokens = tokens.reset;
  return info;
}

}  // namespace conclave::anthropic
