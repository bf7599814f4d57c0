// The HTTP client against the mock server over real loopback sockets, plain and TLS.
#include "run.hpp"
#include "scripted_server.hpp"
#include "temp_file.hpp"

#include <conclave/http/client.hpp>
#include <conclave/http/error.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/mock/test_pki.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/test/unit_test.hpp>

#include <exception>
#include <iterator>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>

namespace integration_test_http_client {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::run;

namespace {

http::request_message chat(const http::base_url& base, const std::string& model,
                           bool stream = false) {
  http::request_message m{bhttp::verb::post, base.target("chat/completions"), 11};
  m.set(bhttp::field::content_type, "application/json");
  m.body() = R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
             R"(,"messages":[{"role":"user","content":"Why test?"}]})";
  return m;
}

struct loopback {
  explicit loopback(mock::mock_options mopts = {}, http::client_options copts = {})
      : server(io.get_executor(), std::move(mopts)) {
    server.start();
    base = *http::parse_base_url(server.base_url());
    client = std::make_unique<http::client>(io.get_executor(), std::move(copts));
  }
  ~loopback() {
    server.stop();
    client.reset();
    conclave::test::expect_no_leftover_work(io);
  }

  http::response call(const std::string& model, http::client::clock::duration limit = 10s) {
    return run(io,
               client->request(base.where, chat(base, model), http::client::clock::now() + limit));
  }

  asio::io_context io;
  mock::mock_server server;
  http::base_url base;
  std::unique_ptr<http::client> client;
};

// A test CA and server certificate, the CA written to a file for clients to trust.
struct tls_setup {
  explicit tls_setup(mock::test_pki_options o = {})
      : pki(mock::make_test_pki(o)), ca(pki.ca.certificate) {}

  mock::mock_options server() const {
    mock::mock_options m;
    m.tls = pki.server_material();
    return m;
  }
  http::client_options client_trusting_ca() const {
    http::client_options c;
    c.tls.ca_file = ca.path();
    return c;
  }

  mock::test_pki pki;
  conclave::test::temp_file ca;
};

// A client with `client` options calls a mock served with `served`'s certificate: the
// handshake must fail, in words that contain `reason`, before any request is sent.
void expect_tls_failure(const tls_setup& served, http::client_options client,
                        const std::string& reason) {
  loopback lb(served.server(), std::move(client));
  auto r = lb.call("mock");
  BOOST_CHECK(r.ec);
  BOOST_CHECK_EQUAL(r.status, 0u);
  BOOST_CHECK_MESSAGE(r.failure_detail.find(reason) != std::string::npos, r.failure_detail);
  BOOST_CHECK_EQUAL(lb.server.stats().requests, 0u);  // nothing was sent
}

const std::string raw_completion =
    R"({"id":"c1","object":"chat.completion","model":"raw","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"after the hints"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}})";
const std::string raw_stream =
    "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
const std::string early_hints =
    "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n";

// A client against a scripted server on its own io_context, torn down in order.
struct scripted {
  explicit scripted(std::vector<std::string> replies)
      : raw(io, std::move(replies)),
        base(*http::parse_base_url(raw.base_url())),
        client(std::make_unique<http::client>(io.get_executor())) {}
  ~scripted() {
    raw.stop();
    client.reset();
    conclave::test::expect_no_leftover_work(io);
  }
  asio::io_context io;
  conclave::test::scripted_server raw;
  http::base_url base;
  std::unique_ptr<http::client> client;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client)

BOOST_AUTO_TEST_CASE(interim_responses_are_read_past_to_the_real_one) {
  using conclave::test::http_reply;
  scripted t(
      {early_hints + "HTTP/1.1 100 Continue\r\n\r\n" +
           http_reply("200 OK", "content-type: application/json\r\n", raw_completion),
       early_hints + http_reply("200 OK", "content-type: text/event-stream\r\n", raw_stream)});
  auto r = run(
      t.io, t.client->request(t.base.where, chat(t.base, "raw"), http::client::clock::now() + 10s));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK_EQUAL(r.body, raw_completion);
  BOOST_CHECK(r.headers.find("link") == r.headers.end());  // the final response's headers only

  std::string streamed;
  auto s =
      run(t.io, t.client->stream(t.base.where, chat(t.base, "raw", true),
                                 http::client::clock::now() + 10s, [&](std::string_view chunk) {
                                   streamed += chunk;
                                   return true;
                                 }));
  BOOST_REQUIRE_MESSAGE(!s.ec, s.failure_detail);
  BOOST_CHECK_EQUAL(s.status, 200u);
  BOOST_CHECK_EQUAL(streamed, raw_stream);
}

