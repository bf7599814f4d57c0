// How the mock plays the Anthropic wire, decided with no socket: thinking blocks, their
// signatures and Anthropic's check that a tool loop replays them, the pause, and which blocks
// and stop reason a request's reply holds.
#pragma once

#include <conclave/mock/anthropic_replies.hpp>
#include <conclave/mock/anthropic_request.hpp>
#include <conclave/mock/tool_play.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace conclave::mock::anthropic {

/// Whether a request's reply starts with a thinking block: the model is "mock-think" or
/// "mock-think-tools...", or the request enables `thinking`.
bool thinks(const messages_request& req);

/// The thinking the mock writes: about the subject, and the tools it is about to call
/// (`calls` null: it answers in text). Deterministic.
std::string thinking_text(const incoming_request& req, const tool_turn* calls);

/// The signature of a thinking text: a keyed hash (64 hex digits), stable across runs, so a
/// replayed block verifies only with its text unchanged.
std::string thinking_signature(std::string_view thinking);

/// Anthropic's check of a thinking request's history: every thinking block replayed with the
/// signature of its text (a redacted block never verifies: the mock writes none), and when the
/// request answers tool calls, the assistant turn that made them starts with a thinking block.
/// nullopt when it holds, else the 400's message naming the block.
std::optional<std::string> check_thinking_replay(const messages_request& req);

/// Whether mock-pause pauses this request: its last message is not the assistant's (one that
/// is asks to continue a paused turn, which then gets the normal reply).
bool pauses(const incoming_request& req);

/// What the reply to `req` holds, `turn` being the tool turn it plays (nullopt: text), `text`
/// the final text, `f` the fault (the stop-reason ones shape it: length -> max_tokens,
/// filtered -> refusal with the first words, empty -> no blocks, paused -> the first half then
/// pause_turn, echo-stream -> the credential `auth` quoted in two pieces). A text reply longer
/// than max_tokens is cut there (max_tokens). Tool ids are "toolu_mock_N". The usage counts
/// about 4 bytes a token; the messages under a cache_control breakpoint are reported as read
/// from the cache. `id` and `model` are left for the caller.
reply plan_reply(const messages_request& req, fault f, const std::optional<tool_turn>& turn,
                 const std::string& text, const std::string& auth);

}  // namespace conclave::mock::anthropic
