#include "delta_relay.hpp"

#include <conclave/engine/text.hpp>
#include <conclave/http/client.hpp>
#include <conclave/http/header_safety.hpp>
#include <conclave/provider/content_type.hpp>
#include <conclave/provider/http_errors.hpp>
#include <conclave/provider/http_model.hpp>
#include <conclave/provider/scrub.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::provider {
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
void check_setting(const codec& wire, const char* name, std::string_view value) {
  if (auto why = control_char_at(value); !why.empty()) {
    throw std::invalid_argument(std::string(wire.name()) + " " + name + " " + why);
  }
}

// The reply's content type, for a message (it came from the server: kept short).
std::string quoted_type(const std::string& type) { return text::quote(type, 100); }

}  // namespace

struct http_model::impl {
  http::client& client;
  const codec& wire;
  http_model_options opts;
  http::base_url endpoint;
  endpoint_settings settings;
  std::vector<std::string> secret_list;
  text::redactor secrets;  // the API key: never printed, whatever the server echoes

  using outcome = std::tuple<error_code, chat_response>;

  // What every reply's head says, whatever its status: status, retry hints, request id, limits.
  void read_head(const http::response& r, chat_response& out) const {
    const auto now = std::chrono::system_clock::now();
    out.diag.http_status = static_cast<int>(r.status);
    read_retry_headers(r.headers, out.diag, now);
    out.limits = wire.read_limits(r.headers, now);
  }

  // A reply that was cut, carried no usage or usage not to believe: count what was sent and
  // what arrived, never zero.
  static void estimate_if_unreported(bool reported, std::int64_t prompt_estimate,
                                     chat_response& out) {
    if (reported) return;
    out.tokens = usage{};
    out.tokens.prompt_tokens = prompt_estimate;
    out.tokens.completion_tokens = estimate_tokens(out.message.size());
  }

  // What a call sends, made before its one wait. (Plain functions around the client's one
  // operation: g++ gives every local and temporary of a coroutine its own slot in a frame
  // that lives as long as the call; three layers of them were a third of an in-flight call's
  // memory.)
  struct prepared {
    http::request_message request;
    http::client::clock::time_point deadline;
    std::int64_t prompt_estimate = 0;
    bool stream = false;
  };

  // Checks and encodes `req`, consuming it; false with `refused` filled when it must not go.
  bool prepare(chat_request& req, delta_handler& on_delta, prepared& p, outcome& refused) const {
    auto& out = std::get<1>(refused);
    if (auto why = control_char_at(req.model); !why.empty()) {
      out.diag.message = "model name " + why + "; not sent";
      std::get<0>(refused) = error::bad_request;
      return false;
    }
    if (std::string why; !wire.check(req, why)) {
      out.diag.message = why + "; not sent";
      std::get<0>(refused) = error::bad_request;
      return false;
    }
    for (const auto& m : req.messages) p.prompt_estimate += estimate_tokens(m.size());
    // The caller's deadline, when sooner than ours: the call then fails as a timeout in time
    // to say so, instead of being cut by the caller's timer.
    p.deadline = http::client::clock::now() + opts.request_timeout;
    if (req.deadline && *req.deadline < p.deadline) p.deadline = *req.deadline;
    p.stream = wire.streams(req);
    // Swapped in, not assigned: assigned, fields with a block of their own are copied into
    // the target's storage (header_fields.hpp).
    http::request_message made = wire.encode(req, endpoint, settings, p.stream);
    swap(p.request, made);
    // A codec that always streams hands deltas on only when the caller asked for them.
    if (p.stream && !req.stream) on_delta = nullptr;
    req = chat_request{};  // encoded: its messages need not live as long as the call
    return true;
  }

  // A whole (not streamed) reply made into the call's outcome.
  void finish_whole(http::response& r, std::int64_t prompt_estimate, outcome& result) const {
    auto& [ec, out] = result;
    out.latency = r.elapsed;
    if (r.ec) {
      out.tokens.prompt_tokens = prompt_estimate;  // it may have been sent: count it
      ec = classify_transport(r, out.diag);
      return;
    }
    read_head(r, out);
    secrets.apply_in_place(r.body);  // before any of it is quoted: a cut must not halve a key
    if (r.status < 200 || r.status >= 300) {
      ec = wire.decode_error(r.status, r.body, out.diag);
      return;
    }
    bool usage_reported = false;
    if (!may_be_json(media_type_as_sent(r.headers))) {
      out.diag.message = "not JSON (content-type " + quoted_type(media_type(r.headers)) + ")";
      ec = error::bad_response;
    } else {
      ec = wire.decode_reply(r.body, out, usage_reported);
    }
    estimate_if_unreported(usage_reported, prompt_estimate, out);
  }

