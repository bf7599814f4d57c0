// Hands a stream's pieces on to the caller's delta handler, redacted: one scrubber for text
// and one for reasoning, so a key split across two pieces is still caught. Ids and names
// arrive whole and are redacted as they are. Tool-call arguments are JSON text, where a key
// can hide behind escapes that no byte scrubber sees: with a key set, each call's arguments
// are held and handed on whole at the end, redacted as JSON (scrub_arguments).
#pragma once

#include <conclave/engine/model.hpp>
#include <conclave/provider/codec.hpp>
#include <conclave/provider/scrub.hpp>

#include <string>
#include <vector>

namespace conclave::provider {

class delta_relay {
 public:
  delta_relay(const delta_handler& on_delta, const std::vector<std::string>& secrets,
              const text::redactor& redactor)
      : on_delta_(on_delta), redactor_(redactor), text_(secrets), reasoning_(secrets) {}

  /// Whether argument pieces are held to the end (a key is set).
  bool holds_arguments() const noexcept { return !redactor_.empty(); }

  void relay(stream_pieces& pieces) {
    if (!on_delta_) return;
    if (!pieces.text.empty()) emit_text(text_.push(pieces.text));
    if (!pieces.reasoning.empty()) emit_reasoning(reasoning_.push(pieces.reasoning));
    for (auto& f : pieces.tool_fragments) emit_fragment(f);
  }

  /// What the scrubbers held back, at the end of the stream (however it ended); held
  /// arguments come from `reply`'s tool calls, whole (none when the stream was cut short).
  void finish(const chat_message& reply) {
    if (!on_delta_) return;
    emit_text(text_.finish());
    emit_reasoning(reasoning_.finish());
    if (!holds_arguments()) return;
    std::size_t index = 0;
    for (auto& call : reply.tool_calls()) {
      std::string arguments = std::move(call.arguments);
      scrub_arguments(arguments, redactor_);
      on_delta_(tool_call_delta{index++, {}, {}, arguments});
    }
  }

 private:
  void emit_text(const std::string& piece) {
    if (!piece.empty()) on_delta_(text_delta{piece});
  }
  void emit_reasoning(const std::string& piece) {
    if (!piece.empty()) on_delta_(reasoning_delta{piece});
  }
  void emit_fragment(stream_pieces::tool_fragment& f) {
    for (auto* s : {&f.id, &f.name}) redactor_.apply_in_place(*s);
    if (holds_arguments()) f.arguments.clear();
    if (f.id.empty() && f.name.empty() && f.arguments.empty()) return;
    if (!text::is_valid_utf8(f.arguments)) f.arguments = text::to_valid_utf8(f.arguments);
    on_delta_(tool_call_delta{f.index, f.id, f.name, f.arguments});
  }

  const delta_handler& on_delta_;
  const text::redactor& redactor_;
  delta_scrubber text_;
  delta_scrubber reasoning_;
};

}  // namespace conclave::provider
