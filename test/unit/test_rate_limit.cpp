#include <conclave/engine/rate_limit.hpp>

#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

namespace unit_test_rate_limit {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

const clock_type::time_point t0 = clock_type::time_point() + 1000h;

rate_limit_options limits(int concurrency, std::int64_t rpm = 0, std::int64_t tpm = 0) {
  rate_limit_options o;
  o.max_concurrency = concurrency;
  o.requests_per_window = rpm;
  o.tokens_per_window = tpm;
  o.window = 1000ms;
  o.margin = 0ms;
  return o;
}

// The largest sum of amounts starting within any span of `length` (the server's view).
std::int64_t worst_window(
    const std::vector<std::pair<clock_type::time_point, std::int64_t>>& starts,
    clock_type::duration length) {
  std::int64_t worst = 0;
  for (const auto& [begin, unused] : starts) {
    std::int64_t sum = 0;
    for (const auto& [at, amount] : starts) {
      if (at >= begin && at < begin + length) sum += amount;
    }
    worst = std::max(worst, sum);
  }
  return worst;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rate_limits)

BOOST_AUTO_TEST_CASE(window_admits_the_limit_then_waits_for_the_oldest_to_leave) {
  sliding_window w(3, 1000ms);
  BOOST_CHECK(w.reserve(t0, 1).at == t0);
  BOOST_CHECK(w.reserve(t0 + 100ms, 1).at == t0 + 100ms);
  BOOST_CHECK(w.reserve(t0 + 200ms, 1).at == t0 + 200ms);
  BOOST_CHECK(w.reserve(t0 + 300ms, 1).at == t0 + 1000ms);  // the first leaves
  BOOST_CHECK(w.reserve(t0 + 300ms, 1).at == t0 + 1100ms);  // first come, first served
  BOOST_CHECK_EQUAL(w.in_window(t0 + 1100ms), 3);
}

BOOST_AUTO_TEST_CASE(window_never_exceeds_its_limit_in_any_span) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> gap_ms(0, 40), amount(1, 400);
  sliding_window w(1000, 1000ms);
  std::vector<std::pair<clock_type::time_point, std::int64_t>> starts;
  auto now = t0;
  for (int i = 0; i < 300; ++i) {
    now += std::chrono::milliseconds(gap_ms(rng));
    const std::int64_t n = amount(rng);
    const auto r = w.reserve(now, n);
    BOOST_REQUIRE(r.at >= now);
    BOOST_REQUIRE(starts.empty() || r.at >= starts.back().first);
    starts.emplace_back(r.at, n);
  }
  BOOST_CHECK_LE(worst_window(starts, 1000ms), 1000);
  // And it is not needlessly slow: 300 requests of ~200 tokens at 1000 a second.
  BOOST_CHECK_LT(starts.back().first - t0, 70s);
}

BOOST_AUTO_TEST_CASE(corrected_amounts_free_room_and_oversized_requests_run_alone) {
  sliding_window w(100, 1000ms);
  const auto big = w.reserve(t0, 90);
  BOOST_CHECK(w.reserve(t0, 20).at == t0 + 1000ms);  // 90 + 20 > 100
  sliding_window v(100, 1000ms);
  const auto first = v.reserve(t0, 90);
  v.adjust(first.id, 10);  // it used only 10
  BOOST_CHECK(v.reserve(t0, 20).at == t0);
  (void)big;
  sliding_window z(100, 1000ms);
  BOOST_CHECK(z.reserve(t0, 5000).at == t0);  // clamped: runs, alone
  BOOST_CHECK(z.reserve(t0, 1).at == t0 + 1000ms);
}

BOOST_AUTO_TEST_CASE(a_429_halves_the_cap_and_successes_grow_it_back) {
  rate_limiter l(limits(8));
  BOOST_CHECK_EQUAL(l.initial_permits(), 8);
  const auto t = l.schedule(t0, 10);
  const std::vector<double> expected{4, 2, 1, 1};
  for (double cap : expected) {
    l.on_outcome(t0, t, call_outcome::rate_limited, {}, 10ms, {});
    BOOST_CHECK_EQUAL(l.concurrency_cap(), cap);
  }
  // Eight permits are out; as they come back, all but one are retired.
  int kept = 0;
  for (int i = 0; i < 8; ++i) kept += l.on_permit_returned();
  BOOST_CHECK_EQUAL(kept, 1);
  BOOST_CHECK_EQUAL(l.permits_in_circulation(), 1);
  BOOST_CHECK_EQUAL(l.permits_to_mint(), 0);
  int successes = 0;
  while (l.concurrency_cap() < 8 && successes < 1000) {
    l.on_outcome(t0, t, call_outcome::ok, {}, {}, {});
    ++successes;
  }
  BOOST_CHECK_EQUAL(l.concurrency_cap(), 8);
  BOOST_CHECK_LT(successes, 40);  // about one slot per cap's worth of successes
  BOOST_CHECK_EQUAL(l.permits_to_mint(), 7);
  BOOST_CHECK_EQUAL(l.permits_in_circulation(), 8);
}