BOOST_AUTO_TEST_CASE(endless_interim_responses_fail_instead_of_holding_the_call) {
  std::string hints;
  for (int i = 0; i < 40; ++i) hints += early_hints;
  scripted t({hints + conclave::test::http_reply("200 OK", "", raw_completion)});
  auto r = run(t.io, t.client->request(t.base.where, chat(t.base, "raw")));
  BOOST_CHECK(r.ec == http::error::too_many_interim_responses);
  BOOST_CHECK(r.failure_detail.find("interim") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_header_value_that_would_inject_headers_is_never_sent) {
  scripted t(
      {conclave::test::http_reply("200 OK", "content-type: application/json\r\n", raw_completion)});
  auto bad = chat(t.base, "raw");
  bad.set(bhttp::field::authorization, "Bearer sk-secret\r\nX-Injected: 1");
  auto r =
      run(t.io, t.client->request(t.base.where, std::move(bad), http::client::clock::now() + 10s));
  BOOST_CHECK(r.ec == http::error::unsafe_request);
  BOOST_CHECK(r.failure_detail.find("Authorization") != std::string::npos);
  BOOST_CHECK(r.failure_detail.find("sk-secret") == std::string::npos);  // named, never quoted
  BOOST_CHECK_EQUAL(t.client->stats().connections_opened, 0u);

  // The same server gets a clean request through, and only that one.
  auto good = run(
      t.io, t.client->request(t.base.where, chat(t.base, "raw"), http::client::clock::now() + 10s));
  BOOST_CHECK(!good.ec);
  BOOST_REQUIRE_EQUAL(t.raw.requests().size(), 1u);
  BOOST_CHECK(t.raw.requests()[0].find("X-Injected") == std::string::npos);
}

// The client writes the head itself: the origin's Host, the caller's fields but the framing
// it owns, a User-Agent unless the caller gave one, the body's true length.
BOOST_AUTO_TEST_CASE(the_request_head_is_the_callers_fields_with_the_clients_framing) {
  const std::string ok =
      conclave::test::http_reply("200 OK", "content-type: application/json\r\n", raw_completion);
  scripted t({ok, ok, ok});
  const std::string host = "Host: 127.0.0.1:" + std::to_string(t.base.where.port) + "\r\n";

  auto req = chat(t.base, "raw");
  req.set(bhttp::field::host, "evil.example");
  req.set(bhttp::field::content_length, "1");
  req.set(bhttp::field::connection, "close");
  req.set("x-trace", "t-1");
  const std::string body = req.body();
  auto r = run(t.io, t.client->request(t.base.where, std::move(req)));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);

  auto with_agent = chat(t.base, "raw");
  with_agent.set(bhttp::field::user_agent, "host-app/2");
  BOOST_REQUIRE(!run(t.io, t.client->request(t.base.where, std::move(with_agent))).ec);

  http::request_message get{bhttp::verb::get, t.base.target("models"), 11};
  BOOST_REQUIRE(!run(t.io, t.client->request(t.base.where, std::move(get))).ec);

  BOOST_REQUIRE_EQUAL(t.raw.requests().size(), 3u);
  const std::string& first = t.raw.requests()[0];
  BOOST_CHECK_EQUAL(first, "POST /v1/chat/completions HTTP/1.1\r\n" + host +
                               "Content-Type: application/json\r\nx-trace: t-1\r\n"
                               "User-Agent: conclave/0.1\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string& second = t.raw.requests()[1];
  BOOST_CHECK(second.find("User-Agent: host-app/2\r\n") != std::string::npos);
  BOOST_CHECK(second.find("conclave/0.1") == std::string::npos);
  BOOST_CHECK_EQUAL(t.raw.requests()[2],
                    "GET /v1/models HTTP/1.1\r\n" + host + "User-Agent: conclave/0.1\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(a_user_agent_that_would_inject_headers_is_never_sent) {
  asio::io_context io;
  conclave::test::scripted_server raw(io, std::vector<std::string>{});
  const auto base = *http::parse_base_url(raw.base_url());
  http::client_options o;
  o.user_agent = "app\r\nX-Injected: 1";
  auto client = std::make_unique<http::client>(io.get_executor(), o);
  auto r = run(io, client->request(base.where, chat(base, "raw")));
  BOOST_CHECK(r.ec == http::error::unsafe_request);
  BOOST_CHECK(r.failure_detail.find("user agent") != std::string::npos);
  BOOST_CHECK_EQUAL(client->stats().connections_opened, 0u);
  raw.stop();
  client.reset();
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_hand_made_origin_or_method_that_would_break_the_head_is_refused) {
  scripted t({conclave::test::http_reply("200 OK", "", raw_completion)});
  http::origin bad = t.base.where;
  bad.host = "127.0.0.1\r\nX-Injected: 1";
  auto r = run(t.io, t.client->request(bad, chat(t.base, "raw")));
  BOOST_CHECK(r.ec == http::error::unsafe_request);
  BOOST_CHECK_MESSAGE(r.failure_detail.find("host") != std::string::npos, r.failure_detail);
  auto odd = chat(t.base, "raw");
  odd.method_string("POST /x HTTP/1.1\r\nX-Injected:");
  r = run(t.io, t.client->request(t.base.where, std::move(odd)));
  BOOST_CHECK(r.ec == http::error::unsafe_request);
  BOOST_CHECK_MESSAGE(r.failure_detail.find("method") != std::string::npos, r.failure_detail);
  BOOST_CHECK_EQUAL(t.client->stats().connections_opened, 0u);
  BOOST_CHECK(t.raw.requests().empty());
}

BOOST_AUTO_TEST_CASE(a_refused_head_leaves_the_body_unread) {
  loopback lb;
  bool sunk = false;
  auto r =
      run(lb.io, lb.client->stream(
                     lb.base.where, chat(lb.base, "mock", true), http::client::clock::now() + 10s,
                     [&](std::string_view) { return sunk = true; },
                     [](const http::response& head) {
                       return head.headers[bhttp::field::content_type] == "text/plain";
                     }));
  BOOST_CHECK(!r.ec);
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK(r.stopped_by_sink);
  BOOST_CHECK(!sunk);
  auto again = lb.call("mock");  // that connection was closed, not pooled
  BOOST_CHECK(!again.ec);
  BOOST_CHECK(!again.reused_connection);
}

BOOST_AUTO_TEST_CASE(sequential_requests_share_one_connection) {
  loopback lb;
  for (int i = 0; i < 1000; ++i) {
    auto r = lb.call("mock");
    BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
    BOOST_CHECK_EQUAL(r.status, 200u);
    BOOST_CHECK(r.body.find("chat.completion") != std::string::npos);
    BOOST_CHECK_EQUAL(r.reused_connection, i > 0);
  }
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 1u);
  BOOST_CHECK_EQUAL(lb.client->stats().connections_opened, 1u);
}

BOOST_AUTO_TEST_CASE(idle_connections_past_the_idle_timeout_are_evicted) {
  http::client_options c;
  c.idle_timeout = 0ms;  // any time spent idle is too long: eviction without waiting
  loopback lb({}, c);
  for (int i = 0; i < 3; ++i) {
    auto r = lb.call("mock");
    BOOST_REQUIRE(!r.ec);
    BOOST_CHECK(!r.reused_connection);
  }
  BOOST_CHECK_EQUAL(lb.client->stats().connections_opened, 3u);
}

BOOST_AUTO_TEST_CASE(concurrent_requests_respect_the_connection_cap) {
  mock::mock_options m;
  m.latency = 20ms;
  http::client_options c;
  c.max_connections_per_origin = 3;
  loopback lb(m, c);
  int ok = 0, finished = 0;
  for (int i = 0; i < 12; ++i) {
    asio::co_spawn(
        lb.io,
        lb.client->request(lb.base.where, chat(lb.base, "mock"), http::client::clock::now() + 10s),
        [&](std::exception_ptr e, http::response r) {
          ++finished;
          if (!e && !r.ec && r.status == 200) ++ok;
        });
  }
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return finished == 12; }));
  BOOST_CHECK_EQUAL(ok, 12);
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 3u);
}

