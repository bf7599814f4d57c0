// `conclave ask --redis` as separate processes: three CLIs under one --rpm share it through a
// real Redis, so the provider (a mock enforcing the same limit) never sees more and never has
// to refuse one; the same three without --redis break it. Bad --redis values are usage errors.
#include "background_mock.hpp"
#include "cli_run.hpp"
#include "process.hpp"
#include "redis_server.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

namespace redis_test_cli {

using conclave::test::background_mock;
using conclave::test::clean_env;
using conclave::test::process;

constexpr std::size_t R = 10;

conclave::mock::mock_options limited_mock() {
  conclave::mock::mock_options o;
  o.latency = std::chrono::milliseconds(20);
  o.rate_limit_requests = R;  // the provider's own limit: a call past it is a 429
  o.rate_limit_window = std::chrono::milliseconds(60'000);
  return o;
}

std::vector<conclave::test::process_result> three_runs(const std::string& base_url,
                                                       const std::vector<std::string>& extra) {
  std::vector<std::unique_ptr<process>> runs;
  for (int i = 0; i < 3; ++i) {  // each: a decomposition, 3 agents, a synthesis
    std::vector<std::string> args{"ask",
                                  "How do tides work?",
                                  "--json",
                                  "--agents",
                                  "3",
                                  "--provider",
                                  "mock",
                                  "--base-url",
                                  base_url,
                                  "--rpm",
                                  std::to_string(R),
                                  "--timeout",
                                  "10",
                                  "--no-log",
                                  "--no-journal"};
    args.insert(args.end(), extra.begin(), extra.end());
    runs.push_back(std::make_unique<process>(CONCLAVE_CLI, args, clean_env));
  }
  std::vector<conclave::test::process_result> out;
  for (auto& r : runs) out.push_back(r->wait(std::chrono::seconds(60)));
  return out;
}

BOOST_AUTO_TEST_SUITE(cli_redis)

BOOST_AUTO_TEST_CASE(three_processes_under_one_rpm_never_make_the_provider_refuse) {
  conclave::test::redis_server redis;
  background_mock mock(limited_mock());
  auto runs = three_runs(mock.server.base_url(), {"--redis", redis.url(), "--redis-org", "acme"});
  std::size_t refused_by_us = 0;
  for (const auto& r : runs) {
    BOOST_TEST((r.exit_code == 0 || r.exit_code == 1), r.err);
    refused_by_us += r.out.find("limits shared on Redis") != std::string::npos;
  }
  const auto stats = mock.server.stats();
  BOOST_TEST(stats.openai_calls == R);   // 15 wanted; exactly R started, in three processes
  BOOST_TEST(stats.rate_limited == 0u);  // and the provider never had to refuse one
  BOOST_TEST(refused_by_us >= 1u);       // the rest were refused here, saying why
  BOOST_TEST_MESSAGE("calls " << stats.openai_calls << " refused here in " << refused_by_us);
}

BOOST_AUTO_TEST_CASE(without_redis_the_same_three_break_the_providers_limit) {
  background_mock mock(limited_mock());
  three_runs(mock.server.base_url(), {});
  // Each process keeps its own --rpm: together they send more than R, and the provider refuses.
  BOOST_TEST(mock.server.stats().rate_limited > 0u);
}

BOOST_AUTO_TEST_CASE(bad_redis_values_are_usage_errors) {
  conclave::test::check_usage_errors(
      CONCLAVE_CLI, {
                        {{"--redis", "http://127.0.0.1:6379"}, "the scheme must be redis://"},
                        {{"--redis", "redis://h:70000"}, "the port must be 1-65535"},
                        {{"--redis", "redis://:hunter2@h/x"}, "database number"},
                        {{"--redis-org", "{x}"}, "no braces"},
                    });
  // The password is never echoed back.
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--redis", "redis://:hunter2@h/x"}, clean_env).wait();
  BOOST_TEST(r.err.find("hunter2") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_cli