  // What a streamed call keeps while its reply arrives.
  struct stream_reading {
    stream_reading(const impl& self, delta_handler& on_delta)
        : decoder(self.wire.make_stream_decoder()),
          relay(on_delta, self.secret_list, self.secrets) {}
    http::sse_parser parser;
    std::unique_ptr<stream_decoder> decoder;
    delta_relay relay;
    std::vector<http::sse_event> events;
    stream_pieces pieces;
    error_code error;
    std::string error_message;
    std::string refused_type;  // the content type of a 200 that was not an event stream
  };

  // The stream's bytes, as they arrive: events, decoded, relayed. False stops the read. The
  // events' texts are freed before it returns, not when the next bytes come: a stream waits
  // for its next bytes most of its life, thousands at once in heavy mode.
  bool on_stream_bytes(stream_reading& st, std::string_view bytes) const {
    const bool go_on = read_events(st, bytes);
    st.events.clear();
    return go_on;
  }

  bool read_events(stream_reading& st, std::string_view bytes) const {
    if (!st.parser.feed(bytes, st.events)) {
      st.error = error::response_too_large;
      st.error_message = "an SSE event exceeded the size limit";
      return false;
    }
    for (auto& e : st.events) {
      secrets.apply_in_place(e.data);  // before the decoder quotes any of it
      st.pieces.clear();
      const auto step = st.decoder->on_event(e, st.pieces);
      st.relay.relay(st.pieces);
      if (step == stream_decoder::step::failed) {
        st.error = st.decoder->failure_code();
        return false;
      }
    }
    return true;
  }

  // The streamed reply made into the call's outcome, once the stream ended.
  void finish_streamed(stream_reading& st, http::response& r, std::int64_t prompt_estimate,
                       outcome& result) const {
    auto& [ec, out] = result;
    auto& decoder = *st.decoder;
    st.relay.finish(decoder.done() ? decoder.response().message : chat_message{});
    out = std::move(decoder.response());
    out.latency = r.elapsed;
    read_head(r, out);  // a streamed reply's request id and limits too
    estimate_if_unreported(decoder.usage_reported(), prompt_estimate, out);
    if (r.status != 0 && (r.status < 200 || r.status >= 300)) {
      secrets.apply_in_place(r.body);
      ec = wire.decode_error(r.status, r.body, out.diag);
    } else if (!st.refused_type.empty()) {
      out.diag.message = "not an event stream (content-type " + quoted_type(st.refused_type) + ")";
      ec = error::bad_response;
    } else if (st.error) {
      if (decoder.failure_code()) {
        out.diag.message = decoder.failure().message;
        out.diag.provider_code = decoder.failure().provider_code;
      } else {
        out.diag.message = std::move(st.error_message);
      }
      ec = st.error;
    } else if (r.ec) {
      ec = classify_transport(r, out.diag);
    } else if (!decoder.done()) {
      out.diag.message =
          std::string(st.parser.has_partial_event() ? "stream ended inside an event, "
                                                    : "stream ended ") +
          "before " + std::string(decoder.end_marker());
      ec = error::stream_truncated;
    } else {
      ec = {};
    }
  }

  // A streamed call's state: the caller's delta handler (the relay holds on to it) and what
  // reads the stream. Shared by the head check, the sink and the completion. What reads the
  // stream (parser, decoder, relay: about 1.2 KiB) is made when the reply's head is there,
  // not while the call waits for it, most of its life: heavy mode holds thousands waiting.
  struct streamed_call {
    explicit streamed_call(delta_handler handler) : on_delta(std::move(handler)) {}
    stream_reading& reading(const impl& self) {
      if (!state) state = std::make_unique<stream_reading>(self, on_delta);
      return *state;
    }
    delta_handler on_delta;
    std::unique_ptr<stream_reading> state;
  };

  // Completes the caller's handler with what `finish` made of the reply, scrubbed: whatever
  // the server sent is redacted and made valid UTF-8 before anyone sees it. A bug (an
  // exception from the client, or from `finish`) completes it with internal_error, never
  // escaping into the caller's io_context.run() nor losing the call.
  template <typename Finish>
  void complete(model::completion_handler& h, std::exception_ptr e, Finish&& finish) const {
    outcome result;
    try {
      if (e) std::rethrow_exception(e);
      finish(result);
    } catch (...) {
      result = internal_failure(std::current_exception());
    }
    auto& [ec, response] = result;
    scrub(response, secrets);
    std::move(h)(ec, std::move(response));
  }

  // A bug's exception as a call's outcome (an exception's words may quote a reply: scrubbed
  // with the rest).
  static outcome internal_failure(std::exception_ptr e) {
    return {error::internal_error, http_model::internal_error_reply(e)};
  }

