// The call machine stepped with synthetic time: every path from a reply to the next step.
#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/error.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_call_machine {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace std::chrono_literals;
using kind = call_step::kind;

namespace {

const call_machine::clock::time_point t0 = call_machine::clock::time_point() + 1000h;

diagnostics with_status(int status) {
  diagnostics d;
  d.http_status = status;
  return d;
}

diagnostics retry_after(std::chrono::milliseconds ms) {
  diagnostics d;
  d.retry_after = ms;
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(call_machine_steps)

BOOST_AUTO_TEST_CASE(an_answer_on_the_first_attempt) {
  retry_budget budget(10, 0.1);
  call_machine m({}, "gpt", {}, t0 + 60s, &budget);
  auto s = m.next(t0, call_refusal::none);
  BOOST_CHECK(s.what == kind::call);
  BOOST_CHECK_EQUAL(s.model, "gpt");
  BOOST_CHECK_EQUAL(s.attempt, 1);
  s = m.on_reply(t0 + 1s, {}, {}, false, 0.0);
  BOOST_CHECK(s.what == kind::done);
  BOOST_CHECK(s.end == call_end::succeeded);
  BOOST_CHECK_EQUAL(m.attempts(), 1);
}

BOOST_AUTO_TEST_CASE(backoff_then_giving_up_after_the_retries) {
  call_machine m({}, "gpt", {}, t0 + 600s, nullptr);  // SDK defaults: 2 retries, 0.5 s * 2^n
  auto now = t0;
  const long long delays[] = {500, 1000};
  for (long long expected : delays) {
    BOOST_REQUIRE(m.next(now, call_refusal::none).what == kind::call);
    auto s = m.on_reply(now, error::overloaded, {}, false, 0.0);
    BOOST_REQUIRE(s.what == kind::retry);
    BOOST_CHECK_EQUAL(s.delay.count(), expected);
    BOOST_CHECK(!s.to_fallback);
    BOOST_CHECK(s.note.find("retrying in") != std::string::npos);
    now += s.delay;
  }
  BOOST_REQUIRE(m.next(now, call_refusal::none).what == kind::call);
  auto s = m.on_reply(now, error::overloaded, {}, false, 0.0);
  BOOST_CHECK(s.what == kind::done && s.end == call_end::failed);
  BOOST_CHECK(s.last.verdict == retry_verdict::attempts_spent);
  BOOST_CHECK_EQUAL(m.attempts(), 3);
}

BOOST_AUTO_TEST_CASE(the_servers_wait_is_honoured_up_to_its_cap) {
  call_machine m({}, "gpt", {}, t0 + 600s, nullptr);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::rate_limited, retry_after(250ms), false, 0.5);
  BOOST_CHECK(s.what == kind::retry);
  BOOST_CHECK_EQUAL(s.delay.count(), 250);
  m.next(t0 + 250ms, call_refusal::none);
  s = m.on_reply(t0 + 250ms, error::rate_limited, retry_after(3600s), false, 0.5);
  BOOST_CHECK(s.what == kind::done);
  BOOST_CHECK(s.last.verdict == retry_verdict::server_wait_too_long);
}

BOOST_AUTO_TEST_CASE(a_model_that_fails_for_good_hands_over_to_the_next) {
  call_machine m({}, "a", {"b", "c"}, t0 + 600s, nullptr);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::bad_request, {}, false, 0.0);  // not retryable
  BOOST_REQUIRE(s.what == kind::retry);
  BOOST_CHECK(s.to_fallback);
  BOOST_CHECK_EQUAL(s.delay.count(), 0);
  BOOST_CHECK(s.note.find("moving to fallback model b") != std::string::npos);
  auto c = m.next(t0 + 1ms, call_refusal::none);
  BOOST_CHECK_EQUAL(c.model, "b");
  BOOST_CHECK_EQUAL(c.attempt, 2);
  // A fresh retry count on the new model.
  s = m.on_reply(t0 + 1ms, error::overloaded, {}, false, 0.0);
  BOOST_CHECK(s.what == kind::retry && !s.to_fallback);
  BOOST_CHECK((m.models_tried() == std::vector<std::string>{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(a_delivered_stream_is_never_retried_nor_handed_over) {
  call_machine m({}, "a", {"b"}, t0 + 600s, nullptr);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::connection_failed, {}, true, 0.0);
  BOOST_CHECK(s.what == kind::done && s.end == call_end::failed);
  BOOST_CHECK(s.last.verdict == retry_verdict::output_delivered);
}

BOOST_AUTO_TEST_CASE(no_wait_past_the_deadline_and_no_fallback_after_it) {
  call_machine m({}, "a", {"b"}, t0 + 1s, nullptr);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::rate_limited, retry_after(2s), false, 0.0);
  BOOST_CHECK(s.what == kind::retry && s.to_fallback);  // time is left for the fallback
  m.next(t0 + 10ms, call_refusal::none);
  s = m.on_reply(t0 + 2s, error::overloaded, {}, false, 0.0);  // past the deadline now
  BOOST_CHECK(s.what == kind::done);
  BOOST_CHECK(s.last.verdict == retry_verdict::deadline);
}

BOOST_AUTO_TEST_CASE(the_run_can_refuse_any_attempt) {
  call_machine m({}, "a", {}, t0 + 60s, nullptr);
  auto s = m.next(t0, call_refusal::budget_spent);
  BOOST_CHECK(s.what == kind::done && s.end == call_end::refused);
  BOOST_CHECK(s.refusal == call_refusal::budget_spent);
  BOOST_CHECK_EQUAL(m.attempts(), 0);
  BOOST_CHECK(m.next(t0, call_refusal::run_stopped).refusal == call_refusal::run_stopped);
}

BOOST_AUTO_TEST_CASE(a_rejected_key_stops_the_run_a_403_does_not) {
  call_machine m({}, "a", {"b"}, t0 + 60s, nullptr);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::auth_failed, with_status(401), false, 0.0);
  BOOST_CHECK(s.what == kind::done && s.end == call_end::stops_the_run);
  call_machine n({}, "a", {"b"}, t0 + 60s, nullptr);
  n.next(t0, call_refusal::none);
  s = n.on_reply(t0, error::auth_failed, with_status(403), false, 0.0);
  BOOST_CHECK(s.what == kind::retry && s.to_fallback);
}

BOOST_AUTO_TEST_CASE(cancellation_ends_it) {
  call_machine m({}, "a", {"b"}, t0 + 60s, nullptr);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::cancelled, {}, false, 0.0);
  BOOST_CHECK(s.what == kind::done && s.end == call_end::cancelled);
}

BOOST_AUTO_TEST_CASE(the_runs_retry_budget_stops_a_storm) {
  retry_budget budget(2, 0.1);  // retries allowed while more than 1 token is left
  call_machine m({}, "a", {}, t0 + 600s, &budget);
  m.next(t0, call_refusal::none);
  auto s = m.on_reply(t0, error::overloaded, {}, false, 0.0);  // 2 -> 1 token: not > 1
  BOOST_CHECK(s.what == kind::done);
  BOOST_CHECK(s.last.verdict == retry_verdict::budget_spent);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_call_machine
