// conclave::model over any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
// llama.cpp, Ollama, the conclave mock...).
#pragma once

#include <conclave/engine/model.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace conclave::http {
class client;
}

namespace conclave::openai {

struct openai_options {
  std::string base_url = "https://api.openai.com/v1";  ///< OPENAI_BASE_URL
  std::string api_key;  ///< sent as a Bearer token, never logged; empty: no Authorization
  std::string default_model = "gpt-4o-mini";           ///< used when a request names none
  std::chrono::milliseconds request_timeout{600'000};  ///< whole call, connect to last byte
};

/// Replies are scrubbed at this boundary (provider::scrub): the API key is redacted from
/// everything the server sends back, deltas included, and every text is valid UTF-8. A
/// request's `deadline`, when sooner than `request_timeout`, bounds the call.
class openai_model final : public model {
 public:
  /// `client` carries the connections (shared by every model on it) and must outlive this.
  /// Throws std::invalid_argument (naming the setting, never quoting it) when `opts.base_url`
  /// is not an http(s) URL, or api_key, default_model or base_url holds a control character.
  openai_model(http::client& client, openai_options opts);
  ~openai_model() override;

  std::string describe() const override;
  boost::asio::any_io_executor get_executor() const override;

 protected:
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace conclave::openai
