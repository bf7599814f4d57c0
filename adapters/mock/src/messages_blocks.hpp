// One entry of an Anthropic request's `messages`, read onto the mock's chat messages (used by
// parse_messages_request.cpp; see anthropic_request.hpp for the mapping).
#pragma once

#include <conclave/mock/anthropic_request.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace conclave::mock::detail {

/// `o[key]` when it is a string, else null.
const boost::json::string* string_field(const boost::json::object& o, std::string_view key);

/// Reads `messages[index]` (`last`: the final one, which may be an empty assistant prefill):
/// appends the messages it becomes to `out`, describes it in `turn`, and sets `cached` when a
/// block carries cache_control. False with `why` (Anthropic's wording) when it is malformed.
bool read_turn(const boost::json::value& m, std::size_t index, bool last,
               std::vector<chat_message>& out, wire_turn& turn, bool& cached, std::string& why);

}  // namespace conclave::mock::detail
