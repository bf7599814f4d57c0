// One client request's state, shared by the steps that run it (client_call.cpp: the lease and
// the exchange; client_open.cpp: a new connection). Internal to adapters/http.
#pragma once

#include "call_body.hpp"
#include "client_core.hpp"
#include "connection.hpp"

#include <conclave/http/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/parser.hpp>

#include <concepts>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace conclave::http::detail {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

// What opening a connection holds until it is one (freed then).
struct opening {
  explicit opening(asio::any_io_executor ex) : socket(std::move(ex)) {}
  asio::ip::tcp::socket socket;
  std::optional<asio::ip::tcp::resolver> resolver;
  std::unique_ptr<tls_socket> tls;
  bool host_is_ip = false;
};

using response_parser = bhttp::response_parser<call_body, header_allocator<char>>;

// A reply's parser sits at the front of the block its head's fields then take (one heap
// allocation for both, not three). The deleter keeps the block until the parser is replaced
// or the call goes: the reply's fields, moved out of the parser, share it.
struct parser_in_block {
  header_allocator<char> block;
  void operator()(response_parser* p) const noexcept { p->~response_parser(); }
};
using parser_ptr = std::unique_ptr<response_parser, parser_in_block>;

/// A parser, with room after it for `field_bytes` of header fields.
inline parser_ptr make_parser(std::size_t field_bytes) {
  auto block = header_allocator<char>::with_block(sizeof(response_parser) +
                                                  alignof(response_parser) + field_bytes);
  response_parser* at = header_allocator<response_parser>(block).allocate(1);
  auto* p = ::new (static_cast<void*>(at))
      response_parser(std::piecewise_construct, std::make_tuple(), std::make_tuple(block));
  return parser_ptr(p, parser_in_block{std::move(block)});
}

struct stream_call {
  stream_call(client_core& c, asio::any_io_executor e, const origin& w, std::string request_head,
              std::string request_body, body_sink s, head_check k,
              asio::any_completion_handler<client::stream_signature> h)
      : core(c),
        connections(c.connections),
        ex(e),
        where(w),
        no_reply_body(request_head.starts_with("HEAD ")),
        head(std::move(request_head)),
        body(std::move(request_body)),
        sink(std::move(s)),
        check(std::move(k)),
        handler(std::move(h)),
        deadline(std::move(e)) {}
  ~stream_call() { give_back(); }  // a call destroyed unfinished (its io_context went)

  // The pool slot back, with the connection if it may serve another request (closed first
  // otherwise, before the slot can be handed on).
  void give_back() {
    if (!leased) return;
    leased = false;
    if (!reusable) conn.reset();
    reusable = false;
    connections->release(where, std::move(conn));
  }

  client_core& core;
  std::shared_ptr<pool> connections;  // held: a call destroyed unfinished still gives back
  asio::any_io_executor ex;
  const origin& where;
  // A reply to HEAD has no body, whatever its Content-Length says (request_head() writes the
  // method first).
  bool no_reply_body;
  // The request, let go once it can no longer be sent (see begin_exchange).
  std::string head;
  std::string body;
  void let_request_go() {
    std::string().swap(head);
    std::string().swap(body);
  }
  body_sink sink;
  head_check check;
  // Set only here: Boost 1.81's move assignment of an any_completion_handler recurses.
  asio::any_completion_handler<client::stream_signature> handler;
  // The step in progress, for a deadline's message: a literal, or `phase_text` (a host being
  // resolved). A string assigned at each step cost an allocation each (they are longer than
  // the short-string buffer).
  std::string_view phase;
  std::string phase_text;

  // Stops: the deadline and the caller's cancellation emit `stop`, the pending step's slot.
  asio::steady_timer deadline;
  asio::cancellation_signal stop;
  asio::cancellation_slot caller;
  bool expired = false;
  bool stopped = false;  // `stop` was emitted
  bool ended = false;    // the handler was called
  client::clock::time_point start = client::clock::now();

  response out;
  std::unique_ptr<connection> conn;
  std::unique_ptr<opening> opener;  // while a new connection is being opened
  bool leased = false;              // a pool slot is held
  bool reusable = false;
  int attempt = 0;

  // The exchange on `conn`.
  bool keep_alive = false;
  bool head_seen = false;  // any head, a 1xx too: the server had the request
  int interim = 0;
  // One per message read, interim ones included; made as its head is read (on a plain
  // socket, once the reply's first bytes are there), so a plain call waiting for its reply,
  // most of its life, holds no parser's room.
  parser_ptr parser;
  body_target body_to;  // where the parser puts the reply's body
};

using call_ptr = std::shared_ptr<stream_call>;

/// The last step, once: the slot given back, the watchdog down, the handler called (on `ex`,
/// where every step runs). `bug`: an exception a step threw.
void finish(const call_ptr& c, std::exception_ptr bug = nullptr);

/// Stopped between two steps: nothing of the exchange is kept.
void finish_stopped(const call_ptr& c);

/// A pool slot for the call, then its exchange (client_call.cpp): at once when a kept-alive
/// connection or a free slot is there, else after its wait in the pool's line.
void acquire(const call_ptr& c);

/// The exchange on the connection just leased or opened.
void begin_exchange(const call_ptr& c);

/// A new connection to the call's origin (DNS, connect, TLS): then begin_exchange(), or the
/// call fails saying why.
void open_connection(const call_ptr& c);

/// A step that may be handed something to give back when it completes after the call ended
/// (a pool slot granted late).
template <typename Step, typename... Args>
concept abandonable = requires(Step& step, Args&&... args) {
  step.abandoned(std::forward<Args>(args)...);
};

/// A step that throws: a system_error is the call's error, as a coroutine's cancel between
/// two steps was; anything else is a bug the caller reports. Once the handler was called, an
/// exception is the handler's own, and goes on out of run().
inline void step_threw(const call_ptr& self) {
  if (self->ended) throw;
  try {
    throw;
  } catch (const boost::system::system_error& e) {
    self->out = response{};
    self->out.ec = e.code();
    finish(self);
  } catch (...) {
    finish(self, std::current_exception());
  }
}

// A handler for one step: on the call's executor, cancelled by its stop signal.
template <typename Step>
inline auto step_handler(stream_call& c, Step step) {
  return asio::bind_cancellation_slot(
      c.stop.slot(), asio::bind_executor(c.ex, [step = std::move(step)](auto&&... args) mutable {
        const call_ptr& self = step.self;
        if (self->ended) {
          if constexpr (abandonable<Step, decltype(args)...>) {
            step.abandoned(std::forward<decltype(args)>(args)...);
          }
          return;
        }
        try {
          step(std::forward<decltype(args)>(args)...);
        } catch (...) {
          step_threw(self);
        }
      }));
}

}  // namespace conclave::http::detail