BOOST_AUTO_TEST_CASE(a_closed_keep_alive_connection_is_replaced_transparently) {
  mock::mock_options m;
  m.close_after_requests = 1;  // the server drops every connection after one reply, silently
  loopback lb(m);
  for (int i = 0; i < 5; ++i) {
    auto r = lb.call("mock");
    BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
    BOOST_CHECK_EQUAL(r.status, 200u);
  }
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 5u);
  BOOST_CHECK_EQUAL(lb.server.stats().completions, 5u);  // none was sent twice
}

// A kept-alive connection that answered the second request with a head (a 1xx, or a status
// line Beast reads as 0) and then closed had the request: it fails, and is never sent again on
// a fresh connection (a POST to a model would be billed twice).
BOOST_AUTO_TEST_CASE(a_request_a_server_answered_any_head_to_is_never_sent_twice) {
  const std::string keep_alive_ok =
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
      std::to_string(raw_completion.size()) + "\r\n\r\n" + raw_completion;
  const std::string fresh_ok =
      conclave::test::http_reply("200 OK", "content-type: application/json\r\n", raw_completion);
  for (const std::string& cut_after :
       {early_hints, std::string("HTTP/1.1 000 X\r\ncontent-length: 100\r\n\r\n")}) {
    asio::io_context io;
    conclave::test::scripted_server raw(
        io, conclave::test::per_connection{{{keep_alive_ok, cut_after}, {fresh_ok}}});
    auto base = *http::parse_base_url(raw.base_url());
    auto client = std::make_unique<http::client>(io.get_executor());
    auto first = run(io, client->request(base.where, chat(base, "raw")));
    BOOST_REQUIRE_MESSAGE(!first.ec, first.failure_detail);
    auto second = run(io, client->request(base.where, chat(base, "raw")));
    BOOST_CHECK(second.ec);
    BOOST_CHECK(second.reused_connection);
    BOOST_CHECK_EQUAL(raw.requests().size(), 2u);  // the fresh connection never got it
    raw.stop();
    client.reset();
    conclave::test::expect_no_leftover_work(io);
  }
}

