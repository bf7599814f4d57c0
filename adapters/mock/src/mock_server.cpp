#include "session.hpp"

#include <conclave/mock/mock_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <mutex>
#include <unordered_map>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace conclave::mock {

struct mock_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, mock_options o)
      : ex(std::move(e)),
        state(std::make_shared<detail::server_state>(std::move(o))),
        acceptor(asio::make_strand(ex)) {}

  // Owns `self`: the loop may outlive the mock_server object until stop() closes the acceptor.
  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    auto& acceptor = self->acceptor;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(self->connection_executor(),
                                                         asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        // Out of descriptors or a transient error: back off briefly instead of spinning.
        asio::steady_timer backoff(acceptor.get_executor(), std::chrono::milliseconds(5));
        co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      ++self->state->connections_accepted;
      self->spawn_connection(std::move(socket));
    }
  }

  // A strand per connection when the io_context may run on several threads; on one thread
  // the strand's locking and queueing is pure cost.
  asio::any_io_executor connection_executor() const {
    return state->opts.single_threaded ? ex : asio::any_io_executor(asio::make_strand(ex));
  }

  void spawn_connection(tcp::socket socket) {
    auto handle = std::make_shared<detail::connection_handle>();
    const std::uint64_t id = ++next_connection;
    auto conn_ex = socket.get_executor();
    {
      std::lock_guard lock(mutex);
      if (stopped) return;
      connections.emplace(id, conn_entry{conn_ex, handle});
    }
    asio::co_spawn(conn_ex, detail::serve_connection(state, std::move(socket), tls.get(), handle),
                   [self = shared_from_this(), id](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         std::cerr << "conclave-mock: connection failed: " << x.what() << "\n";
                       }
                     }
                     std::lock_guard lock(self->mutex);
                     self->connections.erase(id);
                   });
  }

  void stop() {
    std::unordered_map<std::uint64_t, conn_entry> open;
    {
      std::lock_guard lock(mutex);
      if (stopped) return;
      stopped = true;
      open.swap(connections);
    }
    asio::dispatch(acceptor.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor.close(ignored);
    });
    for (auto& [id, entry] : open) {
      asio::post(entry.executor, [handle = entry.handle] {
        handle->closed = true;
        if (handle->socket) {
          boost::system::error_code ignored;
          handle->socket->close(ignored);
        }
      });
    }
  }

  struct conn_entry {
    asio::any_io_executor executor;  // the connection's strand
    std::shared_ptr<detail::connection_handle> handle;
  };

  asio::any_io_executor ex;
  std::shared_ptr<detail::server_state> state;
  tcp::acceptor acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  std::uint16_t bound_port = 0;

  std::mutex mutex;  // guards the two below; never held across a suspension
  std::unordered_map<std::uint64_t, conn_entry> connections;
  bool stopped = false;
  std::atomic<std::uint64_t> next_connection{0};
};

mock_server::mock_server(asio::any_io_executor ex, mock_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}

mock_server::~mock_server() { stop(); }

void mock_server::start() {
  const auto& opts = impl_->state->opts;
  if (opts.tls) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3);
    ctx->use_certificate_chain(asio::buffer(opts.tls->certificate_chain_pem));
    ctx->use_private_key(asio::buffer(opts.tls->private_key_pem), asio::ssl::context::pem);
    impl_->tls = std::move(ctx);
  }
  const tcp::endpoint where(asio::ip::make_address(opts.address), opts.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(where.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(where);
  acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->bound_port = acceptor.local_endpoint().port();
  asio::co_spawn(acceptor.get_executor(), impl::accept_loop(impl_), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "conclave-mock: accept loop ended: " << x.what() << "\n";
    }
  });
}

void mock_server::stop() { impl_->stop(); }

std::uint16_t mock_server::port() const noexcept { return impl_->bound_port; }

std::string mock_server::base_url() const {
  const auto& opts = impl_->state->opts;
  return std::string(opts.tls ? "https://" : "http://") + opts.address + ":" +
         std::to_string(port()) + "/v1";
}

mock_stats mock_server::stats() const noexcept {
  const auto& s = *impl_->state;
  mock_stats out{s.connections_accepted.load(),
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
