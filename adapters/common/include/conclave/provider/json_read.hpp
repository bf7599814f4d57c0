// Small readers of untrusted JSON that every wire codec shares: scratch memory for one parse,
// and field readers that take a server's word only when it has the expected type.
#pragma once

#include <conclave/engine/text.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace conclave::provider {

// Memory for one parse or build: events and replies are small, so a stack buffer usually
// holds all of it and Boost.JSON touches the heap only past it (measured on the OpenAI wire: ~30
// heap allocations per completion before).
struct scratch {
  alignas(std::max_align_t) unsigned char buffer[4096];
  boost::json::monotonic_resource resource{buffer, sizeof buffer};
  boost::json::storage_ptr storage() { return boost::json::storage_ptr(&resource); }
};

// Server text quoted in a message: valid UTF-8, at most ~512 bytes, cut on a character.
inline std::string cut(std::string_view s) { return text::quote(s, 512); }

inline const boost::json::string* string_in(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

inline std::string string_at(const boost::json::object& o, std::string_view key) {
  const auto* s = string_in(o, key);
  return s ? std::string(*s) : std::string();
}

inline const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

// A count as the server reported it, if it is one: a non-negative integer (past INT64_MAX it
// is pinned there; sums downstream saturate). Negative, fractional or quoted numbers are not.
inline std::optional<std::int64_t> count_of(const boost::json::value& v) {
  if (v.is_int64()) {
    if (v.get_int64() < 0) return std::nullopt;
    return v.get_int64();
  }
  if (v.is_uint64()) {  // Boost.JSON's type for integers past INT64_MAX
    return static_cast<std::int64_t>(std::min<std::uint64_t>(v.get_uint64(), INT64_MAX));
  }
  return std::nullopt;
}

// The count at `key`, if there is one (see count_of).
inline std::optional<std::int64_t> count_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? count_of(*v) : std::nullopt;
}

}  // namespace conclave::provider
