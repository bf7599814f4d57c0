#include "client_core.hpp"

#include "tls.hpp"

#include <conclave/http/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace conclave::http::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // deferred: no frame per wait

}  // namespace

client_core::client_core(asio::any_io_executor ex, client_options o)
    : opts(std::move(o)),
      connections(std::make_shared<pool>(std::move(ex), opts.max_connections_per_origin,
                                         opts.idle_timeout)) {}

asio::ssl::context* client_core::tls_context() {
  std::call_once(tls_made, [this] { tls = make_client_tls_context(opts.tls, tls_error); });
  return tls.get();
}

asio::awaitable<error_code> client_core::open(const origin& where, std::unique_ptr<connection>& out,
                                              std::string& detail, std::string& phase) {
  auto ex = co_await asio::this_coro::executor;
  asio::ssl::context* tls_ctx = where.tls ? tls_context() : nullptr;
  if (where.tls && !tls_ctx) {
    detail = tls_error;
    co_return http::error::tls_config_invalid;
  }

  phase = "connecting";
  tcp::socket socket(ex);
  error_code ec;
  const auto address = asio::ip::make_address(where.host, ec);
  const bool host_is_ip = !ec;
  if (host_is_ip) {
    std::tie(ec) = co_await socket.async_connect(tcp::endpoint(address, where.port), use_tuple);
  } else {
    phase = "resolving " + where.host;
    tcp::resolver resolver(ex);
    // Resolver operations ignore cancellation slots in Asio 1.81: cancel the resolver itself.
    asio::cancellation_slot slot = (co_await asio::this_coro::cancellation_state).slot();
    if (slot.is_connected())
      slot.assign([&resolver](asio::cancellation_type) { resolver.cancel(); });
    auto [rec, endpoints] =
        co_await resolver.async_resolve(where.host, std::to_string(where.port), use_tuple);
    if (slot.is_connected()) slot.clear();
    if (rec) {
      detail = "cannot resolve '" + where.host + "': " + rec.message();
      co_return rec;
    }
    phase = "connecting";
    std::tie(ec, std::ignore) = co_await asio::async_connect(socket, endpoints, use_tuple);
  }
  if (ec) {
    detail = "cannot connect to " + where.key() + ": " + ec.message();
    co_return ec;
  }
  socket.set_option(tcp::no_delay(true), ec);

  if (!where.tls) {
    out = std::make_unique<connection>(where, std::move(socket));
    co_return error_code{};
  }

  phase = "in the TLS handshake";
  tls_socket stream(std::move(socket), *tls_ctx);
  bind_peer_name(stream, where.host, host_is_ip);
  std::tie(ec) = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (ec) {
    const std::string reason = verify_failure_reason(stream);
    detail = "TLS handshake with " + where.key() +
             " failed: " + (reason.empty() ? ec.message() : "certificate verify failed: " + reason);
    co_return ec;
  }
  out = std::make_unique<connection>(where, std::move(stream));
  co_return error_code{};
}

}  // namespace conclave::http::detail
