// Hands a stream's pieces on to the caller's delta handler, redacted: one scrubber for text,
// one for reasoning and one per tool call's arguments, so a key split across two pieces of
// the same kind is still caught. Ids and names arrive whole and are redacted as they are.
#pragma once

#include <conclave/engine/model.hpp>
#include <conclave/provider/codec.hpp>
#include <conclave/provider/scrub.hpp>

#include <map>
#include <string>
#include <vector>

namespace conclave::provider {

class delta_relay {
 public:
  delta_relay(const delta_handler& on_delta, const std::vector<std::string>& secrets,
              const text::redactor& redactor)
      : on_delta_(on_delta),
        secrets_(secrets),
        redactor_(redactor),
        text_(secrets),
        reasoning_(secrets) {}

  void relay(stream_pieces& pieces) {
    if (!on_delta_) return;
    if (!pieces.text.empty()) emit_text(text_.push(pieces.text));
    if (!pieces.reasoning.empty()) emit_reasoning(reasoning_.push(pieces.reasoning));
    for (auto& f : pieces.tool_fragments) emit_fragment(f);
  }

  /// What the scrubbers held back, at the end of the stream (however it ended).
  void finish() {
    if (!on_delta_) return;
    emit_text(text_.finish());
    emit_reasoning(reasoning_.finish());
    for (auto& [index, scrubber] : arguments_) {
      if (auto rest = scrubber.finish(); !rest.empty())
        on_delta_(tool_call_delta{index, {}, {}, rest});
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
    auto it = arguments_.try_emplace(f.index, secrets_).first;
    const std::string arguments = it->second.push(f.arguments);
    if (f.id.empty() && f.name.empty() && arguments.empty()) return;  // all held back
    on_delta_(tool_call_delta{f.index, f.id, f.name, arguments});
  }

  const delta_handler& on_delta_;
  const std::vector<std::string>& secrets_;
  const text::redactor& redactor_;
  delta_scrubber text_;
  delta_scrubber reasoning_;
  std::map<std::size_t, delta_scrubber> arguments_;
};

}  // namespace conclave::provider
