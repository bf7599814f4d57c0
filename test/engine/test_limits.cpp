// limited_model and breaker_model over an in-process fake model: concurrency caps, windows,
// the shared cooldown after a 429, adaptive concurrency, cancellation while waiting, and the
// circuit breaker failing fast. Real timers, small latencies; assertions on counts and order.
#include "ask_fixture.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

namespace engine_test_limits {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::fake_model;
using conclave::test::fake_reply;
using clock_type = std::chrono::steady_clock;

namespace {

struct call_log {
  std::mutex mutex;
  std::vector<clock_type::time_point> starts;
  void add() {
    std::lock_guard lock(mutex);
    starts.push_back(clock_type::now());
  }
};

// Answers "ok" after 1 ms, logging when each call reached the model.
fake_model::script answers_and_logs(std::shared_ptr<call_log> log) {
  return [log](const chat_request&) {
    log->add();
    return fake_reply{1ms, "ok"};
  };
}

struct result {
  boost::system::error_code ec;
  chat_response reply;
};

// Makes `n` calls at once through `m`; returns when all completed.
std::vector<result> call_all(asio::io_context& io, model& m, int n, std::string model_name = {}) {
  std::vector<result> out(static_cast<std::size_t>(n));
  int done = 0;
  for (int i = 0; i < n; ++i) {
    chat_request r;
    r.model = model_name;
    r.messages = {{role::user, "call " + std::to_string(i)}};
    m.async_complete(
        r, nullptr,
        asio::bind_executor(asio::make_strand(io), [&, i](auto ec, chat_response reply) {
          out[static_cast<std::size_t>(i)] = {ec, std::move(reply)};
          ++done;
        }));
  }
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == n; }));
  return out;
}

rate_limit_options fast_limits() {
  rate_limit_options o;
  o.window = 200ms;
  o.margin = 0ms;
  o.default_cooldown = 50ms;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(concurrency_cap_holds_for_every_caller) {
  asio::io_context io;
  fake_model inner(io.get_executor(), [](const chat_request&) { return fake_reply{10ms, "ok"}; });
  auto o = fast_limits();
  o.max_concurrency = 3;
  limited_model m(inner, o);
  auto results = call_all(io, m, 12);
  for (const auto& r : results) BOOST_CHECK(!r.ec);
  BOOST_CHECK_EQUAL(inner.peak_in_flight(), 3);
  BOOST_CHECK_EQUAL(m.stats_for("").calls, 12u);
  BOOST_CHECK_EQUAL(m.stats_for("").peak_in_flight, 3u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(request_window_spaces_out_starts) {
  asio::io_context io;
  auto log = std::make_shared<call_log>();
  fake_model inner(io.get_executor(), answers_and_logs(log));
  auto o = fast_limits();
  o.requests_per_window = 3;
  o.margin = 80ms;  // a start is logged a little after its reserved time: the margin absorbs it
  limited_model m(inner, o);
  const auto t0 = clock_type::now();
  auto results = call_all(io, m, 7);
  for (const auto& r : results) BOOST_CHECK(!r.ec);
  BOOST_REQUIRE_EQUAL(log->starts.size(), 7u);
  std::sort(log->starts.begin(), log->starts.end());
  // No 4 starts within any 200 ms: the i-th and (i+3)-th are a window apart.
  for (std::size_t i = 0; i + 3 < log->starts.size(); ++i) {
    BOOST_CHECK_GE(log->starts[i + 3] - log->starts[i], 200ms);
  }
  BOOST_CHECK_GE(clock_type::now() - t0, 560ms);  // 7 calls at 3 a window need 3 windows
}

BOOST_AUTO_TEST_CASE(token_window_holds_for_concurrent_callers) {
  // Elsewhere, 5 concurrent requests have used 6.6x a TPM limit: each checked the budget before
  // any had spent it. Here each reserves its estimate before it starts.
  asio::io_context io;
  auto log = std::make_shared<call_log>();
  fake_model inner(io.get_executor(), answers_and_logs(log));
  auto o = fast_limits();
  o.tokens_per_window = 1000;
  o.window = 100ms;
  o.margin = 60ms;  // as in request_window_spaces_out_starts
  limited_model m(inner, o);
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    chat_request r;
    r.max_tokens = 600;  // with the prompt, two never fit one window
    r.messages = {{role::user, "call " + std::to_string(i)}};
    m.async_complete(r, nullptr, [&](auto, chat_response) { ++done; });
  }
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == 5; }));
  std::sort(log->starts.begin(), log->starts.end());
  for (std::size_t i = 0; i + 1 < log->starts.size(); ++i) {
    BOOST_CHECK_GE(log->starts[i + 1] - log->starts[i], 100ms);
  }
}

BOOST_AUTO_TEST_CASE(a_429_cools_everyone_down_and_shrinks_the_cap) {
  asio::io_context io;
  auto log = std::make_shared<call_log>();
  auto first = std::make_shared<std::atomic<bool>>(true);
  fake_model inner(io.get_executor(), [log, first](const chat_request&) {
    log->add();
    if (first->exchange(false)) {
      return fake_reply{1ms, "", error::rate_limited, 1, 150ms};
    }
    return fake_reply{5ms, "ok"};
  });
  auto o = fast_limits();
  o.max_concurrency = 1;  // the first call alone, so the others see its 429
  limited_model one(inner, o);
  auto results = call_all(io, one, 6);
  BOOST_CHECK(results[0].ec == error::rate_limited);
  for (std::size_t i = 1; i < results.size(); ++i) BOOST_CHECK(!results[i].ec);
  std::sort(log->starts.begin(), log->starts.end());
  // Nobody called during the 150 ms cooldown that the 429 asked for.
  BOOST_CHECK_GE(log->starts[1] - log->starts[0], 150ms);
  BOOST_CHECK_EQUAL(one.stats_for("").rate_limited, 1u);
}

