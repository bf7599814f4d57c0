#include <conclave/engine/circuit_breaker.hpp>
#include <conclave/engine/error.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_circuit_breaker {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace std::chrono_literals;

namespace {
const circuit_breaker::clock::time_point t0 = circuit_breaker::clock::time_point() + 1000h;

breaker_options three_then_10s() {
  breaker_options o;
  o.failure_threshold = 3;
  o.cool_off = 10s;
  o.half_open_probes = 1;
  return o;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(circuit_breaker_logic)

BOOST_AUTO_TEST_CASE(opens_after_consecutive_unhealthy_failures_only) {
  circuit_breaker b(three_then_10s());
  for (int i = 0; i < 2; ++i) {
    BOOST_REQUIRE(b.admit(t0));
    b.on_result(t0, error::connection_failed);
  }
  BOOST_REQUIRE(b.admit(t0));
  b.on_result(t0, {});  // a success in between resets the count
  BOOST_CHECK_EQUAL(b.consecutive_failures(), 0);
  for (error e : {error::timeout, error::overloaded}) {
    BOOST_REQUIRE(b.admit(t0));
    b.on_result(t0, e);
  }
  for (error e : {error::rate_limited, error::bad_request, error::auth_failed, error::cancelled,
                  error::internal_error, error::empty_answer}) {
    BOOST_TEST_CONTEXT(to_string(e)) {
      BOOST_REQUIRE(b.admit(t0));
      b.on_result(t0,
                  e);  // the request's fault, a rate limit or our bug: not the endpoint's health
      BOOST_CHECK(b.state() == breaker_state::closed);
    }
  }
  BOOST_REQUIRE(b.admit(t0));
  b.on_result(t0, error::provider_error);
  BOOST_CHECK(b.state() == breaker_state::open);
  BOOST_CHECK_EQUAL(b.times_opened(), 1);
  BOOST_CHECK(b.open_until() == t0 + 10s);
}

BOOST_AUTO_TEST_CASE(open_fails_fast_then_one_probe_decides) {
  circuit_breaker b(three_then_10s());
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(b.admit(t0));
    b.on_result(t0, error::timeout);
  }
  BOOST_CHECK(!b.admit(t0 + 9999ms));
  BOOST_CHECK(b.admit(t0 + 10s));  // half-open: one probe
  BOOST_CHECK(b.state() == breaker_state::half_open);
  BOOST_CHECK(!b.admit(t0 + 10s));                  // only one at a time
  b.on_result(t0 + 11s, error::connection_failed);  // the probe failed: open again
  BOOST_CHECK(b.state() == breaker_state::open);
  BOOST_CHECK(b.open_until() == t0 + 21s);
  BOOST_CHECK_EQUAL(b.times_opened(), 2);
  BOOST_CHECK(b.admit(t0 + 21s));
  b.on_result(t0 + 21s, {});  // the probe succeeded: closed
  BOOST_CHECK(b.state() == breaker_state::closed);
  BOOST_CHECK(b.admit(t0 + 21s));
  BOOST_CHECK(b.admit(t0 + 21s));
}

BOOST_AUTO_TEST_CASE(a_probe_ending_in_a_request_error_frees_its_place) {
  circuit_breaker b(three_then_10s());
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(b.admit(t0));
    b.on_result(t0, error::overloaded);
  }
  BOOST_REQUIRE(b.admit(t0 + 10s));
  b.on_result(t0 + 10s, error::bad_request);
  BOOST_CHECK(b.state() == breaker_state::half_open);
  BOOST_CHECK(b.admit(t0 + 10s));
}

BOOST_AUTO_TEST_CASE(threshold_zero_never_opens) {
  breaker_options o;
  o.failure_threshold = 0;
  circuit_breaker b(o);
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE(b.admit(t0));
    b.on_result(t0, error::connection_failed);
  }
  BOOST_CHECK(b.state() == breaker_state::closed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_circuit_breaker
