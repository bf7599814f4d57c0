#include "fault_replies.hpp"

#include "openai_replies.hpp"

namespace conclave::mock::detail::faults {

namespace {

std::string first_words(const std::string& text, int words) {
  std::size_t end = 0;
  for (int w = 0; w < words && end != std::string::npos; ++w) end = text.find(' ', end + 1);
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

reply_shape shape_reply(fault f, std::string text, const std::string& auth) {
  switch (f) {
    case fault::length:
      return {std::move(text), "length"};
    case fault::filtered:
      return {first_words(text, 4), "content_filter"};
    case fault::empty:
      return {"", "stop"};
    case fault::echo_stream:
      return {"Your header was: " + auth + " (echoed).", "stop"};
    default:
      return {std::move(text), "stop"};
  }
}

std::string echo_error_body(const std::string& auth) {
  return replies::error_body("Incorrect API key provided: " + auth + ".", "invalid_request_error",
                             auth);
}

std::string echo_malformed_json(const std::string& id, const std::string& auth) {
  return "{\"id\": \"" + id + "\", \"auth\": " + replies::json_string(auth) + ", \"choices\": [";
}

}  // namespace conclave::mock::detail::faults
