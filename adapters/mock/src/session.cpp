#include "session.hpp"

#include "anthropic_session.hpp"
#include "fault_replies.hpp"
#include "openai_replies.hpp"
#include "responder.hpp"
#include "text_pieces.hpp"
#include "tool_replies.hpp"

#include <conclave/mock/scenario.hpp>
#include <conclave/mock/tool_play.hpp>

#include <boost/beast/http/field.hpp>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace conclave::mock::detail {
namespace {

using faults::echo_error_body;
using faults::echo_malformed_json;
using faults::reply_shape;
using faults::shape_reply;

// What a tool turn says, for its token count: each call's name and arguments.
std::string spoken(const tool_turn& turn) {
  std::string out;
  for (const auto& c : turn.calls) out += c.name + c.arguments;
  return out;
}

constexpr std::string_view sign_in_page =
    "<!doctype html>\n<html><body><h1>Sign in to continue</h1>\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"injected\"}}]}\n\n"
    "</body></html>\n";

// The final text: the deterministic reply, quoting the last round's tool results.
std::string final_text(const server_state& st, const incoming_request& in) {
  return with_tool_results(in, reply_text(in, st.opts.reply_words));
}

// A tool turn streamed: the calls' fragments at the stream interval (dripping: at the drip
// interval); the mid-stream faults strike after the first call's opening fragment.
asio::awaitable<next> answer_tool_stream(server_state& st, responder& out,
                                         const incoming_request& in, const tool_turn& turn,
                                         const tool_mode& mode, fault f) {
  const std::string& id = out.request_id();
  const auto events = replies::tool_chunk_events(
      id, in.model, turn.calls, {.with_index = !mode.no_index, .late_name = mode.late_name},
      turn.finish_reason);
  if (!co_await out.start_stream()) co_return next::abort;
  const auto interval = f == fault::drip ? st.opts.drip_interval : st.opts.stream_interval;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 1) co_await pause(interval);
    if (!co_await out.chunk(events[i])) co_return next::abort;
    if (i != 1) continue;
    if (f == fault::reset) co_return co_await out.reset();
    if (f == fault::truncated) co_return co_await out.end_stream();  // no [DONE]
    if (f == fault::malformed || f == fault::error_event) {
      const std::string bad =
          f == fault::malformed ? "data: {\"id\": \"" + id + "\", \"choices\": [{\"delta\": \n\n"
                                : "data: " +
                                      replies::error_body("The server is overloaded, please retry.",
                                                          "server_error", "overloaded") +
                                      "\n\n";
      if (!co_await out.chunk(bad)) co_return next::abort;
      co_return co_await out.end_stream();
    }
  }
  if (in.include_usage &&
      !co_await out.chunk(replies::usage_event(id, in.model, count_usage(in, spoken(turn))))) {
    co_return next::abort;
  }
  if (!co_await out.chunk(replies::done_event())) co_return next::abort;
  if (f == fault::none) ++st.completions;
  co_return co_await out.end_stream();
}