BOOST_AUTO_TEST_CASE(adaptive_cap_halves_on_429s_and_recovers_on_success) {
  asio::io_context io;
  auto fail = std::make_shared<std::atomic<bool>>(true);
  fake_model inner(io.get_executor(), [fail](const chat_request&) {
    if (*fail) return fake_reply{1ms, "", error::rate_limited, 1, 1ms};
    return fake_reply{1ms, "ok"};
  });
  auto o = fast_limits();
  o.max_concurrency = 16;
  limited_model m(inner, o);
  call_all(io, m, 3);
  BOOST_CHECK_EQUAL(m.stats_for("").concurrency_cap, 2.0);  // 16 -> 8 -> 4 -> 2
  *fail = false;
  call_all(io, m, 40);
  BOOST_CHECK_LE(inner.peak_in_flight(), 16);
  BOOST_CHECK_GT(m.stats_for("").concurrency_cap, 8.0);
}

BOOST_AUTO_TEST_CASE(limits_are_kept_per_model_name) {
  asio::io_context io;
  fake_model inner(io.get_executor(), [](const chat_request& r) {
    if (r.model == "slow") return fake_reply{1ms, "", error::rate_limited, 1, 1ms};
    return fake_reply{1ms, "ok"};
  });
  auto o = fast_limits();
  o.max_concurrency = 8;
  limited_model m(inner, o);
  call_all(io, m, 2, "slow");
  call_all(io, m, 2, "fast");
  BOOST_CHECK_EQUAL(m.stats_for("slow").concurrency_cap, 2.0);
  BOOST_CHECK_EQUAL(m.stats_for("fast").concurrency_cap, 8.0);
  BOOST_CHECK_EQUAL(m.stats_for("never").calls, 0u);
}

BOOST_AUTO_TEST_CASE(cancelling_a_waiting_call_gives_its_place_back) {
  asio::io_context io;
  fake_model inner(io.get_executor(), [](const chat_request&) { return fake_reply{50ms, "ok"}; });
  auto o = fast_limits();
  o.max_concurrency = 1;
  limited_model m(inner, o);
  asio::cancellation_signal stop;
  std::vector<boost::system::error_code> codes(3);
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    chat_request r;
    r.messages = {{role::user, "x"}};
    auto h = [&, i](auto ec, chat_response) {
      codes[static_cast<std::size_t>(i)] = ec;
      ++done;
    };
    if (i == 1) {
      m.async_complete(r, nullptr, asio::bind_cancellation_slot(stop.slot(), h));
    } else {
      m.async_complete(r, nullptr, h);
    }
  }
  io.poll();
  stop.emit(asio::cancellation_type::terminal);  // the second waits behind the first
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return done == 3; }));
  BOOST_CHECK(!codes[0]);
  BOOST_CHECK(codes[1] == error::cancelled);
  BOOST_CHECK(!codes[2]);
  BOOST_CHECK_EQUAL(inner.seen().size(), 2u);  // the cancelled one never reached the model
  BOOST_CHECK_EQUAL(m.stats_for("").waiting, 0u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(breaker_fails_fast_while_open_then_probes) {
  asio::io_context io;
  auto healthy = std::make_shared<std::atomic<bool>>(false);
  fake_model inner(io.get_executor(), [healthy](const chat_request&) {
    if (!*healthy) return fake_reply{1ms, "", error::connection_failed};
    return fake_reply{1ms, "ok"};
  });
  breaker_options o;
  o.failure_threshold = 3;
  o.cool_off = 100ms;
  breaker_model m(inner, o);
  for (int i = 0; i < 3; ++i) BOOST_CHECK(call_all(io, m, 1)[0].ec == error::connection_failed);
  BOOST_CHECK(m.state() == breaker_state::open);
  auto fast = call_all(io, m, 5);
  for (const auto& r : fast) {
    BOOST_CHECK(r.ec == error::circuit_open);
    BOOST_CHECK(r.reply.diag.retry_after.has_value());
    BOOST_CHECK(r.reply.diag.message.find("circuit open") != std::string::npos);
  }
  BOOST_CHECK_EQUAL(inner.seen().size(), 3u);  // none of the five reached the endpoint
  BOOST_CHECK_EQUAL(m.fast_failures(), 5u);
  *healthy = true;
  asio::steady_timer wait(io, 110ms);  // the cool-off is time itself: let it pass
  bool waited = false;
  wait.async_wait([&](auto) { waited = true; });
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return waited; }));
  BOOST_CHECK(!call_all(io, m, 1)[0].ec);  // the probe succeeds: closed again
  BOOST_CHECK(m.state() == breaker_state::closed);
  for (const auto& r : call_all(io, m, 4)) BOOST_CHECK(!r.ec);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_limits
