#include <conclave/engine/text.hpp>
#include <conclave/http/client.hpp>
#include <conclave/http/header_safety.hpp>
#include <conclave/openai/openai_model.hpp>
#include <conclave/openai/wire.hpp>
#include <conclave/provider/content_type.hpp>
#include <conclave/provider/http_errors.hpp>
#include <conclave/provider/scrub.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>

#include <map>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace conclave::openai {
namespace {

// Where a setting holds a control character, in words that never quote it (it may be a key).
std::string control_char_at(std::string_view value) {
  const auto at = http::find_control_char(value);
  return at == std::string_view::npos
             ? std::string()
             : "holds a control character (at byte " + std::to_string(at) + ")";
}

// Refused up front: a CR or LF in the key would inject headers into every request, and a
// control character in a model name or URL is a mistake that should not reach a server.
void check_setting(const char* name, std::string_view value) {
  if (auto why = control_char_at(value); !why.empty()) {
    throw std::invalid_argument(std::string("openai_options.") + name + " " + why);
  }
}

}  // namespace

struct openai_model::impl {
  http::client& client;
  openai_options opts;
  http::base_url endpoint;
  text::redactor secrets;  // the API key: never printed, whatever the server echoes

  using outcome = std::tuple<error_code, chat_response>;

  http::request_message make_request(const chat_request& req) const {
    http::request_message m{bhttp::verb::post, endpoint.target("chat/completions"), 11};
    m.set(bhttp::field::content_type, "application/json");
    m.set(bhttp::field::accept, req.stream ? "text/event-stream" : "application/json");
    if (!opts.api_key.empty()) m.set(bhttp::field::authorization, "Bearer " + opts.api_key);
    m.body() = encode_chat_request(req, opts.default_model);
    return m;
  }

  // What every reply's head says, whatever its status: status, retry hints, request id, limits.
  static void read_head(const http::response& r, chat_response& out) {
    out.diag.http_status = static_cast<int>(r.status);
    provider::read_retry_headers(r.headers, out.diag, std::chrono::system_clock::now());
    out.limits = decode_rate_limits(r.headers);
  }

  // An HTTP error status: typed error and the provider's message (read_head done before).
  static error_code http_failure(const http::response& r, chat_response& out) {
    decode_error_body(r.body, out.diag);
    return provider::classify_status(r.status);
  }

  // Every way out of a call passes here: whatever the server sent is redacted and made valid
  // UTF-8 before anyone sees it.
  asio::awaitable<outcome> call(chat_request req, delta_handler on_delta) {
    outcome result = co_await call_unscrubbed(std::move(req), std::move(on_delta));
    provider::scrub(std::get<1>(result), secrets);
    co_return result;
  }

  // The reply's content type, for a message (it came from the server: kept short).
  static std::string quoted_type(const std::string& type) { return text::quote(type, 100); }

