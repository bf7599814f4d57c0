// The HTTP server layer against hostile raw TCP clients: slowloris, oversized heads and
// bodies, smuggling attempts, endless chunk extensions, idle and write timeouts; and its
// ordinary duties: keep-alive, HEAD, HTTP/1.0 streams, streams to a client that leaves, the
// event stream's backpressure, TLS, stop() and close_all(). No sleeps: the io_context is driven
// until the awaited event, with tiny timeouts where a timeout is the thing under test.
#include "run.hpp"

#include <conclave/http/server.hpp>
#include <conclave/mock/test_pki.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>

namespace integration_test_http_server {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace http = conclave::http;
using asio::ip::tcp;
using conclave::test::pump_until;
using conclave::test::run;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using response = bhttp::response<bhttp::string_body>;

asio::awaitable<tcp::socket> connect_to(std::uint16_t port) {
  tcp::socket s(co_await asio::this_coro::executor);
  const tcp::endpoint where(asio::ip::make_address("127.0.0.1"), port);
  co_await s.async_connect(where, asio::use_awaitable);
  co_return s;
}

// Everything the server sends until it closes (EOF or reset).
asio::awaitable<std::string> read_to_close(tcp::socket& s) {
  std::string out;
  std::array<char, 4096> buf{};
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
    out.append(buf.data(), n);
    if (ec) co_return out;
  }
}

// One connection: send `request` (the server may close before it is all read), then read to
// the close.
asio::awaitable<std::string> raw_exchange(std::uint16_t port, std::string request) {
  auto s = co_await connect_to(port);
  co_await asio::async_write(s, asio::buffer(request), use_tuple);
  co_return co_await read_to_close(s);
}

