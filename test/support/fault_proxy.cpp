#include "fault_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <list>

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace conclave::test {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> pause(std::chrono::steady_clock::duration d) {
  if (d <= std::chrono::steady_clock::duration::zero()) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

void abort_socket(tcp::socket& s) {
  error_code ignored;
  s.set_option(asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
  s.close(ignored);
}

// Client to server: as is. Ends at EOF or error.
asio::awaitable<void> forward_plain(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
    auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
    if (wec) break;
  }
  error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

// Server to client, through the faults.
asio::awaitable<void> forward_faulty(tcp::socket& server, tcp::socket& client, proxy_faults f) {
  std::array<char, 16384> buf;
  std::size_t sent = 0;
  auto limit = [&](const std::optional<std::size_t>& at) {
    return at ? *at : std::numeric_limits<std::size_t>::max();
  };
  const std::size_t stop_at =
      std::min({limit(f.reset_after), limit(f.stall_after), limit(f.close_after)});
  for (;;) {
    auto [ec, n] = co_await server.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) {
      co_await pause(f.slow_close);
      error_code ignored;
      client.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    co_await pause(f.latency);
    std::size_t offset = 0;
    while (offset < n) {
      std::size_t piece = f.max_write ? std::min(f.max_write, n - offset) : n - offset;
      piece = std::min(piece, stop_at - sent);
      if (piece > 0) {
        if (f.bytes_per_second) {
          co_await pause(std::chrono::microseconds(piece * 1'000'000 / f.bytes_per_second));
        }
        auto [wec, w] =
            co_await asio::async_write(client, asio::buffer(buf.data() + offset, piece), use_tuple);
        if (wec) co_return;
        sent += piece;
        offset += piece;
      }
      if (sent == stop_at) {
        if (sent == limit(f.reset_after)) {
          abort_socket(client);
          abort_socket(server);
        } else if (sent == limit(f.close_after)) {
          error_code ignored;
          client.shutdown(tcp::socket::shutdown_both, ignored);
          client.close(ignored);
          server.close(ignored);
        } else {
          // Stalled: hold the connection open, silent, until the client gives up.
          co_await pause(std::chrono::hours(1));
        }
        co_return;
      }
      if (offset < n) co_await pause(f.write_gap);
    }
  }
}

}  // namespace

struct fault_proxy::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, tcp::endpoint s, proxy_faults f)
      : ex(std::move(e)), server(s), faults(f), acceptor(ex) {}

  static asio::awaitable<void> serve(std::shared_ptr<impl> self, tcp::socket client,
                                     proxy_faults f) {
    using namespace asio::experimental::awaitable_operators;
    tcp::socket upstream(co_await asio::this_coro::executor);
    auto [ec] = co_await upstream.async_connect(self->server, use_tuple);
    if (ec) {
      abort_socket(client);
      co_return;
    }
    error_code ignored;
    client.set_option(tcp::no_delay(true), ignored);
    upstream.set_option(tcp::no_delay(true), ignored);
    auto* c = &client;
    auto* u = &upstream;
    self->open.push_back(c);
    self->open.push_back(u);
    // Whichever direction ends first ends the connection.
    co_await (forward_plain(client, upstream) || forward_faulty(upstream, client, f));
    self->open.remove(c);
    self->open.remove(u);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
      if (ec) co_return;
      ++self->accepted;
      asio::co_spawn(self->ex, serve(self, std::move(socket), self->faults), asio::detached);
    }
  }

  asio::any_io_executor ex;
  tcp::endpoint server;
  proxy_faults faults;
  tcp::acceptor acceptor;
  std::list<tcp::socket*> open;  // to close on stop()
  std::uint64_t accepted = 0;
  std::uint16_t bound_port = 0;
};

fault_proxy::fault_proxy(asio::any_io_executor ex, tcp::endpoint server, proxy_faults faults)
    : impl_(std::make_shared<impl>(std::move(ex), server, faults)) {}

fault_proxy::~fault_proxy() { stop(); }

void fault_proxy::start() {
  const tcp::endpoint where(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(where.protocol());
  impl_->acceptor.bind(where);
  impl_->acceptor.listen();
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ex, impl::accept_loop(impl_), asio::detached);
}

void fault_proxy::stop() {
  error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto* s : impl_->open) s->close(ignored);
}

void fault_proxy::set_faults(proxy_faults faults) { impl_->faults = faults; }

std::uint16_t fault_proxy::port() const { return impl_->bound_port; }

std::string fault_proxy::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

std::uint64_t fault_proxy::connections() const { return impl_->accepted; }

}  // namespace conclave::test
