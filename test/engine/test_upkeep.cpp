// Upkeep hooks for a long-lived host: limited_model and breaker_model forget the per-model
// state of names nobody uses, so memory stays bounded under arbitrary model names, and keep
// what is still in use (a call in flight or waiting, a cooldown, an open breaker).
#include "fake_model.hpp"
#include "run.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>

namespace engine_test_upkeep {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::fake_model;
using conclave::test::fake_reply;
using clock_type = std::chrono::steady_clock;

namespace {

// Starts one call to `name`; `done` counts completions, `last` keeps the last error.
void start_call(model& m, const std::string& name, int& done,
                boost::system::error_code* last = nullptr) {
  chat_request r;
  r.model = name;
  r.messages = {{role::user, "hello"}};
  m.async_complete(r, nullptr, [&done, last](boost::system::error_code ec, chat_response) {
    if (last) *last = ec;
    ++done;
  });
}

// One call to each of `n` names, all completed.
void call_names(asio::io_context& io, model& m, int n, const std::string& prefix) {
  int done = 0;
  for (int i = 0; i < n; ++i) start_call(m, prefix + std::to_string(i), done);
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == n; }));
}

// Lets `d` of real time pass while the context runs (timers in the limits need it).
void run_for_a_while(asio::io_context& io, clock_type::duration d) {
  asio::steady_timer t(io, d);
  bool over = false;
  t.async_wait([&](auto) { over = true; });
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return over; }));
}

// Answers "ok" at once, except for names starting with "slow" (after 200 ms)
// and "throttled" (a 429 asking for a 10 s wait).
fake_model::script by_name() {
  return [](const chat_request& r) {
    if (r.model.rfind("slow", 0) == 0) return fake_reply{200ms, "late"};
    if (r.model.rfind("throttled", 0) == 0) {
      fake_reply f{0ms, ""};
      f.error = error::rate_limited;
      f.retry_after = 10s;
      f.http_status = 429;
      return f;
    }
    return fake_reply{0ms, "ok"};
  };
}

rate_limit_options two_at_once() {
  rate_limit_options o;
  o.max_concurrency = 2;
  o.margin = 0ms;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(upkeep)

BOOST_AUTO_TEST_CASE(limited_model_forgets_many_unused_names) {
  asio::io_context io;
  fake_model inner(io.get_executor(), by_name());
  limited_model m(inner, two_at_once());
  call_names(io, m, 500, "model-");
  BOOST_CHECK_EQUAL(m.endpoint_count(), 500u);
  const auto before_calls = clock_type::now() - 1h;
  BOOST_CHECK_EQUAL(m.expire_idle(before_calls), 0u);  // all used since then
  BOOST_CHECK_EQUAL(m.endpoint_count(), 500u);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1ms), 500u);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 0u);
  BOOST_CHECK_EQUAL(m.stats_for("model-7").calls, 0u);  // forgotten
  call_names(io, m, 1, "model-");                       // a forgotten name starts afresh
  BOOST_CHECK_EQUAL(m.stats_for("model-0").calls, 1u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(limited_model_keeps_a_name_in_flight_or_waiting) {
  asio::io_context io;
  fake_model inner(io.get_executor(), by_name());
  auto o = two_at_once();
  o.max_concurrency = 1;
  limited_model m(inner, o);
  call_names(io, m, 20, "idle-");
  int done = 0;
  start_call(m, "slow", done);  // at the model
  start_call(m, "slow", done);  // waiting for the one permit
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] {
    const auto s = m.stats_for("slow");
    return s.in_flight == 1 && s.waiting == 1;
  }));
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1h), 20u);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 1u);
  BOOST_CHECK_EQUAL(m.stats_for("slow").in_flight, 1u);
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == 2; }));
  BOOST_CHECK_EQUAL(m.stats_for("slow").calls, 2u);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1ms), 1u);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 0u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(limited_model_keeps_a_cooldown_until_it_ends) {
  asio::io_context io;
  fake_model inner(io.get_executor(), by_name());
  limited_model m(inner, two_at_once());
  int done = 0;
  boost::system::error_code ec;
  start_call(m, "throttled", done, &ec);
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == 1; }));
  BOOST_CHECK(ec == error::rate_limited);
  BOOST_CHECK_EQUAL(m.stats_for("throttled").rate_limited, 1u);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1h), 0u);  // 10 s of cooldown left
  BOOST_CHECK_EQUAL(m.endpoint_count(), 1u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(limited_model_keeps_a_name_while_its_window_still_counts) {
  asio::io_context io;
  fake_model inner(io.get_executor(), by_name());
  auto o = two_at_once();
  o.requests_per_window = 5;
  o.window = 30ms;
  limited_model m(inner, o);
  call_names(io, m, 3, "windowed-");
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1h), 0u);  // starts still in the window
  run_for_a_while(io, 40ms);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now()), 3u);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 0u);
}

BOOST_AUTO_TEST_CASE(limited_model_with_a_shared_key_counts_keys) {
  asio::io_context io;
  fake_model inner(io.get_executor(), by_name());
  limited_model m(inner, two_at_once(), [](std::string_view name) {
    return std::string(name.substr(0, name.find('@')));
  });
  call_names(io, m, 50, "family@");
  BOOST_CHECK_EQUAL(m.endpoint_count(), 1u);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1ms), 1u);
}

BOOST_AUTO_TEST_CASE(breaker_model_forgets_many_unused_healthy_names) {
  asio::io_context io;
  fake_model inner(io.get_executor(), by_name());
  breaker_model m(inner);
  call_names(io, m, 500, "model-");
  BOOST_CHECK_EQUAL(m.endpoint_count(), 500u);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() - 1h), 0u);
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1ms), 500u);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 0u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(breaker_model_keeps_an_open_breaker_and_a_call_in_flight) {
  asio::io_context io;
  fake_model inner(io.get_executor(), [](const chat_request& r) {
    if (r.model == "down") {
      fake_reply f{0ms, ""};
      f.error = error::connection_failed;
      return f;
    }
    return r.model == "slow" ? fake_reply{200ms, "late"} : fake_reply{0ms, "ok"};
  });
  breaker_options o;
  o.failure_threshold = 1;
  o.cool_off = 1h;
  breaker_model m(inner, o);
  call_names(io, m, 10, "fine-");
  int done = 0;
  boost::system::error_code ec;
  start_call(m, "down", done, &ec);
  start_call(m, "slow", done);
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == 1; }));
  BOOST_CHECK(ec == error::connection_failed);
  BOOST_CHECK(m.state("down") == breaker_state::open);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 12u);
  // Kept: the open breaker and the one with a call in flight.
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1h), 10u);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 2u);
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == 2; }));
  BOOST_CHECK_EQUAL(m.expire_idle(clock_type::now() + 1ms), 1u);  // "slow", now done
  BOOST_CHECK(m.state("down") == breaker_state::open);
  BOOST_CHECK_EQUAL(m.endpoint_count(), 1u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_upkeep