  // A call that never reaches the client, completed on `ex` (never inline), scrubbed.
  static void refuse(const std::shared_ptr<impl>& self, const asio::any_io_executor& ex,
                     model::completion_handler handler, outcome refused) {
    scrub(std::get<1>(refused), self->secrets);
    asio::post(ex, [h = std::move(handler), r = std::move(refused)]() mutable {
      std::move(h)(std::get<0>(r), std::move(std::get<1>(r)));
    });
  }

  // One call: checked and encoded here, then one operation on the HTTP client, whose
  // completion decodes the reply. No coroutine of its own: a coroutine frame and the co_spawn
  // that starts it were about 3 KiB of every call in flight.
  static void start(std::shared_ptr<impl> self, asio::any_io_executor ex, chat_request req,
                    delta_handler on_delta, model::completion_handler handler) {
    outcome refused;
    prepared p;
    bool ready = false;
    try {  // the handler is ours now: a throw must complete it, not lose it
      ready = self->prepare(req, on_delta, p, refused);
    } catch (...) {
      refused = internal_failure(std::current_exception());
    }
    if (!ready) return refuse(self, ex, std::move(handler), std::move(refused));
    // The client's operation runs on `ex` and listens to the caller's cancellation.
    auto slot = asio::get_associated_cancellation_slot(handler);
    http::client& client = self->client;
    const http::origin& where = self->endpoint.where;  // lives as long as `self`
    if (!p.stream) {
      client.async_stream(
          where, std::move(p.request), p.deadline, {}, {},
          asio::bind_executor(
              ex, asio::bind_cancellation_slot(
                      slot, [self, h = std::move(handler), estimate = p.prompt_estimate](
                                std::exception_ptr e, http::response r) mutable {
                        self->complete(h, e, [&](outcome& result) {
                          self->finish_whole(r, estimate, result);
                        });
                      })));
      return;
    }
    std::shared_ptr<streamed_call> call;
    http::body_sink sink;
    http::head_check check;
    try {
      call = std::make_shared<streamed_call>(std::move(on_delta));
      // The sink and the check run only while the operation is pending, when the completion
      // below still holds `self` and `call`.
      sink = [s = self.get(), c = call.get()](std::string_view bytes) {
        return s->on_stream_bytes(c->reading(*s), bytes);
      };
      // A 200 that is not an event stream (a proxy's HTML page) is refused unread: parsed as
      // SSE, its lines would be dropped silently, or worse, read as events.
      check = [s = self.get(), c = call.get()](const http::response& head) {
        if (may_be_event_stream(media_type_as_sent(head.headers))) return true;
        c->reading(*s).refused_type = media_type(head.headers);
        return false;
      };
    } catch (...) {
      return refuse(self, ex, std::move(handler), internal_failure(std::current_exception()));
    }
    client.async_stream(
        where, std::move(p.request), p.deadline, std::move(sink), std::move(check),
        asio::bind_executor(
            ex, asio::bind_cancellation_slot(
                    slot, [self, call, h = std::move(handler), estimate = p.prompt_estimate](
                              std::exception_ptr e, http::response r) mutable {
                      self->complete(h, e, [&](outcome& result) {
                        self->finish_streamed(call->reading(*self), r, estimate, result);
                      });
                    })));
  }
};

http_model::http_model(http::client& client, const codec& wire, http_model_options opts) {
  check_setting(wire, "api_key", opts.api_key);
  check_setting(wire, "default_model", opts.default_model);
  check_setting(wire, "base_url", opts.base_url);
  auto parsed = http::parse_base_url(opts.base_url);
  if (!parsed) {
    throw std::invalid_argument("bad " + std::string(wire.name()) + " base URL: " + parsed.error());
  }
  endpoint_settings settings{opts.api_key, opts.default_model};
  std::vector<std::string> secret_list{opts.api_key};
  text::redactor secrets(secret_list);
  impl_ =
      std::make_shared<impl>(impl{client, wire, std::move(opts), std::move(*parsed),
                                  std::move(settings), std::move(secret_list), std::move(secrets)});
}

http_model::~http_model() = default;

std::string http_model::describe() const {
  return std::string(impl_->wire.name()) + ":" + impl_->opts.default_model + "@" +
         impl_->endpoint.where.key();
}

asio::any_io_executor http_model::get_executor() const { return impl_->client.get_executor(); }

const codec& http_model::wire() const noexcept { return impl_->wire; }

void http_model::do_complete(asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                             completion_handler&& handler) {
  impl::start(impl_, std::move(ex), std::move(req), std::move(on_delta), std::move(handler));
}

}  // namespace conclave::provider
