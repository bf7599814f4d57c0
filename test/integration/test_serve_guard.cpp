// `conclave serve` against hostile or careless clients, in-process over loopback: oversized
// bodies and headers, slowloris, a streaming chat client that leaves mid-stream, an event
// stream nobody reads; and the graceful stop (runs finish within the grace, or are cancelled
// past it; new submits get 503).
#include "serve_rig.hpp"

#include <boost/asio/socket_base.hpp>
#include <boost/test/unit_test.hpp>

namespace integration_test_serve_guard {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using asio::ip::tcp;
using conclave::test::error_field;
using conclave::test::json_of;
using conclave::test::pump_until;
using conclave::test::request_text;
using conclave::test::run;
using conclave::test::serve_rig;
using conclave::test::serve_setup;
using conclave::test::sse_events;

namespace {

// Sends `bytes` on a fresh connection (the server may close before reading them all), then
// reads until the server closes.
asio::awaitable<std::string> raw_exchange(std::uint16_t port, std::string bytes) {
  auto s = co_await conclave::test::connect_loopback(port);
  co_await asio::async_write(s, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  co_return co_await conclave::test::read_to_close(s);
}

// Connects `s` and sends `bytes` on it (a value-returning op: run() needs one).
asio::awaitable<bool> open_and_send(tcp::socket& s, std::uint16_t port, std::string bytes) {
  s = co_await conclave::test::connect_loopback(port);
  co_await asio::async_write(s, asio::buffer(bytes), asio::use_awaitable);
  co_return true;
}

// Whether a new connection is refused (the acceptor closed).
asio::awaitable<bool> refused(std::uint16_t port) {
  tcp::socket s(co_await asio::this_coro::executor);
  const tcp::endpoint where(asio::ip::make_address("127.0.0.1"), port);
  auto [ec] = co_await s.async_connect(where, asio::as_tuple(asio::use_awaitable));
  co_return static_cast<bool>(ec);
}

serve_setup limited() {
  serve_setup s;
  s.service.http.limits.max_body_bytes = 4096;
  s.service.http.limits.max_header_bytes = 2048;
  s.service.http.limits.header_timeout = 150ms;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(serve)

BOOST_AUTO_TEST_CASE(oversized_requests_and_slowloris) {
  serve_rig r(limited());
  const std::string big_body = R"({"question":")" + std::string(10'000, 'x') + R"("})";
  const auto too_large =
      run(r.io, raw_exchange(r.port(), request_text("POST", "/v1/tasks", big_body)));
  BOOST_CHECK_MESSAGE(too_large.starts_with("HTTP/1.1 413"), too_large.substr(0, 80));
  const auto huge_header =
      run(r.io, raw_exchange(r.port(), request_text("GET", "/healthz", {},
                                                    {{"x-padding", std::string(4'000, 'p')}})));
  BOOST_CHECK_MESSAGE(huge_header.starts_with("HTTP/1.1 431"), huge_header.substr(0, 80));
  // Slowloris: half a header, then nothing; the server answers 408 and closes in time.
  const auto slow =
      run(r.io, raw_exchange(r.port(), "POST /v1/tasks HTTP/1.1\r\nhost: 127.0.0.1\r\n"), 5s);
  BOOST_CHECK_MESSAGE(slow.empty() || slow.starts_with("HTTP/1.1 408"), slow.substr(0, 80));
  const auto stats = r.svc->stats().http;
  BOOST_CHECK_GE(stats.refused_too_large, 2u);
  BOOST_CHECK_GE(stats.timed_out, 1u);
  BOOST_CHECK_EQUAL(r.gate->calls().size(), 0u);
  BOOST_CHECK_EQUAL(r.call("GET", "/healthz").result_int(), 200u);  // still serving
}

BOOST_AUTO_TEST_CASE(a_streaming_chat_client_that_leaves_cancels_its_run) {
  serve_setup s;
  s.mock.latency = 20ms;
  s.mock.jitter = 600ms;  // the agents end far apart: the first write after the reset fails
  serve_rig r(s);
  const std::string body = R"({"model":"conclave-heavy-4","stream":true,)"
                           R"("messages":[{"role":"user","content":"Compare tea and coffee"}]})";
  tcp::socket sock(r.io);
  run(r.io, open_and_send(sock, r.port(), request_text("POST", "/v1/chat/completions", body)));
  std::string seen;
  BOOST_REQUIRE(run(r.io, conclave::test::read_until_count(sock, seen, "Decomposed into 4", 1)));
  BOOST_CHECK_EQUAL(r.svc->stats().chat_runs, 1u);
  // Gone with a reset, mid-stream, while the four agents' calls are at the mock.
  sock.set_option(asio::socket_base::linger(true, 0));
  sock.close();
  BOOST_REQUIRE_MESSAGE(pump_until(
                            r.io, [&] { return r.svc->stats().chat_runs == 0; }, 10s),
                        "the run went on after its client left");
  const auto calls = r.gate->calls().size();
  BOOST_TEST_MESSAGE("a streaming client left: the run made " << calls << " calls of 6");
  BOOST_CHECK_LE(calls, 5u);  // the decomposition and four agents at most: no synthesis
  // The agents' calls still at the mock were cancelled: none is left, none comes later.
  BOOST_REQUIRE(pump_until(
      r.io, [&] { return r.mock->stats().in_flight == 0; }, 5s));
  BOOST_CHECK_EQUAL(r.gate->calls().size(), calls);
}

BOOST_AUTO_TEST_CASE(an_unread_event_stream_does_not_stall_its_task) {
  serve_setup s;
  s.mock.reply_words = 4'000;  // big events: the reader's socket buffers fill
  serve_rig r(s);
  r.gate->hold();
  const std::string id =
      r.submit(R"({"question":"Compare marker-big and more","options":{"agents":8}})");
  tcp::socket idle_reader(r.io);
  run(r.io,
      open_and_send(idle_reader, r.port(), request_text("GET", "/v1/tasks/" + id + "/events")));
  r.gate->open();
  const auto frames = sse_events(r.events(id).body());
  BOOST_CHECK_EQUAL(json_of(frames.back().data).at("state").as_string(), "succeeded");
  BOOST_CHECK_EQUAL(r.svc->stats().running_tasks, 0u);
  idle_reader.close();
}

BOOST_AUTO_TEST_CASE(stop_lets_a_running_task_finish_and_refuses_new_work) {
  serve_setup s;
  s.mock.latency = 100ms;
  serve_rig r(s);
  const std::string id =
      r.submit(R"({"question":"Compare marker-last and others","options":{"agents":2}})");
  r.until_called_about("marker-last");
  BOOST_CHECK_EQUAL(r.svc->stats().running_tasks, 1u);
  // A client mid-request when the stop comes: its header is in, its body not yet.
  const std::string late = R"({"question":"too late"})";
  std::string head = request_text("POST", "/v1/tasks", late);
  head.resize(head.size() - late.size());
  const auto requests = r.svc->stats().http.requests;
  tcp::socket pending(r.io);
  run(r.io, open_and_send(pending, r.port(), head));
  // Its header read (no longer an idle connection, which the stop would close).
  BOOST_REQUIRE(pump_until(r.io, [&] { return r.svc->stats().http.requests > requests; }));
  r.svc->stop();
  // No new connections once stopping (bounded: each attempt drives the io_context).
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) closed = run(r.io, refused(r.port()));
  BOOST_REQUIRE(closed);
  BOOST_CHECK(!r.run_done);  // the task still runs
  run(r.io, [&]() -> asio::awaitable<bool> {
    co_await asio::async_write(pending, asio::buffer(late), asio::use_awaitable);
    co_return true;
  }());
  const auto refused_submit = run(r.io, conclave::test::read_reply(pending));
  BOOST_CHECK_EQUAL(refused_submit.result_int(), 503u);
  BOOST_CHECK_EQUAL(error_field(refused_submit, "code"), "shutting_down");

  BOOST_REQUIRE(pump_until(
      r.io, [&] { return r.run_done; }, 10s));
  BOOST_CHECK(!r.run_ec);
  BOOST_CHECK_EQUAL(r.svc->stats().running_tasks, 0u);
  // It ran to its end: decomposition, two agents and the synthesis, each answered.
  BOOST_CHECK_EQUAL(r.gate->calls_about("marker-last"), 4u);
  BOOST_CHECK_EQUAL(r.mock->stats().completions, 4u);
  BOOST_CHECK_EQUAL(r.gate->calls_about("too late"), 0u);
  (void)id;
}

BOOST_AUTO_TEST_CASE(stop_past_the_grace_cancels_the_run) {
  serve_setup s;
  s.service.shutdown_grace = 100ms;
  serve_rig r(s);
  // The mock's hang: the run cannot end by itself (and the mock's stop ends the hang).
  r.submit(R"({"question":"Compare marker-slow and others","options":{"model":"mock-hang"}})");
  BOOST_REQUIRE(pump_until(r.io, [&] { return r.mock->stats().in_flight > 0; }));
  const auto stopped_at = std::chrono::steady_clock::now();
  r.svc->stop();
  BOOST_REQUIRE(pump_until(
      r.io, [&] { return r.run_done; }, 5s));
  BOOST_CHECK_LT(std::chrono::steady_clock::now() - stopped_at, 5s);
  BOOST_CHECK(!r.run_ec);
  BOOST_CHECK_EQUAL(r.svc->stats().running_tasks, 0u);
  BOOST_CHECK_EQUAL(r.mock->stats().completions, 0u);
  BOOST_CHECK(std::any_of(r.log.begin(), r.log.end(), [](const std::string& l) {
    return l.find("1 run still open") != std::string::npos;
  }));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_serve_guard
