// conclave::model over any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
// llama.cpp, Ollama, OpenRouter, the conclave mock...): the HTTP model shell with the
// chat-completions codec (wire.hpp).
#pragma once

#include <conclave/provider/http_model.hpp>

#include <chrono>
#include <string>

namespace conclave::openai {

struct openai_options {
  std::string base_url = "https://api.openai.com/v1";  ///< OPENAI_BASE_URL
  std::string api_key;  ///< sent as a Bearer token, never logged; empty: no Authorization
  std::string default_model = "gpt-4o-mini";           ///< used when a request names none
  std::chrono::milliseconds request_timeout{600'000};  ///< whole call, connect to last byte
};

/// See provider::http_model for the contract (redaction, deadlines, token estimates).
/// Throws std::invalid_argument (naming the setting, never quoting it) when `opts.base_url`
/// is not an http(s) URL, or api_key, default_model or base_url holds a control character.
class openai_model final : public provider::http_model {
 public:
  /// `client` carries the connections (shared by every model on it) and must outlive this.
  openai_model(http::client& client, openai_options opts);
};

}  // namespace conclave::openai
