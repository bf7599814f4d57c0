// What the mock's faults say, decided with no socket: the reply text and finish reason the
// stop-reason faults and the echoing one shape, and the bodies a careless server sends back
// with the request's credential quoted in them.
#pragma once

#include <conclave/mock/scenario.hpp>

#include <string>

namespace conclave::mock::detail::faults {

/// The text and finish reason of a reply, as a fault shapes them.
struct reply_shape {
  std::string content;
  std::string finish_reason = "stop";
};

/// `text` as `f` would answer it ("length", "content_filter" with its first words, nothing, or
/// the Authorization header `auth` echoed); other faults leave it as it is.
reply_shape shape_reply(fault f, std::string text, const std::string& auth);

/// An OpenAI error body quoting the credential in its message and code.
std::string echo_error_body(const std::string& auth);

/// JSON cut short after a field that quotes the credential.
std::string echo_malformed_json(const std::string& id, const std::string& auth);

}  // namespace conclave::mock::detail::faults
