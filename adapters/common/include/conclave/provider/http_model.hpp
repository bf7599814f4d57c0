// conclave::model over HTTP for any provider codec: the one call coroutine every wire format
// shares (deadlines, transport errors, content-type checks, redaction, token estimates,
// streaming with deltas). The codec (codec.hpp) only says what goes on the wire and what the
// reply means.
#pragma once

#include <conclave/engine/model.hpp>
#include <conclave/provider/codec.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace conclave::http {
class client;
}

namespace conclave::provider {

struct http_model_options {
  std::string base_url;       ///< e.g. "https://api.openai.com/v1", "https://api.anthropic.com"
  std::string api_key;        ///< sent as the codec sends credentials, never logged
  std::string default_model;  ///< used when a request names none
  std::chrono::milliseconds request_timeout{600'000};  ///< whole call, connect to last byte
};

/// Replies are scrubbed at this boundary (scrub.hpp): the API key is redacted from everything
/// the server sends back, deltas included, and every text is valid UTF-8. A request's
/// `deadline`, when sooner than `request_timeout`, bounds the call. Failed and cut calls
/// still carry tokens: reported ones, else estimates (never zero).
///
/// Streamed tool calls: with an API key set, a call's arguments are handed on whole at the
/// end of the stream, redacted as JSON (a key may hide behind JSON escapes, which no piece by
/// piece scrubber sees); ids and names come as they arrive. With no key, pieces as they come.
class http_model : public model {
 public:
  /// `client` carries the connections (shared by every model on it) and must outlive this;
  /// `wire` must too (codecs are static singletons). Throws std::invalid_argument (naming the
  /// setting, never quoting it) when `opts.base_url` is not an http(s) URL, or api_key,
  /// default_model or base_url holds a control character.
  http_model(http::client& client, const codec& wire, http_model_options opts);
  ~http_model() override;

  /// "<codec>:<default model>@<origin>", e.g. "anthropic:claude-sonnet-4-5@https://...:443".
  std::string describe() const override;
  boost::asio::any_io_executor get_executor() const override;
  const codec& wire() const noexcept;

 protected:
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace conclave::provider
