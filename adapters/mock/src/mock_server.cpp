// The mock on the HTTP server layer: its routes (suffix routes, since the mock answers under
// any base path), the request counters around every handler, and mock-friendly limits.
#include "anthropic_session.hpp"
#include "session.hpp"

#include <conclave/http/server.hpp>
#include <conclave/mock/mock_server.hpp>

namespace asio = boost::asio;

namespace conclave::mock {

struct mock_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, mock_options o)
      : ex(std::move(e)), state(std::make_shared<detail::server_state>(std::move(o))) {}

  http::server_options server_options() const {
    const auto& o = state->opts;
    http::server_options s;
    s.address = o.address;
    s.port = o.port;
    s.single_threaded = o.single_threaded;
    s.name = "conclave-mock";
    s.request_id_prefix = "req_mock_";
    if (o.tls) s.tls = http::server_tls{o.tls->certificate_chain_pem, o.tls->private_key_pem};
    // Generous: the mock serves tests and benchmarks, not the open internet; hangs and drips
    // are faults it plays on purpose.
    s.limits.max_header_bytes = 64 * 1024;
    s.limits.max_body_bytes = 8 * 1024 * 1024;
    s.limits.header_timeout = std::chrono::seconds(60);
    s.limits.body_timeout = std::chrono::seconds(120);
    s.limits.idle_timeout = std::chrono::seconds(300);
    s.limits.write_timeout = std::chrono::seconds(120);
    s.limits.max_requests_per_connection = o.close_after_requests;
    s.limits.quiet_request_cap = true;  // "close silently", like a server's idle reaper
    return s;
  }

  // Every request counts, whatever its route; a reply that says "close" closes.
  using answer_fn = std::function<asio::awaitable<detail::next>(http::exchange&)>;
  http::handler counted(answer_fn answer) const {
    return [st = state, answer = std::move(answer)](http::exchange& x) -> asio::awaitable<void> {
      ++st->requests;
      ++st->in_flight;
      const detail::next then = co_await answer(x);
      --st->in_flight;
      if (then == detail::next::close) x.close_after();
    };
  }

  http::router routes() {
    std::weak_ptr<impl> weak = weak_from_this();
    const auto st = state;
    http::router r;
    r.add_suffix("POST", "/chat/completions",
                 counted([st](http::exchange& x) { return detail::answer_completions(*st, x); }));
    // Anthropic's own 405 for any other method on /messages.
    for (const char* method : {"POST", "GET", "PUT", "DELETE", "PATCH"}) {
      r.add_suffix(method, "/messages",
                   counted([st](http::exchange& x) { return detail::answer_messages(*st, x); }));
    }
    r.add_suffix("GET", "/models",
                 counted([](http::exchange& x) { return detail::answer_models(x); }));
    r.add_suffix("GET", "/stats", counted([st, weak](http::exchange& x) {
                   const auto self = weak.lock();
                   const std::uint64_t accepted =
                       self && self->server ? self->server->stats().connections_accepted : 0;
                   return detail::answer_stats(*st, x, accepted);
                 }));
    r.fallback([st](http::exchange& x, unsigned status) -> asio::awaitable<void> {
      ++st->requests;
      co_await detail::answer_unrouted(x, status);
    });
    return r;
  }

  asio::any_io_executor ex;
  std::shared_ptr<detail::server_state> state;
  std::unique_ptr<http::server> server;
};

mock_server::mock_server(asio::any_io_executor ex, mock_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {
  impl_->server =
      std::make_unique<http::server>(impl_->ex, impl_->server_options(), impl_->routes());
}

mock_server::~mock_server() { stop(); }

void mock_server::start() { impl_->server->start(); }

void mock_server::stop() {
  impl_->server->stop();
  impl_->server->close_all();
}

std::uint16_t mock_server::port() const noexcept { return impl_->server->port(); }

std::string mock_server::base_url() const {
  const auto& opts = impl_->state->opts;
  return std::string(opts.tls ? "https://" : "http://") + opts.address + ":" +
         std::to_string(port()) + "/v1";
}

mock_stats mock_server::stats() const noexcept {
  const auto& s = *impl_->state;
  mock_stats out{impl_->server->stats().connections_accepted,
                 s.requests.load(),
                 s.completions.load(),
                 s.faults_injected.load(),
                 s.in_flight.load(),
                 s.rate_limited.load(),
                 s.peak_window_requests.load(),
                 {},
                 s.openai_calls.load(),
                 s.anthropic_calls.load()};
  for (std::size_t k = 0; k < fault_kinds; ++k) {
    if (const auto n = s.faults_by_kind[k].load())
      out.faults_by_kind[to_string(static_cast<fault>(k))] = n;
  }
  return out;
}

}  // namespace conclave::mock