  asio::awaitable<outcome> call_unscrubbed(chat_request req, delta_handler on_delta) {
    chat_response out;
    if (auto why = control_char_at(req.model); !why.empty()) {
      out.diag.message = "model name " + why + "; not sent";
      co_return outcome{error::bad_request, std::move(out)};
    }
    if (std::string why; !check_tools(req, why)) {
      out.diag.message = why + "; not sent";
      co_return outcome{error::bad_request, std::move(out)};
    }
    const std::int64_t prompt_estimate = [&] {
      std::int64_t n = 0;
      for (const auto& m : req.messages) n += provider::estimate_tokens(m.size());
      return n;
    }();
    // The caller's deadline, when sooner than ours: the call then fails as a timeout in time
    // to say so, instead of being cut by the caller's timer.
    auto deadline = http::client::clock::now() + opts.request_timeout;
    if (req.deadline && *req.deadline < deadline) deadline = *req.deadline;

    if (!req.stream) {
      http::response r = co_await client.request(endpoint.where, make_request(req), deadline);
      out.latency = r.elapsed;
      if (r.ec) {
        out.tokens.prompt_tokens = prompt_estimate;  // it may have been sent: count it
        co_return outcome{provider::classify_transport(r, out.diag), std::move(out)};
      }
      read_head(r, out);
      secrets.apply_in_place(r.body);  // before any of it is quoted: a cut must not halve a key
      if (r.status < 200 || r.status >= 300) {
        co_return outcome{http_failure(r, out), std::move(out)};
      }
      bool usage_reported = false;
      error_code ec;
      if (const auto type = provider::media_type(r.headers); !provider::may_be_json(type)) {
        out.diag.message = "not JSON (content-type " + quoted_type(type) + ")";
        ec = error::bad_response;
      } else {
        ec = decode_chat_completion(r.body, out, &usage_reported);
      }
      if (!usage_reported) {
        // No usage, or none to believe: count what was sent and what arrived, never zero.
        out.tokens.prompt_tokens = prompt_estimate;
        out.tokens.completion_tokens = provider::estimate_tokens(out.message.size());
      }
      co_return outcome{ec, std::move(out)};
    }

    http::sse_parser parser;
    stream_decoder decoder;
    provider::delta_scrubber scrubbed({opts.api_key});
    provider::delta_scrubber scrubbed_reasoning({opts.api_key});
    std::vector<http::sse_event> events;
    stream_pieces pieces;
    error_code stream_error;
    auto emit = [&](const std::string& piece) {
      if (!piece.empty() && on_delta) on_delta(text_delta{piece});
    };
    auto emit_reasoning = [&](const std::string& piece) {
      if (!piece.empty() && on_delta) on_delta(reasoning_delta{piece});
    };
    // Each call's argument pieces go through a scrubber of their own, so a key split across
    // two pieces of one call is still caught (ids and names come whole: redacted as they are).
    std::map<std::size_t, provider::delta_scrubber> argument_scrubbers;
    auto emit_fragment = [&](stream_pieces::tool_fragment& f) {
      if (!on_delta) return;
      for (auto* s : {&f.id, &f.name}) secrets.apply_in_place(*s);
      auto it =
          argument_scrubbers.try_emplace(f.index, std::vector<std::string>{opts.api_key}).first;
      const std::string arguments = it->second.push(f.arguments);
      if (f.id.empty() && f.name.empty() && arguments.empty()) return;  // all held back
      on_delta(tool_call_delta{f.index, f.id, f.name, arguments});
    };
    auto sink = [&](std::string_view bytes) {
      events.clear();
      if (!parser.feed(bytes, events)) {
        stream_error = error::response_too_large;
        decoder.response().diag.message = "an SSE event exceeded the size limit";
        return false;
      }
      for (auto& e : events) {
        // Before the decoder quotes any of it (a malformed chunk, an error event).
        secrets.apply_in_place(e.data);
        pieces.clear();
        const auto step = decoder.on_event(e, pieces);
        if (!pieces.text.empty()) emit(scrubbed.push(pieces.text));
        if (!pieces.reasoning.empty()) emit_reasoning(scrubbed_reasoning.push(pieces.reasoning));
        for (auto& f : pieces.tool_fragments) emit_fragment(f);
        if (step == stream_decoder::step::failed) {
          stream_error = decoder.failure_code();
          return false;
        }
      }
      return true;
    };
    // A 200 that is not an event stream (a proxy's HTML page) is refused unread: parsed as
    // SSE, its lines would be dropped silently, or worse, read as events.
    std::string refused_type;
    auto check = [&](const http::response& head) {
      auto type = provider::media_type(head.headers);
      if (provider::may_be_event_stream(type)) return true;
      refused_type = std::move(type);
      return false;
    };
    http::response r =
        co_await client.stream(endpoint.where, make_request(req), deadline, sink, check);
    emit(scrubbed.finish());
    emit_reasoning(scrubbed_reasoning.finish());
    for (auto& [index, scrubber] : argument_scrubbers) {
      if (auto rest = scrubber.finish(); !rest.empty() && on_delta)
        on_delta(tool_call_delta{index, {}, {}, rest});
    }

    out = std::move(decoder.response());
    out.latency = r.elapsed;
    read_head(r, out);  // a streamed reply's request id and limits too
    if (!decoder.usage_reported()) {
      // Cut or usage-less stream, or usage not to believe: count what was sent and what
      // arrived, never zero.
      out.tokens.prompt_tokens = prompt_estimate;
      out.tokens.completion_tokens = provider::estimate_tokens(out.message.size());
    }
    if (r.status != 0 && (r.status < 200 || r.status >= 300)) {
      secrets.apply_in_place(r.body);
      co_return outcome{http_failure(r, out), std::move(out)};
    }
    if (!refused_type.empty()) {
      out.diag.message = "not an event stream (content-type " + quoted_type(refused_type) + ")";
      co_return outcome{error::bad_response, std::move(out)};
    }
    if (stream_error) {
      if (decoder.failure_code()) {
        out.diag.message = decoder.failure().message;
        out.diag.provider_code = decoder.failure().provider_code;
      }
      co_return outcome{stream_error, std::move(out)};
    }
    if (r.ec) co_return outcome{provider::classify_transport(r, out.diag), std::move(out)};
    if (!decoder.done()) {
      out.diag.message = parser.has_partial_event() ? "stream ended inside an event, before [DONE]"
                                                    : "stream ended before [DONE]";
      co_return outcome{error::stream_truncated, std::move(out)};
    }
    co_return outcome{error_code{}, std::move(out)};
  }
};

openai_model::openai_model(http::client& client, openai_options opts) {
  check_setting("api_key", opts.api_key);
  check_setting("default_model", opts.default_model);
  check_setting("base_url", opts.base_url);
  auto parsed = http::parse_base_url(opts.base_url);
  if (!parsed) throw std::invalid_argument("bad OpenAI base URL: " + parsed.error());
  text::redactor secrets({opts.api_key});
  impl_ =
      std::make_shared<impl>(impl{client, std::move(opts), std::move(*parsed), std::move(secrets)});
}

openai_model::~openai_model() = default;

std::string openai_model::describe() const {
  return "openai:" + impl_->opts.default_model + "@" + impl_->endpoint.where.key();
}

asio::any_io_executor openai_model::get_executor() const { return impl_->client.get_executor(); }

void openai_model::do_complete(asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                               completion_handler&& handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  // The impl is shared into the coroutine, so the call is safe even if the model goes first.
  auto call = [](std::shared_ptr<impl> self, chat_request r,
                 delta_handler d) -> asio::awaitable<impl::outcome> {
    co_return co_await self->call(std::move(r), std::move(d));
  };
  asio::co_spawn(
      ex, call(impl_, std::move(req), std::move(on_delta)),
      asio::bind_cancellation_slot(
          slot, [h = std::move(handler)](std::exception_ptr e, impl::outcome result) mutable {
            auto& [ec, response] = result;
            if (e) {
              // Not an expected failure (those are values): report it, never lose the call.
              ec = error::internal_error;
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& x) {
                response.diag.message = std::string("internal error: ") + x.what();
              } catch (...) {
                response.diag.message = "internal error";
              }
            }
            std::move(h)(ec, std::move(response));
          }));
}

}  // namespace conclave::openai
