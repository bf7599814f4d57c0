// What both wires require of the tools offered on a request, checked before anything is sent.
#pragma once

#include <conclave/engine/chat.hpp>

#include <string>

namespace conclave::provider {

/// Whether the request's tools can be sent: names non-empty, unique and within
/// `^[a-zA-Z0-9_-]{1,64}$` (OpenAI's rule, and Anthropic's), parameters a JSON object, a named
/// choice naming an offered tool, a required choice with a tool to call. False, with `why`,
/// when not (the call then fails as bad_request without being sent).
bool check_tools(const chat_request& req, std::string& why);

}  // namespace conclave::provider
