// Writing a request's JSON body without holding its text more times than it must: a prompt of
// thousands of decisions (heavy mode's synthesis) is hundreds of kilobytes, and each transient
// copy of it is part of the run's peak memory.
#pragma once

#include <conclave/engine/chat.hpp>

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

/// Bytes of text in `messages`, plus room for the JSON around it: serialize_sized's size.
std::size_t expected_body_bytes(const std::vector<chat_message>& messages);

/// A request body's large texts (heavy mode's merge prompt: hundreds of kilobytes), written
/// into the body from where they are rather than copied into the JSON document first. The
/// document holds an empty string in each one's place, known by its address; small texts are
/// copied in as usual. The texts must outlive serialize().
class body_texts {
 public:
  /// Texts at least this long are written in place.
  static constexpr std::size_t in_place_bytes = 16 * 1024;

  /// Sets `slot` (a value inside the document) to `text`, or to its placeholder. Once set, the
  /// document may be moved into its parent (same storage) but not copied.
  void assign(boost::json::value& slot, std::string_view text);

  /// The body: `doc` with every placeholder written as its text (serialize_sized when there
  /// are none). A placeholder not found (the document was copied) is a bug: logic_error.
  std::string serialize(const boost::json::object& doc, std::size_t expected_bytes) const;

 private:
  std::vector<std::pair<const boost::json::value*, std::string_view>> texts_;
};

/// `s` as a JSON string literal (quotes included), escaped as Boost.JSON escapes: quote,
/// backslash and control characters; other bytes as they are.
void append_json_string(std::string& out, std::string_view s);

/// The size of append_json_string's output for `s`.
std::size_t json_string_bytes(std::string_view s);

}  // namespace conclave::provider
