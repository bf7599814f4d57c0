// The acceptor and the registry of open connections: bind and listen, accept with a backoff on
// EMFILE, a strand per connection (unless single-threaded), the connection cap, and stop() /
// close_all() from any thread.
#include "session.hpp"

#include <conclave/http/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <unordered_map>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace conclave::http {
namespace detail {

std::string server_core::new_request_id() {
  // splitmix64 of a counter: unique per server, unguessable enough for logs, no lock.
  std::uint64_t z = id_salt + 0x9E3779B97F4A7C15ULL * (++next_id);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  std::array<char, 17> hex{};
  std::snprintf(hex.data(), hex.size(), "%016llx", static_cast<unsigned long long>(z));
  return opts.request_id_prefix + hex.data();
}

void server_core::log(std::string_view line) const {
  const std::string who = opts.name.empty() ? "conclave-http" : opts.name;
  std::cerr << who << ": " << line << "\n";
}

}  // namespace detail

struct server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, server_options o, router r)
      : ex(std::move(e)),
        core(std::make_shared<detail::server_core>(std::move(o), std::move(r))),
        acceptor(asio::make_strand(ex)) {}

  // Owns `self`: the loop may outlive the server object until the acceptor closes.
  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // no frame per wait (client.cpp)
    auto& acceptor = self->acceptor;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(self->connection_executor(), use_tuple);
      if (ec) {
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        // Out of descriptors or a transient error: back off briefly instead of spinning.
        asio::steady_timer backoff(acceptor.get_executor(), std::chrono::milliseconds(5));
        co_await backoff.async_wait(use_tuple);
        continue;
      }
      ++self->core->connections_accepted;
      self->spawn_connection(std::move(socket));
    }
  }

  // A strand per connection when the io_context may run on several threads; on one thread
  // the strand's locking and queueing is pure cost.
  asio::any_io_executor connection_executor() const {
    return core->opts.single_threaded ? ex : asio::any_io_executor(asio::make_strand(ex));
  }

  void spawn_connection(tcp::socket socket) {
    const std::uint64_t id = ++next_connection;
    std::shared_ptr<detail::connection> conn;
    {
      std::lock_guard lock(mutex);
      if (stopped || connections.size() >= core->opts.limits.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
      }
      conn = std::make_shared<detail::connection>(core, std::move(socket));
      connections.emplace(id, conn);
      core->connections_open = connections.size();
    }
    asio::co_spawn(conn->get_executor(), conn->run(),
                   [self = shared_from_this(), id, conn](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         self->core->log(std::string("connection failed: ") + x.what());
                       } catch (...) {
                         self->core->log("connection failed");
                       }
                       conn->close_now();
                     }
                     std::lock_guard lock(self->mutex);
                     self->connections.erase(id);
                     self->core->connections_open = self->connections.size();
                   });
  }

  std::vector<std::shared_ptr<detail::connection>> open_connections() {
    std::vector<std::shared_ptr<detail::connection>> out;
    std::lock_guard lock(mutex);
    out.reserve(connections.size());
    for (const auto& [id, c] : connections) out.push_back(c);
    return out;
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      if (stopped) return;
      stopped = true;
    }
    asio::dispatch(acceptor.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor.close(ignored);
    });
    for (auto& c : open_connections()) asio::post(c->get_executor(), [c] { c->stop(); });
  }

  void close_all() {
    for (auto& c : open_connections()) asio::post(c->get_executor(), [c] { c->close_now(); });
  }

  asio::any_io_executor ex;
  std::shared_ptr<detail::server_core> core;
  tcp::acceptor acceptor;
  std::uint16_t bound_port = 0;

  std::mutex mutex;  // guards the two below; never held across a suspension
  std::unordered_map<std::uint64_t, std::shared_ptr<detail::connection>> connections;
  bool stopped = false;
  std::atomic<std::uint64_t> next_connection{0};
};

server::server(asio::any_io_executor ex, server_options opts, router routes)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts), std::move(routes))) {}

server::~server() {
  stop();
  close_all();
}

void server::start() {
  auto& core = *impl_->core;
  const auto& opts = core.opts;
  if (opts.tls) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    ctx->use_certificate_chain(asio::buffer(opts.tls->certificate_chain_pem));
    ctx->use_private_key(asio::buffer(opts.tls->private_key_pem), asio::ssl::context::pem);
    core.tls = std::move(ctx);
  }
  core.id_salt = std::random_device{}();
  core.id_salt = (core.id_salt << 32) ^ std::random_device{}();
  const tcp::endpoint where(asio::ip::make_address(opts.address), opts.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(where.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(where);
  acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->bound_port = acceptor.local_endpoint().port();
  asio::co_spawn(acceptor.get_executor(), impl::accept_loop(impl_),
                 [core = impl_->core](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& x) {
                     core->log(std::string("accept loop ended: ") + x.what());
                   } catch (...) {
                     core->log("accept loop ended");
                   }
                 });
}

void server::stop() { impl_->stop(); }

void server::close_all() { impl_->close_all(); }

std::uint16_t server::port() const noexcept { return impl_->bound_port; }

std::string server::origin() const {
  const auto& opts = impl_->core->opts;
  std::string host = opts.address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(opts.tls ? "https://" : "http://") + host + ":" + std::to_string(port());
}

server_stats server::stats() const noexcept {
  const auto& c = *impl_->core;
  return {c.connections_accepted.load(), c.connections_open.load(), c.requests.load(),
          c.refused_too_large.load(), c.timed_out.load()};
}

}  // namespace conclave::http
