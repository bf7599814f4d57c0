// The OpenAI-compatible wire of `conclave serve`, Responses API side (POST /v1/responses): the
// request parser, the streamed events and the non-streamed response object. Shapes as the
// official SDKs read them (openai-python `types/responses/*`, openai-node's stream
// accumulator): one reasoning item (id "rs_…") whose summary part carries the progress, then
// one message item (id "msg_…") with one output_text part carrying the answer. Pure, no I/O;
// not thread-safe (one responses_stream per response).
#pragma once

#include <conclave/serve/openai_compat.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace conclave::serve {

/// POST /v1/responses' body: `model`, `input` (a string, or message items {"role","content"}
/// with content a string or input_text / output_text parts; `reasoning` items are dropped),
/// `instructions` (joined to the system text first), `stream`, `max_output_tokens`,
/// `temperature`, `reasoning_format`. Refused, each naming its param: `tools` / `tool_choice`
/// (400 "tools"), `previous_response_id` and `conversation` (responses are not stored),
/// `background`, image and file parts and function-call items ("input"), and the errors of
/// parse_chat_request (404 model_not_found, 400 context_length_exceeded). The `reasoning`
/// config object, `store`, `metadata` and other fields heavy mode does not use are ignored.
std::variant<heavy_request, wire_error> parse_responses_request(std::string_view body,
                                                                const model_limits& limits);

/// The events of one streamed response, each frame "event: <type>\ndata: {json}\n\n" with
/// `type` and `sequence_number` (0, 1, 2... over the stream). Call created() first, then
/// reasoning() and output_text() as text comes, then completed() or failed(); each returns the
/// frames to send (several at once when items open or close; "" when there is nothing).
class responses_stream {
 public:
  /// `id` "resp_…"; the items' ids are "rs_" and "msg_" followed by what follows "resp_".
  responses_stream(std::string id, std::string model, std::int64_t created_at);

  /// response.created and response.in_progress (status in_progress, output []).
  std::string created();
  /// On first use response.output_item.added (the reasoning item) and
  /// response.reasoning_summary_part.added; then response.reasoning_summary_text.delta.
  /// Dropped ("") once the answer began, after the end, and for empty text.
  std::string reasoning(std::string_view text);
  /// Closes the reasoning item (reasoning_summary_text.done, reasoning_summary_part.done,
  /// output_item.done), on first use opens the message (output_item.added,
  /// content_part.added), then response.output_text.delta.
  std::string output_text(std::string_view text);
  /// Closes what is open (the message, opened empty if no text came: output_text.done,
  /// content_part.done, output_item.done), then response.completed with the whole response:
  /// every item, the accumulated texts and usage. `incomplete`: status "incomplete" with
  /// incomplete_details {reason: "max_output_tokens"} (the answer was cut), the event is then
  /// response.incomplete.
  std::string completed(std::int64_t input_tokens, std::int64_t output_tokens,
                        bool incomplete = false);
  std::string completed(const conclave::usage& tokens, bool incomplete = false);
  /// response.failed: status "failed", error {code, message} (code "server_error" unless the
  /// error names one; "rate_limit_exceeded" for 429), the items so far as "incomplete".
  std::string failed(const wire_error& e);
  /// An `error` event {code, message, param}: for a failure that is no response's, such as a
  /// refusal after the stream began. The caller closes after it.
  std::string error(const wire_error& e);
  /// ": keep-alive\n\n", an SSE comment clients skip.
  static std::string keepalive();

  bool finished() const noexcept { return finished_; }

 private:
  std::string event(boost::json::object o);
  std::string close_reasoning();
  std::string open_message();
  std::string close_message();
  boost::json::object response(std::string_view status) const;
  boost::json::object reasoning_item(std::string_view status) const;
  boost::json::object message_item(std::string_view status) const;

  std::string id_, model_, rs_id_, msg_id_;
  std::int64_t created_at_;
  std::int64_t seq_ = 0;
  std::string reasoning_text_, answer_;
  enum class item { none, open, done };
  item reasoning_ = item::none, message_ = item::none;
  bool finished_ = false;
};

/// The non-streamed response: status "completed" (or "incomplete" as above), output [reasoning
/// item when `reasoning` is not empty, message item], usage {input_tokens, output_tokens,
/// total_tokens, input_tokens_details.cached_tokens, output_tokens_details.reasoning_tokens}.
std::string response_object(std::string_view id, std::string_view model, std::int64_t created_at,
                            std::string_view answer, std::string_view reasoning,
                            std::int64_t input_tokens, std::int64_t output_tokens,
                            bool incomplete = false);

}  // namespace conclave::serve