// A stream that stalls after its first pieces: the deadline ends the body's read.
BOOST_AUTO_TEST_CASE(a_deadline_while_a_stream_stalls_is_a_timeout_naming_the_body) {
  mock::mock_options m;
  m.stream_interval = 4s;  // the mock notices the closed connection at its next piece
  loopback lb(m);
  std::string streamed;
  auto r = run(lb.io,
               lb.client->stream(lb.base.where, chat(lb.base, "mock", true),
                                 http::client::clock::now() + 1500ms, [&](std::string_view chunk) {
                                   streamed += chunk;
                                   return true;
                                 }));
  BOOST_CHECK(r.ec == boost::beast::error::timeout);
  BOOST_CHECK_MESSAGE(r.failure_detail.find("reading the response body") != std::string::npos,
                      r.failure_detail);
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK(streamed.starts_with("data: "));  // the first piece came before the stall
  BOOST_CHECK_LT(r.elapsed, 4s);                // ended by the deadline, not the next piece
}

// A sink that has read enough stops the body midway: no error, the connection not reused.
BOOST_AUTO_TEST_CASE(a_sink_refusing_midway_stops_the_read_and_drops_the_connection) {
  mock::mock_options m;
  m.reply_words = 200;
  loopback lb(m);
  int pieces = 0;
  auto r = run(lb.io, lb.client->stream(lb.base.where, chat(lb.base, "mock", true),
                                        http::client::clock::now() + 10s,
                                        [&](std::string_view) { return ++pieces < 2; }));
  BOOST_CHECK(!r.ec);
  BOOST_CHECK(r.stopped_by_sink);
  BOOST_CHECK_EQUAL(pieces, 2);
  auto again = lb.call("mock");
  BOOST_CHECK(!again.ec);
  BOOST_CHECK(!again.reused_connection);
}

BOOST_AUTO_TEST_CASE(deadline_expiry_is_a_timeout_naming_the_phase) {
  loopback lb;
  auto r = lb.call("mock-hang", 100ms);
  BOOST_CHECK(r.ec == boost::beast::error::timeout);
  BOOST_CHECK(r.failure_detail.find("waiting for the response") != std::string::npos);
  BOOST_CHECK_LT(r.elapsed, 5s);
  // The timed-out connection was closed, not pooled: the next call opens a fresh one.
  auto again = lb.call("mock");
  BOOST_CHECK(!again.ec);
  BOOST_CHECK(!again.reused_connection);
}

