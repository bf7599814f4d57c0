// The CLI's resilience options end to end, on the built-in mock: budgets, fallback models,
// and clear usage errors for bad values.
#include "cli_run.hpp"
#include "process.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace integration_test_cli_limits {  // file-local names stay apart in unity batches

namespace json = boost::json;
using conclave::test::clean_env;
using conclave::test::env_with;
using conclave::test::parse_object;
using conclave::test::process;

BOOST_AUTO_TEST_SUITE(cli_limits)

BOOST_AUTO_TEST_CASE(a_token_budget_stops_new_calls_and_the_report_says_why) {
  auto r = process(CONCLAVE_CLI,
                   {"ask", "How do tides work?", "--json", "--agents", "6", "--concurrency", "2",
                    "--budget-tokens", "400"},
                   clean_env)
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);  // answered, degraded: the decisions it has
  auto o = parse_object(r.out);
  BOOST_CHECK(o.at("degraded").as_bool());
  BOOST_CHECK(o.at("budget_exhausted").as_bool());
  BOOST_CHECK(std::string(o.at("budget_note").as_string()).starts_with("token budget reached"));
  std::size_t refused = 0;
  for (const auto& a : o.at("agents").as_array()) {
    const auto& agent = a.as_object();
    if (auto* err = agent.if_contains("error"); err && err->is_object()) {
      refused += err->as_object().at("code").as_string() == "budget_exhausted";
    }
  }
  BOOST_CHECK_GE(refused, 1u);
  BOOST_CHECK_EQUAL(o.at("report").as_object().at("calls").as_object().at("synthesis").as_int64(),
                    0);
}

BOOST_AUTO_TEST_CASE(agents_move_to_the_fallback_model_and_report_it) {
  auto r = process(CONCLAVE_CLI,
                   {"ask", "x", "--json", "--agents", "1", "--model", "mock-503",
                    "--fallback-model", "mock"},
                   clean_env)
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  const auto& agent = o.at("agents").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(agent.at("status").as_string(), "ok");
  const auto& tried = agent.at("models_tried").as_array();
  BOOST_REQUIRE_EQUAL(tried.size(), 2u);
  BOOST_CHECK_EQUAL(tried.at(0).as_string(), "mock-503");
  BOOST_CHECK_EQUAL(tried.at(1).as_string(), "mock");
}

BOOST_AUTO_TEST_CASE(bad_limit_values_are_usage_errors) {
  conclave::test::check_usage_errors(
      CONCLAVE_CLI,
      {
          {{"--budget-cost", "1"}, "--budget-cost needs a price table"},
          {{"--rpm", "0"}, "--rpm: needs a whole number > 0, got '0'"},
          {{"--budget-tokens", "lots"}, "--budget-tokens: needs a whole number > 0, got 'lots'"},
          {{"--max-output-tokens", "-5"}, "needs a whole number > 0"},
          {{"--budget-cost", "-2"}, "needs a number > 0, got '-2'"},
          {{"--timeout", "nan"}, "--timeout needs a positive number of seconds"},
          {{"--timeout", "-1"}, "--timeout needs a positive number of seconds"},
          {{"--agents", "10001"}, "--agents"},
          {{"--color", "sometimes"}, "--color"},
      });
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_limits