template <typename Stream>
asio::awaitable<response> read_response(Stream& s, boost::beast::flat_buffer& buf,
                                        bool head = false) {
  bhttp::response_parser<bhttp::string_body> p;
  p.skip(head);
  co_await bhttp::async_read(s, buf, p, asio::use_awaitable);
  co_return p.release();
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

bool starts(const std::string& text, const std::string& part) { return text.starts_with(part); }

// A server with a handful of routes and counters, on its own io_context.
struct rig {
  explicit rig(http::server_options o = {}) {
    o.name = "test-server";
    http::router r;
    r.add("GET", "/hello", [](http::exchange& ex) -> asio::awaitable<void> {
      co_await ex.respond(200, "text/plain", "hello");
    });
    r.add("GET", "/items/{id}", [](http::exchange& ex) -> asio::awaitable<void> {
      std::string body = std::string(ex.param("id")) + "|" + ex.query("q").value_or("-");
      co_await ex.respond(200, "text/plain", std::move(body));
    });
    r.add("POST", "/echo", [this](http::exchange& ex) -> asio::awaitable<void> {
      ++echoes;
      co_await ex.respond(200, "text/plain", ex.request().body());
    });
    r.add("GET", "/smuggled", [this](http::exchange& ex) -> asio::awaitable<void> {
      ++smuggled;
      co_await ex.respond(200, "text/plain", "smuggled");
    });
    r.add("GET", "/throw", [](http::exchange&) -> asio::awaitable<void> {
      throw std::runtime_error("a handler's bug (expected by the test)");
      co_return;
    });
    r.add("GET", "/stream", [](http::exchange& ex) -> asio::awaitable<void> {
      if (!co_await ex.start_stream("text/plain")) co_return;
      if (!co_await ex.write("a")) co_return;
      if (!co_await ex.write("b")) co_return;
      co_await ex.end_stream();
    });
    r.add("GET", "/wait", [this](http::exchange& ex) -> asio::awaitable<void> {
      waiting = true;
      co_await ex.until_peer_gone();
      waited = true;
      gone_seen = ex.peer_gone();
    });
    r.add("GET", "/endless", [this](http::exchange& ex) -> asio::awaitable<void> {
      if (!co_await ex.start_stream()) co_return;
      streaming = true;
      while (co_await ex.write("data: x\n\n")) co_await pause(2ms);
      endless_ended = true;
    });
    r.add("GET", "/slow", [](http::exchange& ex) -> asio::awaitable<void> {
      co_await pause(50ms);
      co_await ex.respond(200, "text/plain", "slow");
    });
    r.add("GET", "/events", [this](http::exchange& ex) -> asio::awaitable<void> {
      events = http::event_stream::create(co_await asio::this_coro::executor, events_max);
      if (!co_await ex.start_stream()) co_return;
      const bool ok = co_await events->pump(ex, keepalive);
      pumped = ok;
      if (ok) co_await ex.end_stream();
    });
    server.emplace(io.get_executor(), std::move(o), std::move(r));
    server->start();
  }
  ~rig() {
    server->stop();
    server->close_all();
    conclave::test::expect_no_leftover_work(io);
  }

  std::string send(std::string request) {
    return run(io, raw_exchange(port(), std::move(request)));
  }
  std::uint16_t port() const { return server->port(); }
  // A blocking connect: the listen backlog completes it without running the io_context.
  tcp::socket connect() {
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
    return s;
  }

  asio::io_context io;
  std::optional<http::server> server;
  int echoes = 0, smuggled = 0;
  bool waiting = false, waited = false, gone_seen = false, streaming = false;
  bool endless_ended = false;
  std::shared_ptr<http::event_stream> events;
  std::size_t events_max = 64 * 1024;
  std::chrono::milliseconds keepalive{15'000};
  std::optional<bool> pumped;
};

http::server_options quick(std::chrono::milliseconds t = 150ms) {
  http::server_options o;
  o.limits.header_timeout = t;
  o.limits.body_timeout = t;
  o.limits.idle_timeout = t;
  o.limits.write_timeout = t;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_AUTO_TEST_CASE(two_requests_on_one_kept_alive_connection) {
  rig t;
  auto [first, second] = run(t.io, [&]() -> asio::awaitable<std::pair<response, response>> {
    auto s = co_await connect_to(t.port());
    boost::beast::flat_buffer buf;
    const std::string req = "GET /items/7?q=a%20b HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
    auto a = co_await read_response(s, buf);
    co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
    auto b = co_await read_response(s, buf);
    co_return std::pair{std::move(a), std::move(b)};
  }());
  BOOST_CHECK_EQUAL(first.result_int(), 200);
  BOOST_CHECK_EQUAL(first.body(), "7|a b");
  BOOST_CHECK_EQUAL(second.body(), "7|a b");
  BOOST_CHECK(first.keep_alive());
  BOOST_CHECK(starts(std::string(first["x-request-id"]), "req_"));
  BOOST_CHECK(first["x-request-id"] != second["x-request-id"]);
  BOOST_CHECK_EQUAL(first["server"], "test-server");
  BOOST_CHECK_EQUAL(t.server->stats().connections_accepted, 1u);
  BOOST_CHECK_EQUAL(t.server->stats().requests, 2u);
}

BOOST_AUTO_TEST_CASE(unknown_paths_and_methods_get_json_404_and_405) {
  rig t;
  const auto nf = t.send("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_CHECK(starts(nf, "HTTP/1.1 404 "));
  BOOST_CHECK(nf.find("\"code\":\"unknown_url\"") != std::string::npos);
  const auto na = t.send("DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_CHECK(starts(na, "HTTP/1.1 405 "));
  BOOST_CHECK(na.find("allow: GET, HEAD\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_slowloris_header_gets_408_then_the_close) {
  rig t(quick());
  const auto got = t.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  BOOST_CHECK_MESSAGE(starts(got, "HTTP/1.1 408 "), got);
  BOOST_CHECK(got.find("connection: close") != std::string::npos);
  BOOST_CHECK_EQUAL(t.server->stats().timed_out, 1u);
}

BOOST_AUTO_TEST_CASE(a_slow_body_gets_408) {
  rig t(quick());
  const auto got = t.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde");
  BOOST_CHECK_MESSAGE(starts(got, "HTTP/1.1 408 "), got);
  BOOST_CHECK_EQUAL(t.echoes, 0);
}

BOOST_AUTO_TEST_CASE(a_64_kib_header_gets_431_and_a_long_target_414) {
  rig t;
  const auto big = t.send(
      "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  BOOST_CHECK_MESSAGE(starts(big, "HTTP/1.1 431 "), big.substr(0, 200));
  const auto target =
      t.send("GET /" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_CHECK_MESSAGE(starts(target, "HTTP/1.1 414 "), target.substr(0, 200));
  BOOST_CHECK_EQUAL(t.server->stats().refused_too_large, 2u);
}

BOOST_AUTO_TEST_CASE(a_content_length_over_the_limit_gets_413_without_the_body_read) {
  rig t;
  const auto got = t.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(2 << 20) + "\r\n\r\n");
  BOOST_CHECK_MESSAGE(starts(got, "HTTP/1.1 413 "), got);
  BOOST_CHECK(got.find("request_too_large") != std::string::npos);
  BOOST_CHECK_EQUAL(t.echoes, 0);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_over_the_limit_gets_413) {
  http::server_options o;
  o.limits.max_body_bytes = 1024;
  rig t(o);
  const std::string chunk = "3e8\r\n" + std::string(1000, 'x') + "\r\n";
  const auto got = t.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          chunk + chunk + "0\r\n\r\n");
  BOOST_CHECK_MESSAGE(starts(got, "HTTP/1.1 413 "), got);
  BOOST_CHECK_EQUAL(t.echoes, 0);
  // Under the limit it goes through.
  const auto ok = t.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      chunk + "0\r\n\r\n");
  BOOST_CHECK(starts(ok, "HTTP/1.1 200 "));
  BOOST_CHECK_EQUAL(t.echoes, 1);
}

BOOST_AUTO_TEST_CASE(transfer_encodings_that_could_smuggle_get_400_and_the_rest_is_never_read) {
  rig t;
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string te : {"xchunked", "chunked, identity", "chunked, chunked", "identity"}) {
    const auto got = t.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                            "\r\n\r\n" + smuggled);
    BOOST_CHECK_MESSAGE(starts(got, "HTTP/1.1 400 "), te << ": " << got);
    BOOST_CHECK_EQUAL(count(got, "HTTP/1."), 1u);
  }
  const auto twice = t.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n" +
      smuggled);
  BOOST_CHECK(starts(twice, "HTTP/1.1 400 "));
  const auto old =
      t.send("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
  BOOST_CHECK_MESSAGE(starts(old, "HTTP/1.0 400 "), old);
  BOOST_CHECK_EQUAL(count(old, "HTTP/1."), 1u);
  BOOST_CHECK_EQUAL(t.smuggled, 0);
  BOOST_CHECK_EQUAL(t.echoes, 0);
}

BOOST_AUTO_TEST_CASE(huge_chunk_extensions_and_trailers_are_errors_not_crashes) {
  rig t;
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const auto ext = t.send(head + "5;" + std::string(200 * 1024, 'e'));
  BOOST_CHECK_MESSAGE(starts(ext, "HTTP/1.1 400 "), ext.substr(0, 200));
  const auto trailer = t.send(head + "0\r\nX-T: " + std::string(100 * 1024, 't') + "\r\n\r\n");
  BOOST_CHECK_MESSAGE(starts(trailer, "HTTP/1.1 400 "), trailer.substr(0, 200));
  // Still serving.
  BOOST_CHECK(starts(t.send("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"), "HTTP/1.1 200 "));
}

BOOST_AUTO_TEST_CASE(an_idle_keep_alive_connection_is_closed_quietly) {
  rig t(quick(100ms));
  const auto got = t.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_CHECK(starts(got, "HTTP/1.1 200 "));
  BOOST_CHECK_EQUAL(count(got, "HTTP/1."), 1u);  // then the close, with no 408
  BOOST_CHECK(got.ends_with("hello"));
}

BOOST_AUTO_TEST_CASE(max_requests_per_connection_closes_after_the_last_reply) {
  http::server_options o;
  o.limits.max_requests_per_connection = 2;
  rig t(o);
  const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto got = t.send(req + req + req);  // pipelined: the third is never answered
  BOOST_CHECK_EQUAL(count(got, "HTTP/1.1 200 "), 2u);
  BOOST_CHECK_EQUAL(count(got, "connection: close"), 1u);
  BOOST_CHECK_EQUAL(t.server->stats().requests, 2u);
}

BOOST_AUTO_TEST_CASE(head_gets_the_headers_only_and_the_connection_goes_on) {
  rig t;
  auto [head, get] = run(t.io, [&]() -> asio::awaitable<std::pair<response, response>> {
    auto s = co_await connect_to(t.port());
    boost::beast::flat_buffer buf;
    const std::string h = "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(h), asio::use_awaitable);
    auto a = co_await read_response(s, buf, true);
    const std::string g = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(g), asio::use_awaitable);
    auto b = co_await read_response(s, buf);
    co_return std::pair{std::move(a), std::move(b)};
  }());
  BOOST_CHECK_EQUAL(head.result_int(), 200);
  BOOST_CHECK_EQUAL(head["content-length"], "5");
  BOOST_CHECK(head.body().empty());
  BOOST_CHECK_EQUAL(get.body(), "hello");  // no stray body bytes in between
}

BOOST_AUTO_TEST_CASE(streams_are_chunked_for_http_1_1_and_close_delimited_for_1_0) {
  rig t;
  const auto old = t.send("GET /stream HTTP/1.0\r\n\r\n");
  BOOST_CHECK_MESSAGE(starts(old, "HTTP/1.0 200 "), old);
  BOOST_CHECK(old.find("transfer-encoding") == std::string::npos);
  BOOST_CHECK(old.ends_with("\r\n\r\nab"));
  const auto current = t.send("GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n");
  BOOST_CHECK(current.find("transfer-encoding: chunked") != std::string::npos);
  BOOST_CHECK(current.ends_with("\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_closes_its_connection_and_the_server_goes_on) {
  rig t;
  BOOST_CHECK_EQUAL(t.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  BOOST_CHECK(starts(t.send("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"), "HTTP/1.1 200 "));
}

BOOST_AUTO_TEST_CASE(a_client_that_leaves_ends_until_peer_gone_and_fails_writes) {
  rig t;
  std::optional<tcp::socket> s;
  s.emplace(t.connect());
  const std::string w = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(*s, asio::buffer(w));
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.waiting; }));
  s->close();
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.waited; }));
  BOOST_CHECK(t.gone_seen);

  s.emplace(t.connect());
  const std::string e = "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(*s, asio::buffer(e));
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.streaming; }));
  s->set_option(asio::socket_base::linger(true, 0));
  s->close();
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.endless_ended; }));
}