BOOST_AUTO_TEST_CASE(cancellation_aborts_the_request) {
  loopback lb;
  asio::cancellation_signal cancel;
  bool finished = false;
  http::response result;
  asio::co_spawn(
      lb.io, lb.client->request(lb.base.where, chat(lb.base, "mock-hang")),
      asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr, http::response r) {
        result = std::move(r);
        finished = true;
      }));
  // Wait until the server holds the request, then cancel: no sleeps, just events.
  BOOST_REQUIRE(
      conclave::test::pump_until(lb.io, [&] { return lb.server.stats().in_flight == 1; }));
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return finished; }));
  BOOST_CHECK(result.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(a_response_over_the_size_limit_fails) {
  http::client_options c;
  c.max_response_bytes = 100;
  loopback lb({}, c);
  auto r = lb.call("mock");
  BOOST_CHECK(r.ec == bhttp::error::body_limit);
}

BOOST_AUTO_TEST_CASE(connection_refused_is_reported) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  http::client client(io.get_executor());
  http::origin where{false, "127.0.0.1", port};
  http::request_message m{bhttp::verb::get, "/", 11};
  auto r = run(io, client.request(where, m, http::client::clock::now() + 5s));
  BOOST_CHECK(r.ec == asio::error::connection_refused);
  BOOST_CHECK(r.failure_detail.find("cannot connect") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_host_name_is_resolved_then_connected) {
  loopback lb;
  http::origin named{false, "localhost", lb.base.where.port};  // the mock listens on 127.0.0.1
  auto r = run(lb.io,
               lb.client->request(named, chat(lb.base, "mock"), http::client::clock::now() + 10s));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK_EQUAL(lb.client->stats().connections_opened, 1u);

  // A name that resolves to where nothing listens: the connect's error, named.
  std::uint16_t closed = 0;
  {
    asio::ip::tcp::acceptor a(lb.io, {asio::ip::make_address("127.0.0.1"), 0});
    closed = a.local_endpoint().port();
  }
  http::origin nowhere{false, "localhost", closed};
  auto refused = run(
      lb.io, lb.client->request(nowhere, chat(lb.base, "mock"), http::client::clock::now() + 10s));
  BOOST_CHECK(refused.ec);
  BOOST_CHECK_MESSAGE(refused.failure_detail.find("cannot connect to http://localhost:") == 0,
                      refused.failure_detail);
}

BOOST_AUTO_TEST_CASE(streamed_body_arrives_through_the_sink) {
  mock::mock_options m;
  m.reply_words = 200;
  loopback lb(m);
  std::string streamed;
  int pieces = 0;
  auto r =
      run(lb.io, lb.client->stream(lb.base.where, chat(lb.base, "mock", true),
                                   http::client::clock::now() + 10s, [&](std::string_view chunk) {
                                     streamed += chunk;
                                     ++pieces;
                                     return true;
                                   }));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.body.empty());
  BOOST_CHECK_GT(pieces, 1);
  BOOST_CHECK(streamed.ends_with("data: [DONE]\n\n"));
}

// async_stream with a plain callback: what http_model uses, with no coroutine of its own.
struct stream_outcome {
  bool finished = false;
  std::exception_ptr error;
  http::response response;
};

auto record(stream_outcome& out) {
  return [&out](std::exception_ptr e, http::response r) {
    out.error = e;
    out.response = std::move(r);
    out.finished = true;
  };
}

BOOST_AUTO_TEST_CASE(async_stream_completes_a_callback_with_the_reply) {
  loopback lb;
  stream_outcome out;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"), http::client::clock::now() + 10s,
                          {}, {}, record(out));
  BOOST_CHECK(!out.finished);  // never inline
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return out.finished; }));
  BOOST_CHECK(!out.error);
  BOOST_REQUIRE(!out.response.ec);
  BOOST_CHECK_EQUAL(out.response.status, 200u);
  BOOST_CHECK(out.response.body.find("Why test?") != std::string::npos);
  BOOST_CHECK_GT(out.response.elapsed.count(), 0);
}

BOOST_AUTO_TEST_CASE(async_stream_times_out_naming_the_phase_and_cancels_through_its_slot) {
  loopback lb;
  stream_outcome timed;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock-hang"),
                          http::client::clock::now() + 100ms, {}, {}, record(timed));
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return timed.finished; }));
  BOOST_CHECK(timed.response.ec == boost::beast::error::timeout);
  BOOST_CHECK(timed.response.failure_detail.find(
                  "deadline expired while waiting for the response") != std::string::npos);

  stream_outcome cancelled;
  asio::cancellation_signal cancel;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock-hang"),
                          http::client::clock::time_point::max(), {}, {},
                          asio::bind_cancellation_slot(cancel.slot(), record(cancelled)));
  BOOST_REQUIRE(
      conclave::test::pump_until(lb.io, [&] { return lb.server.stats().in_flight == 1; }));
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return cancelled.finished; }));
  BOOST_CHECK(!cancelled.error);
  BOOST_CHECK(cancelled.response.ec == asio::error::operation_aborted);
  BOOST_CHECK(cancelled.response.failure_detail.empty());  // the caller's, not a deadline
}

