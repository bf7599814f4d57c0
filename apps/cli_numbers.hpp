// Number checks for the programs' CLI11 flags, shared by conclave, conclave-mock and
// conclave-bench. CLI11 2.1.2 converts integers with strtoll base 0 ("010" would be 8), lets
// "1.5" through its NonNegativeNumber to the conversion, and prints DBL_MAX in range messages;
// these say plainly what was expected and what came.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <limits>
#include <string>

namespace conclave::apps {

/// A whole number from `min` to `max`, in decimal, passed on normalised.
inline CLI::Validator whole_number(long long min, long long max, std::string name) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        long long v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max) {
          return "needs a whole number " +
                 (max == std::numeric_limits<long long>::max()
                      ? "of at least " + std::to_string(min)
                      : "from " + std::to_string(min) + " to " + std::to_string(max)) +
                 ", got '" + text + "'";
        }
        text = std::to_string(v);
        return {};
      },
      std::move(name));
}

/// A number > 0 of type T ("needs a number > 0, got '-2'").
template <typename T>
CLI::Validator positive(const char* what) {
  return CLI::Validator(
      [what](std::string& in) -> std::string {
        T v{};
        auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), v);
        if (ec != std::errc{} || end != in.data() + in.size() || !(v > 0)) {
          return std::string("needs ") + what + ", got '" + in + "'";
        }
        return {};
      },
      what);
}

}  // namespace conclave::apps
