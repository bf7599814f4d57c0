// The conclave CLI end to end: the built-in mock, a conclave-mock process-free server in this
// test, error reporting, and SIGINT.
#include "background_mock.hpp"
#include "cli_run.hpp"
#include "process.hpp"

#include <conclave/mock/mock_server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <thread>

namespace integration_test_cli {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace std::chrono_literals;
using conclave::test::background_mock;
using conclave::test::clean_env;
using conclave::test::env_with;
using conclave::test::parse_object;
using conclave::test::process;

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(heavy_mode_with_no_key_uses_the_builtin_mock_and_says_so) {
  auto r =
      process(CONCLAVE_CLI, {"ask", "How do tides work?", "--json", "--agents", "5"}, clean_env)
          .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  BOOST_CHECK_EQUAL(o.at("provider").as_string(), "mock");
  BOOST_CHECK(std::string(o.at("note").as_string()).find("no OPENAI_API_KEY") != std::string::npos);
  BOOST_CHECK(std::string(o.at("answer").as_string()).find("Merged from 5 decisions") !=
              std::string::npos);
  const auto& agents = o.at("agents").as_array();
  BOOST_REQUIRE_EQUAL(agents.size(), 5u);
  for (const auto& a : agents) {
    BOOST_CHECK_EQUAL(a.as_object().at("status").as_string(), "ok");
    BOOST_CHECK(std::string(a.as_object().at("sub_question").as_string()).find("tides") !=
                std::string::npos);
    BOOST_CHECK(!a.as_object().at("answer").as_string().empty());
  }
  const auto& report = o.at("report").as_object();
  BOOST_CHECK_GT(report.at("speedup").as_double(), 1.5);
  BOOST_CHECK_GT(
      report.at("tokens").as_object().at("total").as_object().at("output_tokens").as_int64(), 0);
  // The notice is loud on stderr even when stdout is JSON.
  BOOST_CHECK(r.err.find("NOTE: no OPENAI_API_KEY or ANTHROPIC_API_KEY set") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(plain_output_prints_the_answer_and_progress_on_stderr) {
  auto r =
      process(CONCLAVE_CLI, {"ask", "Why is ice slippery?", "--agents", "3"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK(r.out.find("Why is ice slippery?") != std::string::npos);
  BOOST_CHECK(r.out.find("agent") == std::string::npos);  // progress stays off stdout
  BOOST_CHECK(r.err.find("built-in mock model") != std::string::npos);
  BOOST_CHECK(r.err.find("decomposed into 3 sub-question(s)") != std::string::npos);
  BOOST_CHECK(r.err.find("agent 3 done") != std::string::npos);
  BOOST_CHECK(r.err.find("speedup") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(events_jsonl_is_one_event_per_line_then_the_report) {
  auto r =
      process(CONCLAVE_CLI, {"ask", "Q?", "--events", "jsonl", "--agents", "2"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  std::istringstream lines(r.out);
  std::vector<json::object> events;
  for (std::string line; std::getline(lines, line);) events.push_back(parse_object(line));
  BOOST_REQUIRE_GE(events.size(), 2u * 4 + 4);
  BOOST_CHECK_EQUAL(events.front().at("event").as_string(), "decomposed");
  BOOST_CHECK_EQUAL(events[events.size() - 2].at("event").as_string(), "finished");
  BOOST_CHECK_EQUAL(events.back().at("event").as_string(), "report");
  BOOST_CHECK_EQUAL(events.back().at("agents").as_array().size(), 2u);
}

BOOST_AUTO_TEST_CASE(provider_errors_are_reported_with_their_code) {
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--json", "--model", "mock-429"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  auto o = parse_object(r.out);
  BOOST_CHECK_EQUAL(o.at("error").as_object().at("code").as_string(), "all_agents_failed");
  BOOST_CHECK(o.at("decomposition").as_object().at("fallback").as_bool());  // refused too
  const auto& agent = o.at("agents").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(agent.at("error").as_object().at("code").as_string(), "rate_limited");
  BOOST_CHECK_EQUAL(agent.at("error").as_object().at("http_status").as_int64(), 429);
}

BOOST_AUTO_TEST_CASE(a_bad_flag_is_a_usage_error) {
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--agentz", "3"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("--agentz") != std::string::npos, r.err);
  auto none = process(CONCLAVE_CLI, {"ask"}, clean_env).wait();
  BOOST_CHECK_EQUAL(none.exit_code, 2);
  BOOST_CHECK(none.err.find("no question") != std::string::npos);
  auto timeout = process(CONCLAVE_CLI, {"ask", "x", "--timeout", "soon"}, clean_env).wait();
  BOOST_CHECK_EQUAL(timeout.exit_code, 2);
  // A flag missing its value is an error, never taken for the question.
  auto dangling = process(CONCLAVE_CLI, {"ask", "What now?", "-m"}, clean_env).wait();
  BOOST_CHECK_EQUAL(dangling.exit_code, 2);
  BOOST_CHECK_MESSAGE(dangling.err.find("-m") != std::string::npos, dangling.err);
  BOOST_CHECK(dangling.out.empty());
  auto two = process(CONCLAVE_CLI, {"ask", "one", "two"}, clean_env).wait();
  BOOST_CHECK_EQUAL(two.exit_code, 2);
}

BOOST_AUTO_TEST_CASE(an_unreachable_endpoint_is_a_clear_error) {
  auto r = process(CONCLAVE_CLI,
                   {"ask", "x", "--provider", "openai", "--base-url", "http://127.0.0.1:1/v1"},
                   env_with({{"OPENAI_API_KEY", "sk-test"}}))
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_MESSAGE(r.err.find("connection failed: cannot connect") != std::string::npos, r.err);
  BOOST_CHECK(r.err.find("sk-test") == std::string::npos);  // the key never shows
}

BOOST_AUTO_TEST_CASE(openai_without_a_key_is_refused) {
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--provider", "openai"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK(r.err.find("needs OPENAI_API_KEY") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_bad_key_is_a_clear_error) {
  conclave::mock::mock_options o;
  o.required_api_key = "sk-right";
  background_mock mock(o);
  auto r =
      process(
          CONCLAVE_CLI, {"ask", "x", "--model", "mock"},
          env_with({{"OPENAI_API_KEY", "sk-wrong"}, {"OPENAI_BASE_URL", mock.server.base_url()}}))
          .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_MESSAGE(r.err.find("authentication failed") != std::string::npos, r.err);
  BOOST_CHECK(r.err.find("(HTTP 401)") != std::string::npos);
  BOOST_CHECK(r.err.find("sk-wrong") == std::string::npos);
  // Said once, and no agent repeated the doomed call.
  BOOST_CHECK_EQUAL(r.err.find("authentication failed"), r.err.rfind("authentication failed"));
  BOOST_CHECK_EQUAL(mock.server.stats().requests, 1u);
  BOOST_CHECK(r.out.empty());
}

BOOST_AUTO_TEST_CASE(config_file_supplies_defaults_and_flags_win) {
  background_mock mock;
  const std::string path =
      (std::filesystem::temp_directory_path() / "conclave-cli-config.json").string();
  std::ofstream(path) << R"({"provider": "mock", "base_url": ")" << mock.server.base_url()
                      << R"(", "model": "mock-500", "agents": 1})";
  auto from_file =
      process(CONCLAVE_CLI, {"ask", "x", "--json", "--config", path}, clean_env).wait();
  BOOST_CHECK_EQUAL(from_file.exit_code, 1);  // the file's model faults
  auto flag_wins =
      process(CONCLAVE_CLI, {"ask", "x", "--json", "--config", path, "--model", "mock"}, clean_env)
          .wait();
  BOOST_CHECK_EQUAL(flag_wins.exit_code, 0);
  // Both went to the configured server: a 500 tried three times (two retries), then one agent
  // (one agent needs no synthesis).
  BOOST_CHECK_EQUAL(mock.server.stats().requests, 4u);
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(sigint_cancels_cleanly) {
  background_mock mock;
  process p(CONCLAVE_CLI, {"ask", "x", "--model", "mock-hang"},
            env_with({{"OPENAI_BASE_URL", mock.server.base_url()}, {"OPENAI_API_KEY", "sk-x"}}));
  // Interrupt once the request is on the server: an event, waited for with a bound.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (mock.server.stats().in_flight == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  BOOST_REQUIRE_EQUAL(mock.server.stats().in_flight, 1u);
  p.signal(SIGINT);
  auto r = p.wait();
  BOOST_CHECK_EQUAL(r.exit_code, 130);
  BOOST_CHECK_MESSAGE(r.err.find("interrupted: 0 of 1 agents had finished") != std::string::npos,
                      r.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli
