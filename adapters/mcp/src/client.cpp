#include "launch.hpp"
#include "transport.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/mcp/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace conclave::mcp {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

namespace detail {
/// One request waiting for its response. `wake` never expires on its own: it is cancelled
/// when the response (or a failure) is stored, which ends the caller's wait.
struct waiter {
  explicit waiter(const strand& ex) : wake(ex) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer wake;
  bool done = false;
  error_code ec;
  std::string why;
  incoming msg;
};
}  // namespace detail

namespace {

constexpr std::string_view client_version = "0.1.0";

struct reply {
  error_code ec;
  std::string why;
  incoming msg;
};

}  // namespace

struct client::ops {
  using self_ptr = std::shared_ptr<client>;

  static void fail_all(client& c, error_code ec, const std::string& why) {
    auto pending = std::move(c.pending_);
    c.pending_.clear();
    for (auto& [id, w] : pending) {
      w->done = true;
      w->ec = ec;
      w->why = why;
      w->wake.cancel();
    }
  }

  // Best effort: a reply to a server's request, or notifications/cancelled. Nobody waits.
  static void send_and_forget(client& c, std::string message) {
    if (!c.transport_) return;
    asio::co_spawn(
        c.strand_,
        [](std::shared_ptr<detail::transport> t, std::string m) -> asio::awaitable<void> {
          std::string why;
          co_await t->send(std::move(m), why);
        }(c.transport_, std::move(message)),
        [](std::exception_ptr) {});
  }

  static void tell_cancelled(client& c, std::int64_t id) {
    json::object p{{"requestId", id}, {"reason", "cancelled by the caller"}};
    send_and_forget(c, encode_notification("notifications/cancelled", p));
  }

  static void on_message(client& c, std::string_view text) {
    for (incoming& m : decode_messages(text)) {
      switch (m.what) {
        case incoming::kind::response:
        case incoming::kind::error_response: {
          if (!m.id) break;  // an error about a message it could not read: nobody to tell
          auto it = c.pending_.find(*m.id);
          if (it == c.pending_.end()) break;  // abandoned (cancelled) or never ours
          auto w = it->second;
          c.pending_.erase(it);
          w->done = true;
          w->msg = std::move(m);
          w->wake.cancel();
          break;
        }
        case incoming::kind::request:
          // We offer no capabilities; only ping must be answered with success.
          send_and_forget(c, m.method == "ping" ? encode_result(m.request_id, {})
                                                : encode_error(m.request_id, method_not_found,
                                                               "method not found: " + m.method));
          break;
        case incoming::kind::notification:
          break;  // logging, progress, list_changed: nothing a tools-only client acts on
        case incoming::kind::invalid: {
          std::string why =
              "server \"" + c.config_.name + "\" sent something that is not JSON-RPC: " + m.why;
          const std::string tail = c.stderr_tail();
          if (!tail.empty()) why += "; its stderr ends with: " + tail;
          c.closed_ = true;
          c.closed_why_ = why;
          fail_all(c, error::bad_response, why);
          // A peer that breaks framing cannot be trusted with more requests: end it.
          asio::co_spawn(c.strand_, c.transport_->close(),
                         [t = c.transport_](std::exception_ptr) {});
          return;
        }
      }
    }
  }

