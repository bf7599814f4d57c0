#include <conclave/engine/error.hpp>
#include <conclave/engine/retry.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_retry {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

retry_decision decide(const boost::system::error_code& ec, diagnostics d = {}, int done = 0,
                      double random01 = 0.0, milliseconds elapsed = 0ms,
                      milliseconds time_left = 600'000ms, bool delivered = false) {
  return decide_retry(retry_options{}, done, ec, d, delivered, elapsed, time_left, random01);
}

diagnostics after(std::optional<milliseconds> retry_after) {
  diagnostics d;
  d.retry_after = retry_after;
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(what_is_retried) {
  for (error e : {error::timeout, error::connection_failed, error::rate_limited, error::overloaded,
                  error::provider_error, error::stream_truncated}) {
    BOOST_TEST_CONTEXT(to_string(e)) { BOOST_CHECK(decide(e).retry); }
  }
  for (error e : {error::bad_request, error::auth_failed, error::bad_response, error::tls_failed,
                  error::cancelled, error::response_too_large}) {
    BOOST_TEST_CONTEXT(to_string(e)) { BOOST_CHECK(!decide(e).retry); }
  }
}

BOOST_AUTO_TEST_CASE(x_should_retry_overrides_both_ways) {
  diagnostics yes;
  yes.should_retry = true;
  BOOST_CHECK(decide(error::bad_request, yes).retry);
  diagnostics no;
  no.should_retry = false;
  const auto d = decide(error::rate_limited, no);
  BOOST_CHECK(!d.retry);
  BOOST_CHECK_EQUAL(d.reason, "the server said not to retry");
  yes.should_retry = true;  // but a cancel is never retried
  BOOST_CHECK(!decide(error::cancelled, yes).retry);
}

BOOST_AUTO_TEST_CASE(two_retries_then_give_up) {
  BOOST_CHECK(decide(error::overloaded, {}, 0).retry);
  BOOST_CHECK(decide(error::overloaded, {}, 1).retry);
  const auto d = decide(error::overloaded, {}, 2);
  BOOST_CHECK(!d.retry);
  BOOST_CHECK_EQUAL(d.reason, "gave up after 3 attempts");
}

BOOST_AUTO_TEST_CASE(backoff_doubles_caps_at_8s_and_jitter_cuts_up_to_a_quarter) {
  retry_options o;
  o.max_retries = 10;
  const struct {
    int done;
    double random01;
    long long ms;
  } rows[] = {{0, 0.0, 500},  {1, 0.0, 1000}, {2, 0.0, 2000}, {3, 0.0, 4000},  {4, 0.0, 8000},
              {5, 0.0, 8000}, {9, 0.0, 8000}, {0, 0.5, 437},  {0, 0.999, 375}, {4, 1.0, 6000}};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("retry " << r.done << " random " << r.random01) {
      const auto d =
          decide_retry(o, r.done, error::overloaded, {}, false, 0ms, 600'000ms, r.random01);
      BOOST_REQUIRE(d.retry);
      BOOST_CHECK_EQUAL(d.delay.count(), r.ms);
      BOOST_CHECK_EQUAL(d.reason, "backoff");
    }
  }
}

BOOST_AUTO_TEST_CASE(server_delays_are_honoured_up_to_60s) {
  const struct {
    std::optional<milliseconds> retry_after;
    long long expected_ms;
    const char* source;
  } rows[] = {
      {milliseconds(1), 1, "as the server asked"},
      {milliseconds(250), 250, "as the server asked"},
      {milliseconds(60'000), 60'000, "as the server asked"},  // 60 s: honoured
      {milliseconds(0), 500, "backoff"},                      // 0 (or a date in the past)
      {std::nullopt, 500, "backoff"},                         // malformed / absent
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("retry-after " << (r.retry_after ? r.retry_after->count() : -1)) {
      const auto d = decide(error::rate_limited, after(r.retry_after));
      BOOST_REQUIRE(d.retry);
      BOOST_CHECK_EQUAL(d.delay.count(), r.expected_ms);
      BOOST_CHECK_EQUAL(d.reason, r.source);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_server_wait_past_the_cap_fails_at_once) {
  // 429 with Retry-After: 3600 (or an HTTP date an hour away): say so now, don't wait.
  for (auto wait : {milliseconds(61'000), milliseconds(3'600'000), milliseconds(INT64_MAX / 4)}) {
    const auto d = decide(error::rate_limited, after(wait));
    BOOST_CHECK(!d.retry);
    BOOST_CHECK(d.verdict == conclave::retry_verdict::server_wait_too_long);
    BOOST_CHECK(d.reason.find("asked to wait") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(never_past_the_deadline_nor_the_total_cap) {
  auto d = decide(error::rate_limited, after(2000ms), 0, 0.0, 0ms, 1500ms);
  BOOST_CHECK(!d.retry);
  BOOST_CHECK_EQUAL(d.reason, "the deadline would pass before a retry");
  BOOST_CHECK(decide(error::rate_limited, after(2000ms), 0, 0.0, 0ms, 2001ms).retry);
  d = decide(error::rate_limited, after(2000ms), 0, 0.0, 119'000ms);
  BOOST_CHECK(!d.retry);
  BOOST_CHECK_EQUAL(d.reason, "retry time cap reached");
}

BOOST_AUTO_TEST_CASE(a_stream_that_delivered_output_is_not_retried) {
  const auto d = decide(error::connection_failed, {}, 0, 0.0, 0ms, 600'000ms, true);
  BOOST_CHECK(!d.retry);
  BOOST_CHECK_EQUAL(d.reason, "part of the stream was already delivered");
}

BOOST_AUTO_TEST_CASE(retries_can_be_turned_off) {
  retry_options o;
  o.max_retries = 0;
  BOOST_CHECK(!decide_retry(o, 0, error::overloaded, {}, false, 0ms, 600'000ms, 0.0).retry);
}

BOOST_AUTO_TEST_CASE(budget_throttles_a_storm_and_recovers_on_success) {
  retry_budget b(10, 0.1);
  BOOST_CHECK(b.allows_retry());
  for (int i = 0; i < 4; ++i) b.on_failure();
  BOOST_CHECK(b.allows_retry());  // 6 > 5
  b.on_failure();
  BOOST_CHECK(!b.allows_retry());  // 5 is not more than half
  for (int i = 0; i < 100; ++i) b.on_failure();
  BOOST_CHECK_EQUAL(b.tokens(), 0.0);  // floors at zero
  for (int i = 0; i < 50; ++i) b.on_success();
  BOOST_CHECK(!b.allows_retry());  // 5.0 exactly
  b.on_success();
  BOOST_CHECK(b.allows_retry());  // 5.1
  for (int i = 0; i < 1000; ++i) b.on_success();
  BOOST_CHECK_EQUAL(b.tokens(), 10.0);  // capped
}

BOOST_AUTO_TEST_CASE(a_budget_of_zero_never_throttles) {
  retry_budget off(retry_budget_options{0.0, 0.1});
  for (int i = 0; i < 100; ++i) off.on_failure();
  BOOST_CHECK(off.allows_retry());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_retry