BOOST_AUTO_TEST_CASE(a_call_in_the_pool_line_leaves_it_on_its_deadline_or_cancel) {
  http::client_options c;
  c.max_connections_per_origin = 1;
  loopback lb({}, c);
  // The one connection is held by a call the server never answers.
  stream_outcome holder;
  asio::cancellation_signal let_go;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock-hang"),
                          http::client::clock::time_point::max(), {}, {},
                          asio::bind_cancellation_slot(let_go.slot(), record(holder)));
  BOOST_REQUIRE(
      conclave::test::pump_until(lb.io, [&] { return lb.server.stats().in_flight == 1; }));

  stream_outcome timed;  // in line until its deadline
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"), http::client::clock::now() + 100ms,
                          {}, {}, record(timed));
  stream_outcome cancelled;  // in line until its caller cancels
  asio::cancellation_signal cancel;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"),
                          http::client::clock::time_point::max(), {}, {},
                          asio::bind_cancellation_slot(cancel.slot(), record(cancelled)));
  stream_outcome served;  // behind both: the slot comes to it once the holder lets go
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"), http::client::clock::now() + 10s,
                          {}, {}, record(served));

  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return timed.finished; }));
  BOOST_CHECK(timed.response.ec == boost::beast::error::timeout);
  BOOST_CHECK_MESSAGE(
      timed.response.failure_detail.find(
          "deadline expired while waiting for a pooled connection") != std::string::npos,
      timed.response.failure_detail);
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return cancelled.finished; }));
  BOOST_CHECK(cancelled.response.ec == asio::error::operation_aborted);
  BOOST_CHECK(!served.finished);  // still in line: the holder has the one slot

  let_go.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return served.finished; }));
  BOOST_CHECK(holder.response.ec == asio::error::operation_aborted);
  BOOST_REQUIRE_MESSAGE(!served.response.ec, served.response.failure_detail);
  BOOST_CHECK_EQUAL(served.response.status, 200u);
  // The holder's connection closed with its cancel; the call served opened the second. The
  // two that left the line took no slot with them.
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 2u);
  BOOST_CHECK(!lb.call("mock").ec);
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 2u);
}

BOOST_AUTO_TEST_CASE(a_connection_handed_to_a_call_cancelled_meanwhile_goes_back_to_the_pool) {
  http::client_options c;
  c.max_connections_per_origin = 1;
  loopback lb({}, c);
  // The holder's reply hands its kept-alive connection to the call in line (a posted
  // completion); the holder's handler, which runs before that completion, cancels that call.
  stream_outcome waiting;
  asio::cancellation_signal cancel;
  stream_outcome holder;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"), http::client::clock::now() + 10s,
                          {}, {}, [&](std::exception_ptr e, http::response r) {
                            record(holder)(e, std::move(r));
                            cancel.emit(asio::cancellation_type::terminal);
                          });
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"),
                          http::client::clock::time_point::max(), {}, {},
                          asio::bind_cancellation_slot(cancel.slot(), record(waiting)));
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return waiting.finished; }));
  BOOST_REQUIRE_MESSAGE(!holder.response.ec, holder.response.failure_detail);
  BOOST_CHECK(waiting.response.ec == asio::error::operation_aborted);
  // The connection it never used serves the next call.
  const auto next = lb.call("mock");
  BOOST_REQUIRE_MESSAGE(!next.ec, next.failure_detail);
  BOOST_CHECK(next.reused_connection);
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 1u);
}

