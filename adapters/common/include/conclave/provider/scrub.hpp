// Provider text made safe at the adapter boundary. A server may echo the request's
// Authorization header back (in an error message, a code, a request-id header, a reply) and
// may send broken UTF-8: every adapter runs what it hands on through these, so no API key and
// no invalid byte gets past it into diagnostics, logs, events or the answer.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/text.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::provider {

/// Longest diag.message kept, in bytes (cut on a character boundary, "..." appended).
inline constexpr std::size_t max_diag_message = 2048;
/// Longest diag.provider_code, diag.request_id, model and finish_reason kept.
inline constexpr std::size_t max_diag_field = 256;

/// Redacts `secrets` from every provider-originated text of `r` (diag.message,
/// diag.provider_code, diag.request_id, content, model, finish_reason) and makes each valid
/// UTF-8 (U+FFFD for ill-formed bytes). All but `content` are also cut to the bounds above
/// (after redacting, so a cut never leaves half a key).
void scrub(chat_response& r, const text::redactor& secrets);

/// A tool call's arguments (JSON text) redacted as JSON: a key can hide behind escapes
/// ("\u0073k-..."), so the strings (keys included) are matched once unescaped, and the text
/// is re-serialised when one held a secret. Text that is not JSON is redacted as it is.
void scrub_arguments(std::string& arguments, const text::redactor& secrets);

/// The diagnostics part of the above.
void scrub(diagnostics& d, const text::redactor& secrets);

/// Streamed text on its way to a delta handler, redacted. A secret split across two deltas
/// is caught too: a tail that could be the start of a secret is held back until the next
/// delta shows whether it is. With no secrets, deltas pass through unchanged.
class delta_scrubber {
 public:
  /// Secrets the redactor ignores (too short, see text::redactor) are ignored here too.
  explicit delta_scrubber(const std::vector<std::string>& secrets);

  /// What may be passed on now (possibly empty: all of it held back).
  std::string push(std::string_view delta);
  /// The held-back rest, at the end of the stream (however it ended).
  std::string finish();

 private:
  std::size_t held_tail() const noexcept;

  text::redactor redactor_;
  std::vector<std::string> secrets_;
  std::string pending_;
};

}  // namespace conclave::provider
