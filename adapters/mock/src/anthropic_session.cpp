// The Anthropic side of a connection: the checks Anthropic makes before a call (credential,
// anthropic-version, the body, replayed thinking), the rate-limit headers, the faults in
// Anthropic's shapes (529 overloaded_error, the in-stream `error` event), and the reply as a
// whole message or its SSE events. What the reply holds is decided in anthropic_play.cpp.
#include "anthropic_session.hpp"

#include "openai_replies.hpp"

#include <conclave/mock/anthropic_play.hpp>
#include <conclave/mock/anthropic_replies.hpp>
#include <conclave/mock/anthropic_request.hpp>
#include <conclave/mock/tool_play.hpp>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace conclave::mock::detail {
namespace {

using anthropic::error_body;
using anthropic::error_event;
using anthropic::event_bytes;

// Nominal limits, reported when the mock enforces none (Anthropic always sends them).
constexpr std::int64_t nominal_requests = 4'000;
constexpr std::int64_t nominal_input_tokens = 400'000;
constexpr std::int64_t nominal_output_tokens = 80'000;

anthropic::limit_reading limits_now(const server_state& st,
                                    const std::optional<server_state::admission>& admitted,
                                    std::int64_t input_tokens, std::int64_t max_tokens) {
  anthropic::limit_reading l;
  if (admitted) {
    l.requests_limit = static_cast<std::int64_t>(st.opts.rate_limit_requests);
    l.requests_remaining = admitted->allowed ? admitted->remaining : 0;
    l.requests_reset = admitted->reset;
  } else {
    l.requests_limit = nominal_requests;
    l.requests_remaining = nominal_requests - 1;
  }
  // Anthropic counts output against max_tokens when the call starts.
  l.input_tokens_limit = nominal_input_tokens;
  l.input_tokens_remaining = std::max<std::int64_t>(0, nominal_input_tokens - input_tokens);
  l.output_tokens_limit = nominal_output_tokens;
  l.output_tokens_remaining = std::max<std::int64_t>(0, nominal_output_tokens - max_tokens);
  return l;
}

// A streamed reply. The faults that replace the content strike after message_start; the
// mid-stream ones after the first content delta (echo-stream: the second), and the stream
// then ends with no message_stop and the connection closes.
asio::awaitable<next> stream_reply(server_state& st, responder& out, const anthropic::reply& r,
                                   fault f, const std::string& auth) {
  const auto events = anthropic::message_events(r, st.opts.words_per_chunk, f == fault::drip);
  const auto interval = f == fault::drip ? st.opts.drip_interval : st.opts.stream_interval;
  const std::size_t strike_at = f == fault::echo_stream ? 2 : 1;
  const std::string echoed = "invalid x-api-key: " + auth;
  if (!co_await out.start_stream()) co_return next::abort;
  auto broken_end = [&](std::string last) -> asio::awaitable<next> {
    if (!last.empty() && !co_await out.chunk(last)) co_return next::abort;
    co_return co_await out.end_stream_and_close();
  };
  std::size_t deltas = 0;
  for (const auto& e : events) {
    const bool is_delta = e.type == "content_block_delta";
    if (is_delta && deltas > 0) co_await pause(interval);
    if (!co_await out.chunk(e.bytes)) co_return next::abort;
    if (e.type == "message_start" && f == fault::echo_200_error) {
      co_return co_await broken_end(error_event("authentication_error", echoed));
    }
    if (e.type == "message_start" && f == fault::echo_malformed) {
      co_return co_await broken_end(event_bytes(
          "content_block_delta",
          "{\"type\": \"content_block_delta\", \"auth\": " + replies::json_string(auth) + ", "));
    }
    if (!is_delta || ++deltas != strike_at) continue;
    switch (f) {
      case fault::reset:
        co_return co_await out.reset();
      case fault::truncated:
        co_return co_await broken_end("");
      case fault::malformed:
        co_return co_await broken_end(
            event_bytes("content_block_delta",
                        "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": "));
      case fault::error_event:
        co_return co_await broken_end(error_event("overloaded_error", "Overloaded"));
      case fault::echo_stream:
        co_return co_await broken_end(error_event("authentication_error", echoed));
      default:
        break;
    }
  }
  if (f == fault::none) ++st.completions;
  co_return co_await out.end_stream();
}

}  // namespace

asio::awaitable<next> answer_messages(server_state& st, http::exchange& ex) {
  responder out(ex);
  const request_t& req = ex.request();
  out.add_common_header("request-id", out.request_id());
  // Named, not braced in the co_await: GCC 12 miscompiles initializer lists held across it.
  responder::header_list headers;
  if (req.method() != bhttp::verb::post) {
    co_return co_await out.json(405,
                                error_body("invalid_request_error", "Use POST", out.request_id()));
  }
  ++st.anthropic_calls;
  // The key as x-api-key, or as a bearer token (what @anthropic-ai/sdk 1.x sends for apiKey).
  const std::string_view key = req["x-api-key"];
  const std::string_view bearer = req[bhttp::field::authorization];
  const auto& wanted = st.opts.required_api_key;
  if (!wanted.empty() && key != wanted && bearer != "Bearer " + wanted) {
    co_return co_await out.json(
        401, error_body("authentication_error",
                        key.empty() && bearer.empty() ? "x-api-key header is required"
                                                      : "invalid x-api-key",
                        out.request_id()));
  }
  if (req["anthropic-version"].empty()) {
    co_return co_await out.json(
        400, error_body("invalid_request_error", "anthropic-version: header is required",
                        out.request_id()));
  }
  messages_request m;
  std::string why;
  std::optional<tool_mode> mode;
  if (!parse_messages_request(req.body(), m, why) ||
      !(mode = tool_mode_from_model(m.in.model, why))) {
    co_return co_await out.json(400, error_body("invalid_request_error", why, out.request_id()));
  }
  const incoming_request& in = m.in;

  const auto admitted = st.admit(std::chrono::steady_clock::now());
  const auto input_tokens = count_usage(in, "").prompt_tokens;
  for (auto& h : anthropic::ratelimit_headers(limits_now(st, admitted, input_tokens, m.max_tokens),
                                              std::chrono::system_clock::now())) {
    out.add_common_header(std::move(h.first), std::move(h.second));
  }
  if (admitted && !admitted->allowed) {
    headers = {{"retry-after", std::to_string((admitted->retry_after.count() + 999) / 1000)}};
    co_return co_await out.json(429,
                                error_body("rate_limit_error",
                                           "This request would exceed your rate limit of " +
                                               std::to_string(st.opts.rate_limit_requests) +
                                               " requests per window (enforced by the mock).",
                                           out.request_id()),
                                std::move(headers));
  }
  // The credential the echo faults send back; never empty, so an echo is always visible.
  std::string auth(key.empty() ? bearer : key);
  if (auth.empty()) auth = "(no x-api-key header)";
  fault f = fault_from_model(in.model);
  if (f == fault::none) f = st.draw_fault();
  if (f != fault::none) st.count_fault(f);
  if (f == fault::hang) co_return co_await out.hang();
  co_await pause(st.next_latency());

  const auto retry_ms = st.opts.retry_after;
  switch (f) {
    case fault::rate_limited: {
      auto l = limits_now(st, std::nullopt, input_tokens, m.max_tokens);
      l.requests_remaining = 0;
      l.requests_reset = retry_ms;
      headers = anthropic::ratelimit_headers(l, std::chrono::system_clock::now());
      headers.emplace_back("retry-after", std::to_string((retry_ms.count() + 999) / 1000));
      co_return co_await out.json(
          429,
          error_body("rate_limit_error",
                     "This request would exceed the rate limit for your organization of " +
                         std::to_string(nominal_requests) + " requests per minute (mock).",
                     out.request_id()),
          std::move(headers));
    }
    case fault::server_error:
      co_return co_await out.json(
          500, error_body("api_error", "Internal server error", out.request_id()));
    case fault::unavailable:
    case fault::overloaded:
      co_return co_await out.json(529,
                                  error_body("overloaded_error", "Overloaded", out.request_id()));
    case fault::echo_401:
      headers = {{"request-id", auth}};
      co_return co_await out.json(
          401, error_body("authentication_error", "invalid x-api-key: " + auth, auth),
          std::move(headers));
    case fault::echo_text:
      headers = {{"request-id", auth}};
      co_return co_await out.send(500, "text/plain; charset=utf-8",
                                  "upstream refused the request with x-api-key: " + auth + "\n",
                                  std::move(headers));
    case fault::html:
      co_return co_await out.send(
          200, "text/html; charset=utf-8",
          "<!doctype html>\n<html><body><h1>Sign in to continue</h1></body></html>\n");
    case fault::early_hints:
      if (!co_await out.early_hints()) co_return next::abort;
      break;
    default:
      break;
  }

  if (anthropic::thinks(m)) {
    if (auto bad = anthropic::check_thinking_replay(m)) {
      co_return co_await out.json(400, error_body("invalid_request_error", *bad, out.request_id()));
    }
  }
  // Tool turns go through the transport faults; the faults that shape text answer in text.
  const bool plays_tools = f == fault::none || f == fault::early_hints || f == fault::drip ||
                           f == fault::reset || f == fault::truncated || f == fault::malformed ||
                           f == fault::error_event ||
                           (f == fault::paused && !anthropic::pauses(in));
  const auto turn = plays_tools ? play_tools(in, *mode) : std::nullopt;
  // A paused turn's continuation says the rest of the same words: worked out from the
  // conversation without the turn sent back.
  incoming_request basis = in;
  if (f == fault::paused && !anthropic::pauses(in)) basis.messages.pop_back();
  auto reply = anthropic::plan_reply(
      m, f, turn, with_tool_results(in, reply_text(basis, st.opts.reply_words)), auth);
  reply.id = "msg_" + out.request_id().substr(4);  // "req_mock_7" -> "msg_mock_7"
  reply.model = in.model;
  if (in.stream) co_return co_await stream_reply(st, out, reply, f, auth);

  if (f == fault::echo_200_error) {
    co_return co_await out.json(
        200, error_body("authentication_error", "invalid x-api-key: " + auth, out.request_id()));
  }
  if (f == fault::echo_malformed) {
    co_return co_await out.json(200, "{\"id\": \"" + reply.id + "\", \"auth\": " +
                                         replies::json_string(auth) + ", \"content\": [");
  }
  std::string body = anthropic::message_body(reply);
  if (f == fault::malformed) body = body.substr(0, body.size() / 2);  // cut JSON, honest length
  if (f == fault::reset || f == fault::truncated || f == fault::drip) {
    co_return co_await out.broken_json(std::move(body), f, st.opts.drip_interval);
  }
  if (f == fault::none) ++st.completions;
  co_return co_await out.json(200, std::move(body));
}

}  // namespace conclave::mock::detail