BOOST_AUTO_TEST_CASE(a_connect_left_waiting_ends_on_its_deadline_or_cancel) {
  // A listener that never accepts, its queue full: the kernel drops the next SYNs, so a
  // connect is not done when connect() returns (as it is on loopback otherwise), and the call
  // waits for the socket to be writable.
  asio::io_context io;
  asio::ip::tcp::acceptor full(io);
  full.open(asio::ip::tcp::v4());
  full.bind({asio::ip::make_address("127.0.0.1"), 0});
  full.listen(0);
  const auto at = full.local_endpoint();
  // A connect started and never waited for (Asio's connect would wait in poll()).
  auto start_connect = [&] {
    asio::ip::tcp::socket s(io);
    s.open(asio::ip::tcp::v4());
    s.non_blocking(true);
    (void)::connect(s.native_handle(), at.data(), static_cast<socklen_t>(at.size()));
    return s;
  };
  std::vector<asio::ip::tcp::socket> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(start_connect());
  {
    auto probe = start_connect();
    pollfd ready{probe.native_handle(), POLLOUT, 0};
    BOOST_REQUIRE_MESSAGE(::poll(&ready, 1, 0) == 0,
                          "this kernel completed a connect to a full accept queue: the test "
                          "needs one left waiting");
  }
  auto client = std::make_unique<http::client>(io.get_executor());
  const http::origin where{false, "127.0.0.1", at.port()};
  auto timed = run(io, client->request(where, http::request_message{bhttp::verb::get, "/", 11},
                                       http::client::clock::now() + 100ms));
  BOOST_CHECK(timed.ec == boost::beast::error::timeout);
  BOOST_CHECK_MESSAGE(timed.failure_detail == "deadline expired while connecting",
                      timed.failure_detail);

  stream_outcome cancelled;
  asio::cancellation_signal cancel;
  client->async_stream(where, http::request_message{bhttp::verb::get, "/", 11},
                       http::client::clock::time_point::max(), {}, {},
                       asio::bind_cancellation_slot(cancel.slot(), record(cancelled)));
  io.restart();
  io.poll();  // its steps so far: the connect is in progress
  BOOST_CHECK(!cancelled.finished);
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return cancelled.finished; }));
  BOOST_CHECK(cancelled.response.ec == asio::error::operation_aborted);
  BOOST_CHECK_EQUAL(client->stats().connections_opened, 0u);
  client.reset();
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_long_reply_head_is_read_whole_past_its_first_block) {
  std::string fields;
  for (int i = 0; i < 40; ++i) {
    fields += "x-detail-" + std::to_string(i) + ": " +
              std::string(50, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  fields += "content-type: application/json\r\n";
  scripted t({conclave::test::http_reply("200 OK", fields, raw_completion)});
  auto r = run(t.io, t.client->request(t.base.where, chat(t.base, "raw")));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
  BOOST_CHECK_EQUAL(r.body, raw_completion);
  // 40, content-type, content-length and connection.
  BOOST_CHECK_EQUAL(std::distance(r.headers.begin(), r.headers.end()), 43);
  BOOST_CHECK_EQUAL(r.headers["x-detail-0"], std::string(50, 'a'));
  BOOST_CHECK_EQUAL(r.headers["x-detail-39"], std::string(50, 'n'));
  // A copy has storage of its own: it outlives the reply.
  http::header_fields kept;
  {
    const http::response gone = std::move(r);
    kept = gone.headers;
  }
  BOOST_CHECK_EQUAL(kept["x-detail-39"], std::string(50, 'n'));
}

BOOST_AUTO_TEST_CASE(a_request_past_the_socket_buffers_is_sent_whole) {
  const std::string ok =
      conclave::test::http_reply("200 OK", "content-type: application/json\r\n", raw_completion);
  scripted t({ok});
  // More than a loopback socket's buffers take at once: the client writes what fits itself,
  // then the rest with an operation while the server reads.
  auto req = chat(t.base, "raw");
  req.body() = std::string(24 * 1024 * 1024, 'x');
  auto r = run(t.io, t.client->request(t.base.where, std::move(req)));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
  BOOST_REQUIRE_EQUAL(t.raw.requests().size(), 1u);
  const std::string& got = t.raw.requests()[0];
  const auto body_at = got.find("\r\n\r\n") + 4;
  BOOST_CHECK_EQUAL(got.size() - body_at, 24u * 1024 * 1024);
  BOOST_CHECK(got.find_first_not_of('x', body_at) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_reply_head_split_across_reads_is_read_on_by_an_operation) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  const std::string reply = conclave::test::http_reply(
      "200 OK", "content-type: application/json\r\nx-long: " + std::string(300, 'h') + "\r\n",
      raw_completion);
  // Half the head, then (once the client has had a turn to read it) the rest.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        std::string in;
        co_await asio::async_read_until(socket, asio::dynamic_buffer(in), "\r\n\r\n",
                                        asio::use_awaitable);
        co_await asio::async_write(socket, asio::buffer(reply.data(), 100), asio::use_awaitable);
        asio::steady_timer later(io, 20ms);
        co_await later.async_wait(asio::use_awaitable);
        co_await asio::async_write(socket, asio::buffer(reply.data() + 100, reply.size() - 100),
                                   asio::use_awaitable);
      },
      asio::detached);
  http::client client(io.get_executor());
  const auto base = *http::parse_base_url("http://127.0.0.1:" + std::to_string(port) + "/v1");
  http::request_message get{bhttp::verb::get, base.target("models"), 11};
  auto r = run(io, client.request(base.where, std::move(get), http::client::clock::now() + 10s));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK_EQUAL(r.headers["x-long"], std::string(300, 'h'));
  BOOST_CHECK_EQUAL(r.body, raw_completion);
}

BOOST_AUTO_TEST_CASE(a_reply_to_head_has_no_body_whatever_its_length_says) {
  const std::string to_head =
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n";
  const std::string ok =
      conclave::test::http_reply("200 OK", "content-type: application/json\r\n", raw_completion);
  asio::io_context io;
  conclave::test::scripted_server raw(io, conclave::test::per_connection{{{to_head, ok}}});
  const auto base = *http::parse_base_url(raw.base_url());
  auto client = std::make_unique<http::client>(io.get_executor());
  // Read as a body, the next reply on the connection would be taken for the first's (or the
  // call would wait for 5,000 bytes until its deadline).
  http::request_message head{bhttp::verb::head, base.target("models"), 11};
  auto r = run(io, client->request(base.where, std::move(head), http::client::clock::now() + 5s));
  BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK_EQUAL(r.headers[bhttp::field::content_length], "5000");
  BOOST_CHECK(r.body.empty());
  auto next = run(io, client->request(base.where, chat(base, "raw")));
  BOOST_REQUIRE_MESSAGE(!next.ec, next.failure_detail);
  BOOST_CHECK(next.reused_connection);
  BOOST_CHECK_EQUAL(next.body, raw_completion);
  raw.stop();
  client.reset();
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_sink_that_throws_completes_the_operation_with_its_exception) {
  loopback lb;
  stream_outcome out;
  lb.client->async_stream(
      lb.base.where, chat(lb.base, "mock", true), http::client::clock::now() + 10s,
      [](std::string_view) -> bool { throw std::runtime_error("a bug in the sink"); }, {},
      record(out));
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return out.finished; }));
  BOOST_REQUIRE(out.error);
  BOOST_CHECK_EXCEPTION(
      std::rethrow_exception(out.error), std::runtime_error,
      [](const std::runtime_error& e) { return std::string(e.what()) == "a bug in the sink"; });
  // The connection it was reading was not pooled half-read: the next call still works.
  auto again = lb.call("mock");
  BOOST_CHECK(!again.ec);
  BOOST_CHECK(!again.reused_connection);
}

BOOST_AUTO_TEST_CASE(an_exception_from_the_completion_handler_goes_out_of_run) {
  // The handler's own exception is not the call's to swallow (nor to report to it again).
  loopback lb;
  int calls = 0;
  lb.client->async_stream(lb.base.where, chat(lb.base, "mock"), http::client::clock::now() + 10s,
                          {}, {}, [&calls](std::exception_ptr, http::response) {
                            ++calls;
                            throw std::runtime_error("the handler's own");
                          });
  BOOST_CHECK_EXCEPTION(
      conclave::test::pump_until(lb.io, [&] { return calls == 1; }), std::runtime_error,
      [](const std::runtime_error& e) { return std::string(e.what()) == "the handler's own"; });
  BOOST_CHECK_EQUAL(calls, 1);
  lb.io.restart();
  auto again = lb.call("mock");  // the pool slot was given back
  BOOST_CHECK_MESSAGE(!again.ec, again.failure_detail);
}

BOOST_AUTO_TEST_CASE(tls_with_the_right_ca_works_and_reuses) {
  tls_setup t;
  loopback lb(t.server(), t.client_trusting_ca());
  BOOST_CHECK(lb.base.where.tls);
  for (int i = 0; i < 5; ++i) {
    auto r = lb.call("mock");
    BOOST_REQUIRE_MESSAGE(!r.ec, r.failure_detail);
    BOOST_CHECK_EQUAL(r.status, 200u);
  }
  BOOST_CHECK_EQUAL(lb.server.stats().connections_accepted, 1u);
}

BOOST_AUTO_TEST_CASE(tls_with_a_wrong_ca_fails_clearly) {
  tls_setup served, other;
  expect_tls_failure(served, other.client_trusting_ca(), "certificate verify failed");
}

BOOST_AUTO_TEST_CASE(tls_with_a_wrong_hostname_fails_clearly) {
  mock::test_pki_options o;
  o.dns_names = {"api.example.test"};
  o.ip_addresses = {};
  tls_setup t(o);
  expect_tls_failure(t, t.client_trusting_ca(), "mismatch");
}

BOOST_AUTO_TEST_CASE(tls_with_an_expired_certificate_fails_clearly) {
  mock::test_pki_options o;
  o.server_valid_from = -48h;
  o.server_valid_for = 24h;
  tls_setup t(o);
  expect_tls_failure(t, t.client_trusting_ca(), "expired");
}

BOOST_AUTO_TEST_CASE(tls_without_a_ca_file_uses_the_system_store_and_rejects_ours) {
  tls_setup t;
  expect_tls_failure(t, http::client_options{}, "certificate verify failed");
}

BOOST_AUTO_TEST_CASE(a_missing_ca_file_is_a_clear_error) {
  tls_setup t;
  http::client_options c;
  c.tls.ca_file = "/nonexistent/ca.pem";
  expect_tls_failure(t, c, "cannot load CA file");
  // Its own code, not the file system's ENOENT: that would read as a retryable connection error.
  loopback lb(t.server(), c);
  BOOST_CHECK(lb.call("mock").ec == http::error::tls_config_invalid);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_http_client
