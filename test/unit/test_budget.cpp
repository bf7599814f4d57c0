#include <conclave/engine/budget.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_budget {  // file-local names stay apart in unity batches

using namespace conclave;

namespace {
usage tokens(std::int64_t in, std::int64_t out) {
  usage u;
  u.prompt_tokens = in;
  u.completion_tokens = out;
  return u;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(budget_logic)

BOOST_AUTO_TEST_CASE(prices_match_the_longest_prefix_then_the_wildcard) {
  budget_options o;
  o.prices["gpt-4o"] = {2.5, 10};
  o.prices["gpt-4o-mini"] = {0.15, 0.6};
  BOOST_CHECK_EQUAL(price_of(o, "gpt-4o-mini-2024-07-18")->input_per_million, 0.15);
  BOOST_CHECK_EQUAL(price_of(o, "gpt-4o-2024-08-06")->input_per_million, 2.5);
  BOOST_CHECK(!price_of(o, "claude-3-5-haiku"));
  o.prices["*"] = {1, 1};
  BOOST_CHECK_EQUAL(price_of(o, "claude-3-5-haiku")->output_per_million, 1);
}

BOOST_AUTO_TEST_CASE(token_cap_is_reached_once_and_stays_reached) {
  budget_options o;
  o.max_tokens = 1000;
  run_budget b(o);
  BOOST_CHECK(!b.charge("m", tokens(400, 100)));
  BOOST_CHECK(!b.exhausted());
  BOOST_CHECK(b.charge("m", tokens(400, 130)));  // 1030: reached, said once
  BOOST_CHECK(b.exhausted());
  BOOST_CHECK(!b.charge("m", tokens(10, 0)));  // still charged, not said again
  BOOST_CHECK_EQUAL(b.tokens_spent(), 1040);
  BOOST_CHECK_EQUAL(b.why(), "token budget reached: 1040 of 1000 tokens");
}

BOOST_AUTO_TEST_CASE(cost_cap_uses_input_and_output_prices) {
  budget_options o;
  o.max_cost = 0.01;
  o.prices["gpt-4o"] = {2.5, 10};  // per million
  run_budget b(o);
  BOOST_CHECK(!b.charge("gpt-4o", tokens(2000, 200)));  // 0.005 + 0.002
  BOOST_CHECK_CLOSE(b.cost_spent(), 0.007, 1e-6);
  BOOST_CHECK(!b.charge("unknown-model", tokens(100000, 0)));  // no price: free, but counted
  BOOST_CHECK_EQUAL(b.unpriced_calls(), 1);
  BOOST_CHECK(b.charge("gpt-4o", tokens(0, 400)));
  BOOST_CHECK(b.why().starts_with("cost budget reached: 0.0110 of 0.0100"));
}

BOOST_AUTO_TEST_CASE(no_caps_never_exhaust) {
  run_budget b;
  for (int i = 0; i < 100; ++i) BOOST_CHECK(!b.charge("m", tokens(1'000'000, 1'000'000)));
  BOOST_CHECK(!b.exhausted());
  BOOST_CHECK(b.why().empty());
}

BOOST_AUTO_TEST_CASE(huge_or_negative_counts_cannot_wrap_the_spend) {
  conclave::budget_options o;
  o.max_tokens = 1000;
  conclave::run_budget b(o);
  BOOST_CHECK(!b.charge("m", {-5'000, 0}));  // never lowers what was spent
  BOOST_CHECK_EQUAL(b.tokens_spent(), 0);
  BOOST_CHECK(b.charge("m", {INT64_MAX, INT64_MAX}));
  BOOST_CHECK(!b.charge("m", {INT64_MAX, 1}));
  BOOST_CHECK_EQUAL(b.tokens_spent(), INT64_MAX);  // pinned, not wrapped to a negative
  BOOST_CHECK(b.exhausted());
}

BOOST_AUTO_TEST_CASE(cached_prompt_tokens_are_priced_apart_and_never_twice) {
  model_price p{.input_per_million = 3, .output_per_million = 15};
  usage u{.prompt_tokens = 1'000'000, .completion_tokens = 1'000'000};
  BOOST_CHECK_CLOSE(p.cost_of(u), 18.0, 1e-9);
  u.cache_read_tokens = 500'000;
  u.cache_write_tokens = 250'000;
  // Unset cache prices: reads at the input price, writes at 1.25 x (never under the cost).
  BOOST_CHECK_CLOSE(p.cost_of(u), 0.25 * 3 + 0.5 * 3 + 0.25 * 3.75 + 15, 1e-9);
  p.cache_read_per_million = 0.3;
  p.cache_write_per_million = 3.75;
  BOOST_CHECK_CLOSE(p.cost_of(u), 0.25 * 3 + 0.5 * 0.3 + 0.25 * 3.75 + 15, 1e-9);
  // A server claiming more cached tokens than it sent cannot make the prompt cost more.
  u.cache_read_tokens = 5'000'000;
  u.cache_write_tokens = 5'000'000;
  BOOST_CHECK_CLOSE(p.cost_of(u), 1 * 0.3 + 15, 1e-9);
  u = usage{.prompt_tokens = -5, .completion_tokens = -5};
  BOOST_CHECK_EQUAL(p.cost_of(u), 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_budget
