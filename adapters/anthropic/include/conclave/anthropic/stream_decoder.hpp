// The SSE events of one streamed Anthropic Messages reply, turned into stream pieces and a
// final chat_response with no I/O.
#pragma once

#include <conclave/anthropic/reply_parts.hpp>
#include <conclave/provider/codec.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::anthropic {

/// Reads `message_start`, `content_block_start` / `_delta` / `_stop`, `message_delta` and
/// `message_stop` (the end marker: done). The `type` inside each event's JSON data decides,
/// not the SSE `event:` line. `ping` and event types it does not know are ignored (forward
/// compatibility); so are deltas of types it does not know and blocks of unknown types.
///
/// Pieces handed out: text deltas as text, thinking deltas as reasoning, a tool_use block's
/// start as a tool fragment (index = its place among the tool_use blocks, in opening order,
/// not the content block index) with id and name, and each input_json_delta as a fragment of
/// that call's arguments.
///
/// Fails (sticky) with the mapped error on an `error` event, even after HTTP 200 (an overload
/// is error::overloaded, retryable, never a success); with error::bad_response on data that
/// is not a JSON object, a delta or stop for a block never started (or already stopped), a
/// delta whose type does not fit its block, a block index started twice, and past the bounds
/// of reply_parts.hpp. Usage is cumulative: each report overwrites the counts it carries.
///
/// Not thread-safe: one decoder belongs to one streamed call.
class stream_decoder final : public provider::stream_decoder {
 public:
  step on_event(const http::sse_event& event, provider::stream_pieces& pieces) override;

  bool done() const noexcept override { return done_; }
  boost::system::error_code failure_code() const noexcept override { return error_; }
  const diagnostics& failure() const noexcept override { return failure_; }
  bool usage_reported() const noexcept override { return counts_.believable(); }
  /// Whole after done; cut short, the text and reasoning that arrived (no tool calls).
  chat_response& response() override;
  std::string_view end_marker() const noexcept override { return "message_stop"; }

 private:
  step fail(conclave::error e, std::string message);
  step on_message_start(const boost::json::object& data);
  step on_block_start(const boost::json::object& data, provider::stream_pieces& pieces);
  step on_block_delta(const boost::json::object& data, provider::stream_pieces& pieces);
  step on_block_stop(const boost::json::object& data);
  step on_message_delta(const boost::json::object& data);
  step on_message_stop();
  step on_error(const boost::json::object& data);
  // The open block the event's `index` names, or nullptr after failing with `why_not`.
  content_block* open_block(const boost::json::object& data, std::string& why_not);

  chat_response response_;
  std::vector<content_block> blocks_;
  std::size_t tool_uses_ = 0;  // tool_use blocks opened so far
  usage_counts counts_;
  diagnostics failure_;
  boost::system::error_code error_;
  bool done_ = false;
};

}  // namespace conclave::anthropic