BOOST_AUTO_TEST_CASE(an_event_stream_delivers_frames_keep_alives_and_ends_on_finish) {
  rig t;
  t.keepalive = 20ms;
  std::string seen;
  bool closed = false;
  asio::co_spawn(
      t.io,
      [&]() -> asio::awaitable<void> {
        auto s = co_await connect_to(t.port());
        const std::string r = "GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        co_await asio::async_write(s, asio::buffer(r), asio::use_awaitable);
        std::array<char, 4096> buf{};
        for (;;) {
          auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
          seen.append(buf.data(), n);
          if (ec) break;
        }
        closed = true;
      },
      asio::detached);
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.events != nullptr; }));
  BOOST_CHECK(t.events->push("data: one\n\n"));
  BOOST_CHECK(t.events->push("data: two\n\n"));
  BOOST_REQUIRE(pump_until(t.io, [&] { return seen.find("data: two") != std::string::npos; }));
  // Silence: a keep-alive comment comes; then finish() ends the stream.
  BOOST_REQUIRE(pump_until(t.io, [&] { return seen.find(": keep-alive") != std::string::npos; }));
  t.events->finish();
  BOOST_CHECK(!t.events->push("data: late\n\n"));
  BOOST_REQUIRE(pump_until(t.io, [&] { return closed; }));
  BOOST_CHECK(t.pumped.value_or(false));
  BOOST_CHECK(seen.find("data: one\n\ndata: two\n\n") != std::string::npos);
  BOOST_CHECK(seen.find(": keep-alive\n\n") != std::string::npos);
  BOOST_CHECK(seen.find("late") == std::string::npos);
  BOOST_CHECK(seen.ends_with("0\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(an_event_stream_to_a_client_that_never_reads_is_dropped) {
  rig t(quick(200ms));
  t.events_max = 256 * 1024;
  auto s = t.connect();
  s.set_option(asio::socket_base::receive_buffer_size(4096));
  const std::string r = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(s, asio::buffer(r));
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.events != nullptr; }));
  // The producer pushes as fast as it likes and is never held: push returns false once the
  // queue passes its bound, then the pump gives up (false) and the connection closes.
  const std::string frame = "data: " + std::string(16 * 1024, 'x') + "\n\n";
  int pushed = 0;
  bool refused = false;
  for (int i = 0; i < 100'000 && !refused; ++i) {
    if (t.events->push(frame)) {
      ++pushed;
    } else {
      refused = true;
    }
    t.io.restart();
    t.io.poll();  // the pump runs as far as it can, never waited for
  }
  BOOST_REQUIRE(refused);
  BOOST_CHECK(t.events->dropped());
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.pumped.has_value(); }));
  BOOST_CHECK(!*t.pumped);
  BOOST_CHECK_GT(pushed, 0);
}