  static asio::awaitable<reply> request(self_ptr c, std::string_view method, json::object params) {
    if (c->closed_ || !c->transport_)
      co_return reply{error::connection_failed,
                      c->closed_why_.empty() ? "the connection is closed" : c->closed_why_,
                      {}};
    const std::int64_t id = c->next_id_++;
    auto w = std::make_shared<detail::waiter>(c->strand_);
    c->pending_[id] = w;
    std::string why;
    std::string line = encode_request(id, method, params);
    const error_code sent = co_await c->transport_->send(std::move(line), why);
    if (sent && !w->done) {
      c->pending_.erase(id);
      if (sent == error::cancelled) tell_cancelled(*c, id);
      co_return reply{sent, why, {}};
    }
    if (!w->done && c->transport_->replies_within_send()) {
      c->pending_.erase(id);
      co_return reply{
          error::bad_response, "the server's reply held no response to our request", {}};
    }
    if (!w->done) co_await w->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!w->done) {  // our caller cancelled: abandon the call, tell the server
      c->pending_.erase(id);
      tell_cancelled(*c, id);
      co_return reply{error::cancelled, "the call was cancelled", {}};
    }
    co_return reply{w->ec, std::move(w->why), std::move(w->msg)};
  }

  static asio::awaitable<std::pair<error_code, std::string>> connect(self_ptr c) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto r = co_await connect_steps(c);
    if (r.first) {
      r.second = "MCP server \"" + c->config_.name + "\": " + r.second;
      if (c->transport_) co_await c->transport_->close();  // reaps a child that started
      c->closed_ = true;
    }
    co_return r;
  }

  static asio::awaitable<std::pair<error_code, std::string>> connect_steps(self_ptr c) {
    if (c->transport_) co_return std::pair{error::internal_error, "already connected"};
    if (!c->config_.command.empty()) {
      c->transport_ = detail::make_stdio_transport(c->strand_, c->config_);
    } else if (c->http_) {
      c->transport_ = detail::make_http_transport(c->strand_, *c->http_, c->config_);
    } else {
      co_return std::pair{error::internal_error, "an HTTP server needs an http::client"};
    }
    // The callbacks are named first: GCC 12 destroys lambda temporaries inside a co_await
    // expression twice (a weak_ptr released twice freed the client under its own destructor).
    std::weak_ptr<client> weak = c;
    detail::transport::message_fn on_message_fn = [weak](std::string_view text) {
      if (auto s = weak.lock()) on_message(*s, text);
    };
    detail::transport::closed_fn on_closed_fn = [weak](error_code e, std::string w) {
      if (auto s = weak.lock()) {
        s->closed_ = true;
        s->closed_why_ = "server \"" + s->config_.name + "\": " + w;
        fail_all(*s, e, s->closed_why_);
        // Reap a server that died now, not at shutdown: no zombie while the host lives.
        asio::co_spawn(s->strand_, s->transport_->close(),
                       [t = s->transport_](std::exception_ptr) {});
      }
    };
    std::string why;
    error_code ec =
        co_await c->transport_->open(std::move(on_message_fn), std::move(on_closed_fn), why);
    if (ec) co_return std::pair{ec, why};
    json::object init = initialize_params(client_version);
    reply r = co_await request(c, "initialize", std::move(init));
    if (r.ec) co_return std::pair{r.ec, "initialize failed: " + r.why};
    if (r.msg.what == incoming::kind::error_response)
      co_return std::pair{error::provider_error, "initialize refused: " + r.msg.error_message};
    if (!parse_initialize_result(r.msg.result, c->info_, why))
      co_return std::pair{error::bad_response, why};
    c->transport_->set_protocol_version(c->info_.protocol_version);
    std::string initialized = encode_notification("notifications/initialized");
    ec = co_await c->transport_->send(std::move(initialized), why);
    if (ec) co_return std::pair{ec, "notifications/initialized failed: " + why};
    c->connected_ = true;
    co_return std::pair{error_code{}, std::string{}};
  }

  using list_result = std::tuple<error_code, std::vector<remote_tool>, std::string>;

  static asio::awaitable<list_result> list(self_ptr c) {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::vector<remote_tool> all;
    std::string cursor;
    for (std::size_t page = 0;; ++page) {
      if (page == max_tool_pages)
        co_return list_result{
            error::bad_response,
            {},
            "tools/list has more than " + std::to_string(max_tool_pages) + " pages"};
      json::object params = tools_list_params(cursor);
      reply r = co_await request(c, "tools/list", std::move(params));
      if (r.ec) co_return list_result{r.ec, {}, "tools/list failed: " + r.why};
      if (r.msg.what == incoming::kind::error_response)
        co_return list_result{
            error::provider_error, {}, "tools/list refused: " + r.msg.error_message};
      tools_page p;
      std::string why;
      if (!parse_tools_list(r.msg.result, p, why))
        co_return list_result{error::bad_response, {}, why};
      for (auto& t : p.tools) all.push_back(std::move(t));
      if (all.size() > max_tools)
        co_return list_result{error::bad_response,
                              {},
                              "the server lists more than " + std::to_string(max_tools) + " tools"};
      if (p.next_cursor.empty()) break;
      if (p.next_cursor == cursor)
        co_return list_result{error::bad_response, {}, "tools/list repeats its cursor"};
      cursor = std::move(p.next_cursor);
    }
    co_return list_result{error_code{}, std::move(all), std::string{}};
  }

  static asio::awaitable<std::pair<error_code, tool_output>> call(self_ptr c, std::string name,
                                                                  std::string arguments) {
    co_await asio::this_coro::throw_if_cancelled(false);
    json::object params;
    std::string why;
    if (!tools_call_params(name, arguments, params, why))
      co_return std::pair{error_code{}, tool_output{why, true}};
    reply r = co_await request(c, "tools/call", std::move(params));
    if (r.ec) co_return std::pair{r.ec, tool_output{r.why, true}};
    if (r.msg.what == incoming::kind::error_response)
      co_return std::pair{error_code{},
                          tool_output_from_error(r.msg.error_code, r.msg.error_message)};
    co_return std::pair{error_code{}, tool_output_from_result(r.msg.result)};
  }

  static asio::awaitable<int> close(self_ptr c) {
    co_await asio::this_coro::throw_if_cancelled(false);
    c->closed_ = true;
    if (c->closed_why_.empty()) c->closed_why_ = "the client is closed";
    fail_all(*c, error::cancelled, "the client is closing");
    if (c->transport_) co_await c->transport_->close();
    co_return 0;
  }
};

