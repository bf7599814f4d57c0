// A provider's wire format as a pure codec, with no I/O: a chat_request to an HTTP request;
// a status, headers and body to a chat_response or a typed error; SSE events to deltas and a
// response. One HTTP model shell (http_model.hpp) owns the call coroutine for every codec, so
// transport errors, deadlines, redaction and token estimates are written once.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/http/origin.hpp>
#include <conclave/http/sse_parser.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::provider {

/// What one SSE event carried, in owned strings, for the shell to hand on as chat_deltas
/// (after redacting them).
struct stream_pieces {
  struct tool_fragment {
    std::size_t index = 0;  ///< which call, in opening order (0-based)
    std::string id, name, arguments;
  };
  std::string text;
  std::string reasoning;
  std::vector<tool_fragment> tool_fragments;
  void clear() {
    text.clear();
    reasoning.clear();
    tool_fragments.clear();
  }
};

/// Turns the SSE events of one streamed reply into pieces and a final chat_response.
/// Sticky: once failed or done, later events change nothing.
class stream_decoder {
 public:
  enum class step { more, done, failed };
  virtual ~stream_decoder() = default;

  /// Handles one event; appends what it carries to `pieces`.
  virtual step on_event(const http::sse_event& event, stream_pieces& pieces) = 0;

  /// Whether the stream's end marker arrived (`[DONE]`, `message_stop`).
  virtual bool done() const noexcept = 0;
  /// Set once a step returned failed (an in-stream error event is one).
  virtual boost::system::error_code failure_code() const noexcept = 0;
  virtual const diagnostics& failure() const noexcept = 0;
  /// Whether the provider reported believable usage; when not, response().tokens is for the
  /// shell to estimate.
  virtual bool usage_reported() const noexcept = 0;
  /// The reply so far: whole after `done`, what arrived when cut short.
  virtual chat_response& response() = 0;
  /// The end marker's name, for "stream ended before ..." messages.
  virtual std::string_view end_marker() const noexcept = 0;
};

/// Settings of one model endpoint, as the shell holds them; the codec reads what it needs.
struct endpoint_settings {
  std::string api_key;        ///< empty: no credentials header
  std::string default_model;  ///< used when a request names none
};

/// One provider's wire format. Implementations are stateless (one instance serves every
/// call) and never throw for bad server input: that is a typed error with a message.
class codec {
 public:
  virtual ~codec() = default;

  /// "openai", "anthropic": the provider part of describe() and of model references.
  virtual std::string_view name() const noexcept = 0;

  /// Whether `req` can be sent at all (tool names, schemas, choices); false with `why` when
  /// not, and the call then fails as bad_request without being sent.
  virtual bool check(const chat_request& req, std::string& why) const = 0;

  /// Whether this call is streamed on the wire (Anthropic: always; deltas reach the caller
  /// only when it asked for a stream).
  virtual bool streams(const chat_request& req) const noexcept { return req.stream; }

  /// The HTTP request for `req`: target under `base`, credentials, content type, body.
  virtual http::request_message encode(const chat_request& req, const http::base_url& base,
                                       const endpoint_settings& settings, bool stream) const = 0;

  /// What any reply's head says: rate-limit readings (resets against `now`). The shell reads
  /// status, retry hints and request ids itself.
  virtual rate_limit_info read_limits(const http::header_fields& headers,
                                      std::chrono::system_clock::time_point now) const = 0;

  /// An error status's body into `diag` (message, provider code); returns the typed error
  /// (the status decides by default; a body may say more, e.g. overloaded).
  virtual boost::system::error_code decode_error(unsigned status, std::string_view body,
                                                 diagnostics& diag) const = 0;

  /// A whole 2xx JSON body into `out`; `usage_reported` says whether its counts are believable.
  virtual boost::system::error_code decode_reply(std::string_view body, chat_response& out,
                                                 bool& usage_reported) const = 0;

  /// A decoder for one streamed reply.
  virtual std::unique_ptr<stream_decoder> make_stream_decoder() const = 0;
};

}  // namespace conclave::provider
