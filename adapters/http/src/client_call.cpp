// The call is a chain of handlers over one shared state, not a coroutine: the client's
// coroutine, its exchange's and their co_spawn entry held about 2.5 KiB of frames per request
// in flight. Each step starts one operation, bound to the call's executor and to its stop
// signal, which the deadline and the caller's cancellation emit; no step starts once it was.
#include "client_call.hpp"

#include "stream_call.hpp"

#include <conclave/http/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace conclave::http::detail {
namespace {

constexpr std::size_t header_limit = 64 * 1024;
constexpr std::size_t first_header_block = 512;
// Interim responses tolerated before the final one: real servers send one or two; a peer
// sending them without end would otherwise hold the call until its deadline (or forever).
constexpr int max_interim_responses = 16;

bool is_success(unsigned status) { return status >= 200 && status < 300; }

// 1xx other than 101 (which hands the connection to another protocol): a head with no body,
// followed by the real response on the same connection.
bool is_interim(unsigned status) { return status >= 100 && status < 200 && status != 101; }

// Errors meaning "the server had already closed this kept-alive connection".
bool is_stale_connection_error(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

// A request ended by its deadline or by its caller, in the words a reader needs.
void explain_stop(response& out, bool expired, std::string_view phase) {
  if (out.ec && expired) {
    out.ec = beast::error::timeout;
    out.failure_detail = "deadline expired while " + std::string(phase);
  } else if (out.ec == asio::error::operation_aborted) {
    out.failure_detail.clear();  // cancelled by our caller, not the deadline
  }
}

// The exchange ended: done, or once more on a fresh connection, or failed.
void end_exchange(const call_ptr& c) {
  stream_call& r = *c;
  r.parser.reset();
  r.body_to = {};
  if (!r.out.ec && !r.out.stopped_by_sink) {
    ++r.conn->requests_served;
    r.reusable = r.keep_alive;
    r.conn->drop_room();  // an idle connection holds no buffer
    return finish(c);
  }
  // A kept-alive connection the server closed before answering anything (no head, not even
  // a 1xx: a server that sent one had the request, and must not get it twice): once, on a
  // fresh one.
  if (r.out.ec && r.out.reused_connection && !r.head_seen && r.attempt == 0 && !r.stopped &&
      is_stale_connection_error(r.out.ec)) {
    r.give_back();
    ++r.attempt;
    return acquire(c);
  }
  if (r.out.ec && r.out.failure_detail.empty()) {
    r.out.failure_detail = r.out.ec.message() + " while " + std::string(r.phase);
  }
  finish(c);
}

template <typename Stream>
struct exchange_steps {
  call_ptr self;
  Stream* s;

  // The completion of one of the exchange's waits, reads or writes: it goes on at `Next`.
  template <void (exchange_steps::*Next)(error_code) const>
  struct resume {
    call_ptr self;
    Stream* s;
    template <typename... Transferred>  // reads and writes say how much; a wait does not
    void operator()(error_code ec, Transferred...) const {
      (exchange_steps{self, s}.*Next)(ec);
    }
  };

  // A transport error ends the exchange with it.
  bool failed(const error_code& ec) const {
    if (!ec) return false;
    self->out.ec = ec;
    end_exchange(self);
    return true;
  }

  void write() const {
    stream_call& r = *self;
    r.phase = "writing the request";
    std::array<asio::const_buffer, 2> request{asio::buffer(r.head), asio::buffer(r.body)};
    // A plain socket takes a request into its send buffer at once, nearly always: written
    // here, with no operation (its memory, the post of its completion). What did not go, and
    // any error, is left to the operation, which reports it as a step. Only on a socket in
    // non-blocking mode (client_open.cpp sets it): this must never wait.
    if constexpr (std::is_same_v<Stream, tcp_socket>) {
      if (s->non_blocking()) {
        error_code ec;
        const std::size_t sent = s->write_some(request, ec);
        if (!ec && sent == r.head.size() + r.body.size()) return written({});
        if (sent < r.head.size()) {
          request[0] += sent;
        } else {
          request[0] = {};
          request[1] += sent - r.head.size();
        }
      }
    }
    asio::async_write(*s, request, step_handler(r, resume<&exchange_steps::written>{self, s}));
  }
  void written(error_code ec) const {
    stream_call& r = *self;
    if (failed(ec)) return;
    if (!r.out.reused_connection) r.let_request_go();
    r.phase = "waiting for the response";
    read_head();
  }

  void read_head() const {
    stream_call& r = *self;
    if (r.stopped) return finish_stopped(self);
    if (r.interim > max_interim_responses) {
      r.out.ec = http::error::too_many_interim_responses;
      r.out.failure_detail = "the server sent more than " + std::to_string(max_interim_responses) +
                             " interim (1xx) responses";
      return end_exchange(self);
    }
    // On a plain socket with nothing read ahead, the wait for the reply (most of a model
    // call) holds no read buffer and no parser operation: it waits for the socket to be
    // readable, then reads what is there. Heavy mode keeps thousands of calls in this wait;
    // Beast's pending read held about 1.6 KiB each (its buffer, its ops). The same system
    // calls as before: the wait re-arms the socket in epoll (which is also why a reply that
    // came already cannot be missed) where the read tried a recv that found nothing. A TLS
    // stream may hold decrypted bytes the socket does not show, so it reads at once (TLS
    // calls keep their buffer and parser for the wait).
    if constexpr (std::is_same_v<Stream, tcp_socket>) {
      if (r.conn->buffer.size() == 0) {
        r.conn->drop_room();
        s->async_wait(tcp_socket::wait_read,
                      step_handler(r, resume<&exchange_steps::readable>{self, s}));
        return;
      }
    }
    parse_head();
  }
  void readable(error_code ec) const {
    if (failed(ec)) return;
    parse_head(true);
  }
  // `ready`: the socket just said it is readable (a step of its own, never inside start_call),
  // so the head is read here, with no operation, when it came whole (nearly always); the
  // operation reads on from what was parsed when it did not.
  void parse_head(bool ready = false) const {
    stream_call& r = *self;
    if (r.stopped) return finish_stopped(self);
    // The parser and the head's fields in one block (a reply's head is 300 to 2,000 bytes;
    // more blocks are added when it is longer).
    r.parser = make_parser(first_header_block);
    r.parser->header_limit(header_limit);
    r.parser->body_limit(r.core.opts.max_response_bytes);
    r.parser->skip(r.no_reply_body);
    r.conn->make_room();
    if constexpr (std::is_same_v<Stream, tcp_socket>) {
      if (ready && s->non_blocking()) {
        error_code ec;
        bhttp::read_header(*s, r.conn->buffer, *r.parser, ec);
        if (ec != asio::error::would_block && ec != asio::error::try_again) return head_read(ec);
      }
    }
    bhttp::async_read_header(*s, r.conn->buffer, *r.parser,
                             step_handler(r, resume<&exchange_steps::head_read>{self, s}));
  }
  void head_read(error_code ec) const {
    stream_call& r = *self;
    if (failed(ec)) return;
    if (!r.head_seen) r.let_request_go();
    r.head_seen = true;
    if (is_interim(r.parser->get().result_int())) {
      ++r.interim;
      return read_head();
    }
    got_head();
  }

  void got_head() const {
    stream_call& r = *self;
    r.out.status = r.parser->get().result_int();
    // Moved, not copied (a copy allocates each field again): the parser reads the body by its
    // own state, never by these fields. Move-made and swapped in, so the block goes with them
    // and the parser's fields keep none of it (a chunked body's trailers are allocated apart).
    header_fields moved(std::move(static_cast<header_fields&>(r.parser->get())));
    swap(r.out.headers, moved);
    r.phase = "reading the response body";
    const bool to_sink = r.sink && is_success(r.out.status);
    if (to_sink && r.check && !r.check(r.out)) {
      r.out.stopped_by_sink = true;  // refused by its head: the body stays unread
      return end_exchange(self);
    }
    r.body_to = {};
    if (to_sink) {
      r.body_to.sink = &r.sink;
    } else {
      r.body_to.whole = &r.out.body;
      // Its first allocation: the content-length up to this, then the string's doubling.
      constexpr std::uint64_t first_reservation = 64 * 1024;
      if (const auto length = r.parser->content_length()) {
        r.out.body.reserve(static_cast<std::size_t>(std::min(*length, first_reservation)));
      }
    }
    r.parser->get().body().target = &r.body_to;
    // Each parse takes all it can (a chunked body's pieces too), not one state of the parser.
    r.parser->eager(true);
    parse_buffered();
  }

  // Body bytes that came with the head (all of a whole reply that fit its read, usually) are
  // parsed here, with no operation; then the rest is read.
  void parse_buffered() const {
    stream_call& r = *self;
    if (r.stopped) return finish_stopped(self);
    error_code ec;
    // A message with no body (204, 304, length 0) is done already: what follows is not its.
    if (!r.parser->is_done() && r.conn->buffer.size() > 0) {
      const std::size_t used = r.parser->put(r.conn->buffer.data(), ec);
      r.conn->buffer.consume(used);
      if (ec == bhttp::error::need_more) ec = {};
    }
    body_read(ec);
  }

  // The body a read at a time: the parser hands each piece to call_body's reader, which
  // appends it to out.body or gives it to the sink as it arrives. One read per step, not one
  // async_read for the whole body: Beast's read loop does not look at a stop that came
  // between two of its reads (the deadline firing as a read completed), and the next read
  // would wait on, for a stalled stream without end; a step looks at `stopped` first.
  void read_body() const {
    stream_call& r = *self;
    response_parser& parser = *r.parser;
    if (parser.is_done()) {
      r.keep_alive = parser.keep_alive();
      return end_exchange(self);
    }
    if (r.stopped) return finish_stopped(self);
    bhttp::async_read_some(*s, r.conn->buffer, parser,
                           step_handler(r, resume<&exchange_steps::body_read>{self, s}));
  }
  void body_read(error_code ec) const {
    stream_call& r = *self;
    if (auto e = std::exchange(r.body_to.failure, nullptr)) std::rethrow_exception(e);
    if (r.body_to.refused) {
      r.out.stopped_by_sink = true;
      return end_exchange(self);
    }
    if (failed(ec)) return;
    read_body();
  }
};

// A slot of the pool is the call's: on a connection kept alive, or to open a new one.
void leased(const call_ptr& c, std::unique_ptr<connection> conn) {
  stream_call& r = *c;
  r.leased = true;
  r.conn = std::move(conn);
  if (!r.conn) return open_connection(c);
  if (r.stopped) {
    // Handed over by the pool's line as the call was stopped: never used, and not shut
    // (stop_now found no connection), so it serves the next call rather than being closed.
    r.reusable = true;
    return finish_stopped(c);
  }
  begin_exchange(c);
}

struct on_leased {
  call_ptr self;
  // Granted after the call ended (a step threw meanwhile): the slot goes back.
  void abandoned(error_code ec, std::unique_ptr<connection> granted) const {
    if (!ec) self->connections->release(self->where, std::move(granted));
  }
  void operator()(error_code ec, std::unique_ptr<connection> granted) const {
    if (ec) {
      self->out.ec = ec;
      return finish(self);
    }
    leased(self, std::move(granted));
  }
};

// Opening a connection with the slot just taken, as a step of its own: acquire() may run
// inside start_call(), and opening can fail at once (no TLS context), which must not complete
// the call before start_call() returns.
struct open_later {
  call_ptr self;
  void operator()() const { open_connection(self); }
};

}  // namespace

// Most calls find a kept-alive connection or a free slot at once, and need no wait in the
// pool's line (an operation, its handler and its cancellation). A kept-alive connection
// starts the exchange in this step: that only starts a write.
void acquire(const call_ptr& c) {
  stream_call& r = *c;
  r.phase = "waiting for a pooled connection";
  if (r.stopped) return finish_stopped(c);
  if (auto now = r.connections->try_acquire(r.where)) {
    if (*now) return leased(c, std::move(*now));
    r.leased = true;  // given back by the call, whatever happens before the step runs
    asio::post(r.ex, step_handler(r, open_later{c}));
    return;
  }
  r.connections->async_acquire(r.where, step_handler(r, on_leased{c}));
}

// One request/response exchange on the leased connection. The request (its head and body) is
// let go as soon as it cannot be sent again: once written on a fresh connection, else
// once a head came (the call replays it only on a kept-alive connection that answered nothing).
void begin_exchange(const call_ptr& c) {
  stream_call& r = *c;
  if (r.stopped) return finish_stopped(c);
  r.out = response{};
  r.out.reused_connection = r.conn->requests_served > 0;
  r.keep_alive = false;
  r.head_seen = false;
  r.interim = 0;
  r.conn->visit([&](auto& s) { exchange_steps<std::decay_t<decltype(s)>>{c, &s}.write(); });
}

// The last step, once: the slot given back, the watchdog down, the handler called (on `ex`,
// where every step runs). `bug`: an exception a step threw.
void finish(const call_ptr& c, std::exception_ptr bug) {
  if (c->ended) return;
  c->give_back();
  c->parser.reset();
  if (c->caller.is_connected()) c->caller.clear();
  c->deadline.cancel();
  explain_stop(c->out, c->expired, c->phase);
  c->out.elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(client::clock::now() - c->start);
  auto h = std::move(c->handler);
  c->ended = true;  // last: a throw before it leaves the call to finish with that bug
  std::move(h)(bug, std::move(c->out));
}

// Stopped between two steps: nothing of the exchange is kept.
void finish_stopped(const call_ptr& c) {
  c->out = response{};
  c->out.ec = asio::error::operation_aborted;
  finish(c);
}

}  // namespace conclave::http::detail
