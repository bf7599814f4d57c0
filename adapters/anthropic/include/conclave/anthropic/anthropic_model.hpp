// conclave::model over the Anthropic Messages API (or anything speaking it, such as the
// conclave mock's /v1/messages): the HTTP model shell with the Messages codec (wire.hpp).
#pragma once

#include <conclave/anthropic/wire.hpp>
#include <conclave/provider/http_model.hpp>

#include <chrono>
#include <string>

namespace conclave::anthropic {

struct anthropic_options {
  std::string base_url{
      default_base_url};  ///< ANTHROPIC_BASE_URL; requests go to {base}/v1/messages
  std::string api_key;    ///< sent as x-api-key, never logged; empty: no credentials header
  std::string default_model = "claude-sonnet-4-5";     ///< used when a request names none
  std::chrono::milliseconds request_timeout{600'000};  ///< whole call, connect to last byte
};

/// See provider::http_model for the contract (redaction, deadlines, token estimates). Every
/// call streams on the wire (deltas reach the caller only when it asked for a stream); an
/// in-stream `overloaded_error` after HTTP 200 fails the call as error::overloaded.
/// Throws std::invalid_argument (naming the setting, never quoting it) when `opts.base_url`
/// is not an http(s) URL, or api_key, default_model or base_url holds a control character.
class anthropic_model final : public provider::http_model {
 public:
  /// `client` carries the connections (shared by every model on it) and must outlive this.
  anthropic_model(http::client& client, anthropic_options opts);
};

}  // namespace conclave::anthropic
