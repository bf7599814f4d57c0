// A new connection for a call, as steps of the call: resolve (unless the host is an address),
// connect, and for https the TLS handshake with the host's name checked. What it holds on the
// way (socket, resolver, TLS stream) lives in one `opening`, freed once the connection is made.
#include "stream_call.hpp"
#include "tls.hpp"

#include <conclave/http/error.hpp>

#include <boost/asio/connect.hpp>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace conclave::http::detail {
namespace {

// The connection is made: the exchange goes on it.
void opened(const call_ptr& c, std::unique_ptr<connection> conn) {
  stream_call& r = *c;
  r.conn = std::move(conn);
  r.opener.reset();
  r.connections->count_opened();
  begin_exchange(c);
}

struct on_handshake {
  call_ptr self;
  void operator()(error_code ec) const {
    stream_call& r = *self;
    if (ec) {
      const std::string reason = verify_failure_reason(*r.opener->tls);
      r.out.ec = ec;
      r.out.failure_detail =
          "TLS handshake with " + r.where.key() +
          " failed: " + (reason.empty() ? ec.message() : "certificate verify failed: " + reason);
      return finish(self);
    }
    opened(self, std::make_unique<connection>(r.where, std::move(*r.opener->tls)));
  }
};

struct on_connected {
  call_ptr self;
  template <typename... Endpoint>  // a range connect also says which endpoint
  void operator()(error_code ec, const Endpoint&...) const {
    stream_call& r = *self;
    opening& o = *r.opener;
    if (ec) {
      r.out.ec = ec;
      r.out.failure_detail = "cannot connect to " + r.where.key() + ": " + ec.message();
      return finish(self);
    }
    o.socket.set_option(tcp::no_delay(true), ec);
    // The exchange writes a request and reads a head that is there without an operation
    // (client_call.cpp); never waiting. A socket left blocking (this failed) is only used
    // through operations. (One connected to an address is non-blocking already: connect_to.)
    if (!r.where.tls && !o.socket.non_blocking()) o.socket.non_blocking(true, ec);
    if (!r.where.tls)
      return opened(self, std::make_unique<connection>(r.where, std::move(o.socket)));
    r.phase = "in the TLS handshake";
    if (r.stopped) return finish_stopped(self);
    o.tls = std::make_unique<tls_socket>(std::move(o.socket), *r.core.tls_context());
    bind_peer_name(*o.tls, r.where.host, o.host_is_ip);
    o.tls->async_handshake(asio::ssl::stream_base::client, step_handler(r, on_handshake{self}));
  }
};

// How the connect went, as the socket says once it is writable.
error_code connect_result(tcp::socket& s) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return {err, asio::error::get_system_category()};
}

// Whether a connecting socket is writable now: done, one way or the other.
bool writable_now(tcp::socket& s) {
  pollfd ready{s.native_handle(), POLLOUT, 0};
  return ::poll(&ready, 1, 0) == 1;
}

void wait_writable(const call_ptr& c);

struct on_writable {
  call_ptr self;
  void operator()(error_code ec) const {
    if (ec) return on_connected{self}(ec);
    // The reactor may wake a wait early: a socket opened but not yet connecting says
    // EPOLLHUP, which another thread's epoll_wait can take and hand to this wait once it is
    // queued. SO_ERROR is 0 then too, so only poll() tells (as in Asio's own connect).
    if (!writable_now(self->opener->socket)) {
      if (self->stopped) return finish_stopped(self);
      return wait_writable(self);
    }
    on_connected{self}(connect_result(self->opener->socket));
  }
};

void wait_writable(const call_ptr& c) {
  c->opener->socket.async_wait(tcp::socket::wait_write, step_handler(*c, on_writable{c}));
}

// Connects in this step when it can, else waits for the socket to be writable. On loopback
// connect() returns EINPROGRESS with the handshake already done (the peer's SYN-ACK is handled
// as the call lets go of the socket), so poll() says writable at once. Asio's connect
// operation made the same calls (connect, then poll and getsockopt once epoll said writable)
// plus a re-arm in epoll, and held an operation for every connection being opened (its memory,
// the post of its completion) until the reactor ran.
void connect_to(const call_ptr& c, const tcp::endpoint& to) {
  tcp::socket& socket = c->opener->socket;
  error_code ec;
  socket.open(to.protocol(), ec);
  // Non-blocking from here on: a plain socket's exchange writes and reads in its steps and
  // must never wait in a call; a TLS stream is used only through operations, which do not mind.
  if (!ec) socket.non_blocking(true, ec);
  if (ec) return on_connected{c}(ec);
  if (::connect(socket.native_handle(), to.data(), static_cast<socklen_t>(to.size())) == 0) {
    return on_connected{c}(error_code{});
  }
  // Interrupted, a non-blocking connect goes on as if in progress.
  if (errno != EINPROGRESS && errno != EINTR) {
    return on_connected{c}(error_code(errno, asio::error::get_system_category()));
  }
  if (writable_now(socket)) return on_connected{c}(connect_result(socket));
  wait_writable(c);
}

struct on_resolved {
  call_ptr self;
  void operator()(error_code ec, const tcp::resolver::results_type& endpoints) const {
    stream_call& r = *self;
    r.stop.slot().clear();  // the resolver's own cancel, below
    if (ec) {
      r.out.ec = ec;
      r.out.failure_detail = "cannot resolve '" + r.where.host + "': " + ec.message();
      return finish(self);
    }
    r.opener->resolver.reset();
    r.phase = "connecting";
    if (r.stopped) return finish_stopped(self);
    asio::async_connect(r.opener->socket, endpoints, step_handler(r, on_connected{self}));
  }
};

}  // namespace

void open_connection(const call_ptr& c) {
  stream_call& r = *c;
  if (r.stopped) return finish_stopped(c);
  if (r.where.tls && !r.core.tls_context()) {
    r.out.ec = http::error::tls_config_invalid;
    r.out.failure_detail = r.core.tls_error;
    return finish(c);
  }
  r.opener = std::make_unique<opening>(r.ex);
  opening& o = *r.opener;
  error_code ec;
  const auto address = asio::ip::make_address(r.where.host, ec);
  o.host_is_ip = !ec;
  if (o.host_is_ip) {
    r.phase = "connecting";
    return connect_to(c, tcp::endpoint(address, r.where.port));
  }
  r.phase_text = "resolving " + r.where.host;
  r.phase = r.phase_text;
  tcp::resolver& resolver = o.resolver.emplace(r.ex);
  // Resolver operations ignore cancellation slots in Asio 1.81: a stop cancels the resolver.
  r.stop.slot().assign([&resolver](asio::cancellation_type) { resolver.cancel(); });
  resolver.async_resolve(
      r.where.host, std::to_string(r.where.port),
      asio::bind_executor(r.ex, [self = c](error_code rec, tcp::resolver::results_type found) {
        if (self->ended) return;
        try {
          on_resolved{self}(rec, found);
        } catch (...) {
          step_threw(self);
        }
      }));
}

}  // namespace conclave::http::detail