BOOST_AUTO_TEST_CASE(fixed_cap_when_not_adaptive_and_no_permits_without_a_cap) {
  auto o = limits(4);
  o.adaptive = false;
  rate_limiter l(o);
  l.on_outcome(t0, {}, call_outcome::rate_limited, {}, {}, {});
  BOOST_CHECK_EQUAL(l.concurrency_cap(), 4);
  rate_limiter none(limits(0));
  BOOST_CHECK_EQUAL(none.initial_permits(), 0);
}

BOOST_AUTO_TEST_CASE(cooldown_from_429s_and_spent_headers_delays_everyone) {
  struct row {
    const char* name;
    std::optional<std::chrono::milliseconds> retry_after;
    rate_limit_info info;
    call_outcome outcome;
    std::chrono::milliseconds expected;
  };
  rate_limit_info no_requests_left;
  no_requests_left.remaining_requests = 0;
  no_requests_left.reset_requests = 700ms;
  rate_limit_info no_tokens_left;
  no_tokens_left.remaining_tokens = 0;
  no_tokens_left.reset_tokens = 900ms;
  rate_limit_info some_left;
  some_left.remaining_requests = 3;
  some_left.reset_requests = 700ms;
  const std::vector<row> rows{
      {"429 with retry-after", 300ms, {}, call_outcome::rate_limited, 300ms},
      {"429 without", std::nullopt, {}, call_outcome::rate_limited, 1000ms},
      {"429 with zero", 0ms, {}, call_outcome::rate_limited, 1000ms},
      {"429 with a huge delay is capped", 3600'000ms, {}, call_outcome::rate_limited, 60'000ms},
      {"ok but no requests left", std::nullopt, no_requests_left, call_outcome::ok, 700ms},
      {"ok but no tokens left", std::nullopt, no_tokens_left, call_outcome::ok, 900ms},
      {"ok with some left", std::nullopt, some_left, call_outcome::ok, 0ms},
      {"a failure is no 429", 300ms, {}, call_outcome::other_failure, 0ms},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      rate_limiter l(limits(4));
      const auto t = l.schedule(t0, 1);
      l.on_outcome(t0, t, r.outcome, {}, r.retry_after, r.info);
      BOOST_CHECK(l.schedule(t0, 1).at == t0 + r.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(schedule_satisfies_both_windows_at_one_start_time) {
  rate_limiter l(limits(0, /*rpm*/ 2, /*tpm*/ 100));
  BOOST_CHECK(l.schedule(t0, 60).at == t0);
  BOOST_CHECK(l.schedule(t0, 60).at == t0 + 1000ms);  // tokens: 60 + 60 > 100
  BOOST_CHECK(l.schedule(t0, 10).at == t0 + 1000ms);  // requests: 2 in the window, fits
  BOOST_CHECK(l.schedule(t0, 10).at == t0 + 2000ms);  // requests: 3rd waits
}

BOOST_AUTO_TEST_CASE(abandoned_reservations_and_real_usage_free_room) {
  rate_limiter l(limits(0, 1, 0));
  const auto first = l.schedule(t0, 1);
  l.on_abandoned(first);
  BOOST_CHECK(l.schedule(t0, 1).at == t0);
  rate_limiter tokens(limits(0, 0, 100));
  const auto t = tokens.schedule(t0, 90);
  usage used;
  used.prompt_tokens = 5;
  used.completion_tokens = 5;
  tokens.on_outcome(t0, t, call_outcome::ok, used, {}, {});
  BOOST_CHECK(tokens.schedule(t0, 80).at == t0);
}

BOOST_AUTO_TEST_CASE(token_estimate_uses_max_tokens_or_the_default) {
  rate_limiter l(limits(0));
  chat_request r;
  r.messages = {{role::user, std::string(400, 'x')}};
  BOOST_CHECK_EQUAL(l.estimate_tokens(r), 103 + 512);
  r.max_tokens = 50;
  BOOST_CHECK_EQUAL(l.estimate_tokens(r), 153);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_rate_limit