std::shared_ptr<client> client::create(asio::any_io_executor ex, server_config config,
                                       http::client* http) {
  return std::make_shared<client>(std::move(ex), std::move(config), http);
}

client::client(asio::any_io_executor ex, server_config config, http::client* http)
    : strand_(asio::make_strand(ex)), config_(std::move(config)), http_(http) {}

client::~client() { kill(); }

void client::kill() noexcept {
  if (transport_) transport_->kill_now();
}

std::string client::stderr_tail() const { return transport_ ? transport_->stderr_tail() : ""; }

int client::pid() const noexcept { return transport_ ? transport_->pid() : 0; }

void client::start_connect(asio::any_completion_handler<connect_signature> h) {
  detail::launch(strand_, ops::connect(shared_from_this()), std::move(h),
                 [](auto h2, std::exception_ptr e, std::pair<error_code, std::string> r) {
                   if (e) r = {error::internal_error, detail::what_of(e)};
                   std::move(h2)(r.first, std::move(r.second));
                 });
}

void client::start_list(asio::any_completion_handler<list_signature> h) {
  detail::launch(strand_, ops::list(shared_from_this()), std::move(h),
                 [](auto h2, std::exception_ptr e, ops::list_result r) {
                   if (e) r = {error::internal_error, {}, detail::what_of(e)};
                   std::move(h2)(std::get<0>(r), std::move(std::get<1>(r)),
                                 std::move(std::get<2>(r)));
                 });
}

void client::start_call(std::string name, std::string arguments,
                        asio::any_completion_handler<call_signature> h) {
  detail::launch(strand_, ops::call(shared_from_this(), std::move(name), std::move(arguments)),
                 std::move(h),
                 [](auto h2, std::exception_ptr e, std::pair<error_code, tool_output> r) {
                   if (e) r = {error::internal_error, tool_output{detail::what_of(e), true}};
                   std::move(h2)(r.first, std::move(r.second));
                 });
}

void client::start_close(asio::any_completion_handler<close_signature> h) {
  detail::launch(strand_, ops::close(shared_from_this()), std::move(h),
                 [](auto h2, std::exception_ptr, int) { std::move(h2)(); });
}

}  // namespace conclave::mcp
