// Writing a request's JSON body without holding its text more times than it must: a prompt of
// thousands of decisions (heavy mode's synthesis) is hundreds of kilobytes, and each transient
// copy of it is part of the run's peak memory.
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>
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

}  // namespace conclave::provider