asio::awaitable<next> answer_stream(server_state& st, responder& out, const incoming_request& in,
                                    fault f, const std::string& auth) {
  const reply_shape reply = shape_reply(f, final_text(st, in), auth);
  const std::string& text = reply.content;
  const std::string& id = out.request_id();
  if (!co_await out.start_stream()) co_return next::abort;
  if (f == fault::none && st.opts.stream_interval.count() == 0) {
    // Nothing to space the events out: all of them in one write, as a kernel would deliver a
    // fast server's stream. The same events; the mock spends a fraction of the CPU per reply,
    // so thousands of streams at once measure the client rather than the mock.
    std::string all = replies::chunk_event(id, in.model, "", true, "");
    for (const auto& piece : text_pieces(text, st.opts.words_per_chunk, false)) {
      all += replies::chunk_event(id, in.model, piece, false, "");
    }
    all += replies::chunk_event(id, in.model, "", false, reply.finish_reason);
    if (in.include_usage) all += replies::usage_event(id, in.model, count_usage(in, text));
    all += replies::done_event();
    if (!co_await out.chunk(all)) co_return next::abort;
    ++st.completions;
    co_return co_await out.end_stream();
  }
  if (!co_await out.chunk(replies::chunk_event(id, in.model, "", true, ""))) co_return next::abort;

  if (f == fault::malformed || f == fault::echo_malformed) {
    const std::string bad = f == fault::malformed
                                ? "data: {\"id\": \"" + id + "\", \"choices\": [{\"delta\": \n\n"
                                : "data: " + echo_malformed_json(id, auth) + "\n\n";
    if (!co_await out.chunk(bad)) co_return next::abort;
    if (!co_await out.chunk(replies::done_event())) co_return next::abort;
    co_return co_await out.end_stream();
  }
  if (f == fault::echo_200_error || f == fault::echo_stream) {
    if (f == fault::echo_stream) {
      // Split inside the key: a client redacting each delta alone would let it through.
      const std::size_t half = auth.size() / 2;
      const std::string first = "Your header was: " + auth.substr(0, half);
      const std::string second = auth.substr(half) + " (echoed).";
      if (!co_await out.chunk(replies::chunk_event(id, in.model, first, false, ""))) {
        co_return next::abort;
      }
      if (!co_await out.chunk(replies::chunk_event(id, in.model, second, false, ""))) {
        co_return next::abort;
      }
    }
    if (!co_await out.chunk("data: " + echo_error_body(auth) + "\n\n")) co_return next::abort;
    co_return co_await out.end_stream();
  }

  // Split into pieces: words_per_chunk words each, or single characters when dripping.
  const auto pieces = text_pieces(text, st.opts.words_per_chunk, f == fault::drip);
  const auto interval = f == fault::drip ? st.opts.drip_interval : st.opts.stream_interval;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) co_await pause(interval);
    if (!co_await out.chunk(replies::chunk_event(id, in.model, pieces[i], false, ""))) {
      co_return next::abort;
    }
    if (i == 1 || pieces.size() == 1) {
      // A fault that strikes mid-stream strikes after some content went out.
      if (f == fault::reset) co_return co_await out.reset();
      if (f == fault::truncated) co_return co_await out.end_stream();  // no [DONE]
      if (f == fault::error_event) {
        const auto err = replies::error_body("The server is overloaded, please retry.",
                                             "server_error", "overloaded");
        if (!co_await out.chunk("data: " + err + "\n\n")) co_return next::abort;
        // The body ends cleanly; the connection was announced as kept alive, so it stays.
        co_return co_await out.end_stream();
      }
    }
  }
  if (!co_await out.chunk(replies::chunk_event(id, in.model, "", false, reply.finish_reason))) {
    co_return next::abort;
  }
  if (in.include_usage &&
      !co_await out.chunk(replies::usage_event(id, in.model, count_usage(in, text)))) {
    co_return next::abort;
  }
  if (!co_await out.chunk(replies::done_event())) co_return next::abort;
  if (f == fault::none) ++st.completions;
  co_return co_await out.end_stream();
}

}  // namespace

asio::awaitable<next> answer_completions(server_state& st, http::exchange& ex) {
  responder out(ex);
  const request_t& req = ex.request();
  ++st.openai_calls;

  if (!st.opts.required_api_key.empty() &&
      req[bhttp::field::authorization] != "Bearer " + st.opts.required_api_key) {
    co_return co_await out.json(
        401, replies::error_body("Incorrect API key provided.", "invalid_request_error",
                                 "invalid_api_key"));
  }

  incoming_request in;
  std::string why;
  std::optional<tool_mode> mode;
  if (!parse_request(req.body(), in, why) || !(mode = tool_mode_from_model(in.model, why))) {
    co_return co_await out.json(400, replies::error_body(why, "invalid_request_error", ""));
  }

  if (const auto admitted = st.admit(std::chrono::steady_clock::now())) {
    out.add_common_header("x-ratelimit-limit-requests",
                          std::to_string(st.opts.rate_limit_requests));
    out.add_common_header("x-ratelimit-remaining-requests", std::to_string(admitted->remaining));
    out.add_common_header("x-ratelimit-reset-requests",
                          std::to_string(admitted->reset.count()) + "ms");
    if (!admitted->allowed) {
      responder::header_list retry{
          {"retry-after-ms", std::to_string(admitted->retry_after.count())},
          {"retry-after", std::to_string((admitted->retry_after.count() + 999) / 1000)}};
      co_return co_await out.json(
          429,
          replies::error_body("Rate limit reached for requests (enforced by the mock).", "requests",
                              "rate_limit_exceeded"),
          std::move(retry));
    }
  }
  // What the echo faults send back; never empty, so an echo is always visible.
  std::string auth(req[bhttp::field::authorization]);
  if (auth.empty()) auth = "(no Authorization header)";
  fault f = fault_from_model(in.model);
  if (f == fault::none) f = st.draw_fault();
  if (f != fault::none) st.count_fault(f);
  if (f == fault::hang) co_return co_await out.hang();
  co_await pause(st.next_latency());

  const auto retry_ms = st.opts.retry_after.count();
  const std::string retry_s = std::to_string((retry_ms + 999) / 1000);
  // Named, not braced in the co_await: GCC 12 miscompiles initializer lists held across it.
  responder::header_list headers;
  switch (f) {
    case fault::rate_limited:
      headers = {{"retry-after-ms", std::to_string(retry_ms)},
                 {"retry-after", retry_s},
                 {"x-ratelimit-limit-requests", "60"},
                 {"x-ratelimit-remaining-requests", "0"},
                 {"x-ratelimit-reset-requests", std::to_string(retry_ms) + "ms"}};
      co_return co_await out.json(429,
                                  replies::error_body("Rate limit reached for requests (mock).",
                                                      "requests", "rate_limit_exceeded"),
                                  std::move(headers));
    case fault::server_error:
      co_return co_await out.json(
          500, replies::error_body("The server had an error while processing your request (mock).",
                                   "server_error", ""));
    case fault::unavailable:
    case fault::overloaded:
      headers = {{"retry-after", retry_s}};
      co_return co_await out.json(f == fault::overloaded ? 529 : 503,
                                  replies::error_body("The engine is currently overloaded (mock).",
                                                      "server_error", "overloaded"),
                                  std::move(headers));
    case fault::echo_401:
      headers = {{"x-request-id", auth}};
      co_return co_await out.json(401, echo_error_body(auth), std::move(headers));
    case fault::echo_text:
      headers = {{"x-request-id", auth}};
      co_return co_await out.send(500, "text/plain; charset=utf-8",
                                  "upstream refused the request with Authorization: " + auth + "\n",
                                  std::move(headers));
    case fault::html:
      co_return co_await out.send(200, "text/html; charset=utf-8", std::string(sign_in_page));
    case fault::early_hints:
      if (!co_await out.early_hints()) co_return next::abort;
      break;
    default:
      break;
  }

  // Tool turns go through the transport faults; the faults that shape text answer in text.
  // mock-pause is Anthropic's: here it answers as mock does.
  const bool plays_tools = f == fault::none || f == fault::early_hints || f == fault::drip ||
                           f == fault::reset || f == fault::truncated || f == fault::malformed ||
                           f == fault::error_event || f == fault::paused;
  const auto turn = plays_tools ? play_tools(in, *mode) : std::nullopt;
  if (in.stream && turn) co_return co_await answer_tool_stream(st, out, in, *turn, *mode, f);
  if (in.stream) co_return co_await answer_stream(st, out, in, f, auth);

  if (f == fault::echo_200_error) co_return co_await out.json(200, echo_error_body(auth));
  if (f == fault::echo_malformed) {
    co_return co_await out.json(200, echo_malformed_json(out.request_id(), auth));
  }
  std::string body;
  if (turn) {
    body = replies::tool_completion(out.request_id(), in.model, turn->calls,
                                    count_usage(in, spoken(*turn)), turn->finish_reason);
  } else {
    const reply_shape reply = shape_reply(f, final_text(st, in), auth);
    body = replies::completion(out.request_id(), in.model, reply.content,
                               count_usage(in, reply.content), reply.finish_reason);
  }
  if (f == fault::malformed) body = body.substr(0, body.size() / 2);  // cut JSON, honest length
  if (f == fault::reset || f == fault::truncated || f == fault::drip) {
    co_return co_await out.broken_json(std::move(body), f, st.opts.drip_interval);
  }
  if (f == fault::none) ++st.completions;
  co_return co_await out.json(200, std::move(body));
}

asio::awaitable<next> answer_models(http::exchange& ex) {
  responder out(ex);
  co_return co_await out.json(200, replies::models_list("mock"));
}

asio::awaitable<next> answer_stats(server_state& st, http::exchange& ex,
                                   std::uint64_t connections_accepted) {
  responder out(ex);
  co_return co_await out.json(200, st.stats_json(connections_accepted));
}

asio::awaitable<next> answer_unrouted(http::exchange& ex, unsigned status) {
  responder out(ex);
  const std::string_view path = ex.path();
  if (status == 405 && path.ends_with("/chat/completions")) {
    co_return co_await out.json(
        405, replies::error_body("Use POST", "invalid_request_error", "method_not_allowed"));
  }
  co_return co_await out.json(404, replies::error_body("Unknown path " + std::string(path),
                                                       "invalid_request_error", "unknown_url"));
}

}  // namespace conclave::mock::detail
