// Writing a request's JSON body without holding its text more times than it must: a prompt of
// thousands of decisions (heavy mode's synthesis) is hundreds of kilobytes, and each transient
// copy of it is part of the run's peak memory.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/json_string.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conclave::provider {

/// A message's text: its one text part as it is (no copy), or the parts joined into `joined`.
std::string_view text_of(const chat_message& m, std::string& joined);

/// `v` serialized into a string sized for `expected_bytes` up front (grown only if it is
/// short): Boost.JSON's serialize() grows its output by doubling, briefly holding a large
/// body one and a half times over.
std::string serialize_sized(const boost::json::object& v, std::size_t expected_bytes);

/// The JSON body of `req` as a codec writes it, about: serialize_sized's size. Its messages'
/// texts (escapes counted) and its tools, plus room for the JSON around them.
std::size_t expected_body_bytes(const chat_request& req);

/// A request body's large texts (heavy mode's merge prompt: hundreds of kilobytes), written
/// into the body from where they are rather than copied into the JSON document first. The
/// document holds an empty string in each one's place, known by its address; small texts are
/// copied in as usual. The texts must outlive serialize().
class body_texts {
 public:
  /// Texts at least this long are written in place.
  static constexpr std::size_t in_place_bytes = 16 * 1024;

  /// Sets `slot` (a value inside the document) to `text`, or to its placeholder, which is known
  /// by its address: set it as its object's last field (or reserve room for all of them first:
  /// an object that grows moves its fields), and move that object into its parent (same
  /// storage) rather than copy it. `text` must outlive serialize().
  void assign(boost::json::value& slot, std::string_view text);

  /// The body: `doc` with every placeholder written as its text (serialize_sized when there
  /// are none). A placeholder not found (the document was copied) is a bug: logic_error.
  std::string serialize(const boost::json::object& doc, std::size_t expected_bytes) const;

 private:
  std::vector<std::pair<const boost::json::value*, std::string_view>> texts_;
};

// append_json_string and json_string_bytes: <conclave/engine/json_string.hpp>.
using conclave::append_json_string;
using conclave::json_string_bytes;

}  // namespace conclave::provider