BOOST_AUTO_TEST_CASE(tls_round_trip) {
  const auto pki = conclave::mock::make_test_pki();
  http::server_options o;
  o.tls = http::server_tls{pki.server.certificate, pki.server.private_key};
  rig t(o);
  BOOST_CHECK(starts(t.server->origin(), "https://127.0.0.1:"));
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(pki.ca.certificate));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  auto res = run(t.io, [&]() -> asio::awaitable<response> {
    asio::ssl::stream<tcp::socket> s(co_await connect_to(t.port()), ctx);
    co_await s.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
    boost::beast::flat_buffer buf;
    co_return co_await read_response(s, buf);
  }());
  BOOST_CHECK_EQUAL(res.result_int(), 200);
  BOOST_CHECK_EQUAL(res.body(), "hello");
}

BOOST_AUTO_TEST_CASE(max_connections_closes_the_one_too_many_at_once) {
  http::server_options o;
  o.limits.max_connections = 1;
  rig t(o);
  auto first = t.connect();
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.server->stats().connections_open == 1; }));
  BOOST_CHECK_EQUAL(t.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  BOOST_CHECK_EQUAL(t.server->stats().connections_accepted, 2u);
}

BOOST_AUTO_TEST_CASE(stop_closes_idle_connections_and_lets_requests_in_progress_finish) {
  rig t;
  std::string idle_seen, busy_seen;
  int closed = 0;
  auto idle = t.connect();
  auto busy = t.connect();
  const std::string slow = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(busy, asio::buffer(slow));
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.server->stats().requests == 1; }));
  t.server->stop();
  asio::co_spawn(
      t.io,
      [&]() -> asio::awaitable<void> {
        idle_seen = co_await read_to_close(idle);
        ++closed;
      },
      asio::detached);
  asio::co_spawn(
      t.io,
      [&]() -> asio::awaitable<void> {
        busy_seen = co_await read_to_close(busy);
        ++closed;
      },
      asio::detached);
  BOOST_REQUIRE(pump_until(t.io, [&] { return closed == 2; }));
  BOOST_CHECK_EQUAL(idle_seen, "");
  BOOST_CHECK(starts(busy_seen, "HTTP/1.1 200 "));
  BOOST_CHECK(busy_seen.find("connection: close") != std::string::npos);
  BOOST_CHECK(busy_seen.ends_with("slow"));
}

BOOST_AUTO_TEST_CASE(close_all_ends_a_handler_waiting_for_its_peer) {
  rig t;
  auto s = t.connect();
  const std::string w = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(s, asio::buffer(w));
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.waiting; }));
  t.server->close_all();
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.waited; }));
  BOOST_REQUIRE(pump_until(t.io, [&] { return t.server->stats().connections_open == 0; }));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_http_server
