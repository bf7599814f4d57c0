// Plans at the front door: `conclave plan` prints the decomposer's plan, `conclave run FILE`
// runs one (dependencies, skips, combine modes, verify), an invalid plan exits 2 naming the ids,
// and the attempt log records the run's shape. All against the built-in mock.
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <regex>
#include <sstream>

namespace integration_test_cli_plans {  // file-local names stay apart in unity batches

namespace json = boost::json;
using conclave::test::clean_env;
using conclave::test::process;
using conclave::test::temp_file;

namespace {

json::object parse_object(const std::string& s) { return json::parse(s).as_object(); }

const json::object& agent(const json::object& report, std::size_t i) {
  return report.at("agents").as_array().at(i).as_object();
}

constexpr const char* diamond = R"({
  "question": "How should a small town prepare for floods?",
  "subtasks": [
    {"id": "risk", "prompt": "Which areas flood first?"},
    {"id": "money", "prompt": "What can the town afford?", "depends_on": ["risk"]},
    {"id": "people", "prompt": "Who needs help to leave?", "depends_on": ["risk"]},
    {"id": "plan", "prompt": "Write the one-page plan.", "depends_on": ["money", "people"]}
  ]
})";

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_plans)

BOOST_AUTO_TEST_CASE(plan_prints_a_plan_that_run_accepts) {
  auto planned = process(CONCLAVE_CLI,
                         {"plan", "How should a city cut traffic deaths? mock-diamond"}, clean_env)
                     .wait();
  BOOST_REQUIRE_EQUAL(planned.exit_code, 0);
  const auto p = parse_object(planned.out);
  const auto& subtasks = p.at("subtasks").as_array();
  BOOST_REQUIRE_EQUAL(subtasks.size(), 4u);
  BOOST_CHECK_EQUAL(subtasks.at(3).as_object().at("depends_on").as_array().size(), 2u);
  BOOST_CHECK(planned.err.find("mock") != std::string::npos);  // said loudly

  temp_file file(planned.out);
  auto ran = process(CONCLAVE_CLI, {"run", file.path(), "--json", "--no-log"}, clean_env).wait();
  BOOST_REQUIRE_EQUAL(ran.exit_code, 0);
  const auto r = parse_object(ran.out);
  BOOST_CHECK_EQUAL(r.at("planned").as_bool(), true);
  BOOST_CHECK_EQUAL(r.at("decomposition").as_object().at("calls").as_int64(), 0);
  BOOST_CHECK_EQUAL(r.at("report").as_object().at("agents_ok").as_int64(), 4);
  BOOST_CHECK_EQUAL(agent(r, 3).at("depends_on").as_array().size(), 2u);
}

BOOST_AUTO_TEST_CASE(a_diamond_runs_in_dependency_order_from_its_events) {
  temp_file file(diamond);
  auto ran = process(CONCLAVE_CLI, {"run", file.path(), "--events", "jsonl", "--no-log"}, clean_env)
                 .wait();
  BOOST_REQUIRE_EQUAL(ran.exit_code, 0);
  // Per agent (numbered from 1): when it first started and when its last event came.
  std::map<std::int64_t, std::pair<double, double>> span;
  std::istringstream lines(ran.out);
  for (std::string line; std::getline(lines, line);) {
    const auto e = parse_object(line);
    if (!e.contains("agent")) continue;
    const auto a = e.at("agent").as_int64();
    const double t = e.at("t_ms").to_number<double>();
    const std::string kind(e.at("event").as_string());
    if (kind == "started" && span[a].first == 0) span[a].first = t;
    if (kind == "completed") span[a].second = t;
  }
  BOOST_REQUIRE_EQUAL(span.size(), 4u);
  BOOST_CHECK_LE(span[1].second, span[2].first);  // money and people wait for risk
  BOOST_CHECK_LE(span[1].second, span[3].first);
  BOOST_CHECK_LT(span[2].first, span[3].second);  // ...and run side by side
  BOOST_CHECK_LT(span[3].first, span[2].second);
  BOOST_CHECK_LE(std::max(span[2].second, span[3].second), span[4].first);
}

BOOST_AUTO_TEST_CASE(a_failed_dependency_skips_its_dependents_and_says_why) {
  temp_file file(R"({"question": "q", "subtasks": [
    {"id": "a", "prompt": "first", "model": "mock-empty"},
    {"id": "b", "prompt": "second", "depends_on": ["a"]},
    {"id": "c", "prompt": "independent"}]})");
  auto ran = process(CONCLAVE_CLI, {"run", file.path(), "--json", "--no-log"}, clean_env).wait();
  BOOST_CHECK_EQUAL(ran.exit_code, 0);  // c answered: a degraded answer
  const auto r = parse_object(ran.out);
  BOOST_CHECK_EQUAL(agent(r, 0).at("status").as_string(), "failed");
  BOOST_CHECK_EQUAL(agent(r, 1).at("status").as_string(), "skipped");
  BOOST_CHECK_EQUAL(agent(r, 1).at("error").as_object().at("code").as_string(),
                    "dependency_failed");
  BOOST_CHECK_EQUAL(agent(r, 1).at("attempts").as_int64(), 0);
  BOOST_CHECK_EQUAL(agent(r, 2).at("status").as_string(), "ok");
  BOOST_CHECK_EQUAL(r.at("degraded").as_bool(), true);
}

BOOST_AUTO_TEST_CASE(an_invalid_plan_exits_2_naming_the_offending_ids) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"subtasks": [{"id": "a", "prompt": "x", "depends_on": ["b"]},
                        {"id": "b", "prompt": "y", "depends_on": ["a"]}]})",
       "a -> b -> a"},
      {R"({"subtasks": [{"id": "a", "prompt": "x", "depends_on": ["ghost"]}]})", "ghost"},
      {R"({"subtasks": [{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}]})", "a"},
      {R"({"subtasks": []})", "no subtasks"},
      {R"({"subtasks": [{"id": "a", "prompt": "x", "dependson": []}]})", "dependson"},
      {R"({"subtasks": [{"id": "a"}]})", "prompt"},
      {"not json", "JSON"},
  };
  for (const auto& [text, named] : cases) {
    temp_file file(text);
    auto r = process(CONCLAVE_CLI, {"run", file.path(), "--no-log"}, clean_env).wait();
    BOOST_TEST_INFO(text);
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_MESSAGE(r.err.find(named) != std::string::npos, r.err);
    BOOST_CHECK(r.out.empty());
  }
  auto missing = process(CONCLAVE_CLI, {"run", "/nonexistent/plan.json"}, clean_env).wait();
  BOOST_CHECK_EQUAL(missing.exit_code, 2);
}

BOOST_AUTO_TEST_CASE(vote_and_select_at_the_front_door) {
  auto voted = process(CONCLAVE_CLI,
                       {"ask", "Should the city add bike lanes?", "-n", "3", "--combine", "vote",
                        "--json", "--no-log"},
                       clean_env)
                   .wait();
  BOOST_REQUIRE_EQUAL(voted.exit_code, 0);
  const auto v = parse_object(voted.out);
  const auto& combine = v.at("combine").as_object();
  BOOST_CHECK_EQUAL(combine.at("mode").as_string(), "vote");
  BOOST_CHECK_EQUAL(combine.at("votes").as_array().size(), 1u);  // the mock agents agree
  BOOST_CHECK_EQUAL(combine.at("tie").as_bool(), false);
  BOOST_CHECK_EQUAL(v.at("decomposition").as_object().at("calls").as_int64(), 0);
  BOOST_CHECK_EQUAL(v.at("synthesis").as_object().at("calls").as_int64(), 0);

  auto selected = process(CONCLAVE_CLI,
                          {"ask", "Should the city add bike lanes?", "-n", "3", "--combine",
                           "select", "--json", "--no-log"},
                          clean_env)
                      .wait();
  BOOST_REQUIRE_EQUAL(selected.exit_code, 0);
  const auto s = parse_object(selected.out);
  const auto chosen = s.at("combine").as_object().at("selected_agent").as_int64();
  BOOST_CHECK_EQUAL(s.at("answer").as_string(),
                    agent(s, static_cast<std::size_t>(chosen - 1)).at("answer").as_string());
}

BOOST_AUTO_TEST_CASE(verify_revises_what_the_judge_failed_once) {
  auto r = process(CONCLAVE_CLI,
                   {"ask", "How do tides work? mock-judge-fails", "-n", "2", "--verify", "--json",
                    "--no-log"},
                   clean_env)
               .wait();
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  const auto o = parse_object(r.out);
  BOOST_CHECK_EQUAL(o.at("combine").as_object().at("verify_rounds").as_int64(), 1);
  for (std::size_t i = 0; i < 2; ++i) {
    BOOST_CHECK_EQUAL(agent(o, i).at("verdict").as_string(), "fail");
    BOOST_CHECK_EQUAL(agent(o, i).at("revisions").as_int64(), 1);
    BOOST_CHECK(std::string(agent(o, i).at("answer").as_string()).starts_with("Revised: "));
  }
  // A revised decision still carries its vote.
  auto voted = process(CONCLAVE_CLI,
                       {"ask", "Tea? mock-judge-fails", "-n", "3", "--combine", "vote", "--verify",
                        "--json", "--no-log"},
                       clean_env)
                   .wait();
  BOOST_REQUIRE_EQUAL(voted.exit_code, 0);
  const auto v = parse_object(voted.out);
  BOOST_CHECK_EQUAL(v.at("combine").as_object().at("votes").as_array().size(), 1u);
  BOOST_CHECK_EQUAL(v.at("synthesis").as_object().at("calls").as_int64(), 3);  // the judges
}

BOOST_AUTO_TEST_CASE(the_attempt_log_records_the_plan_shape) {
  temp_file file(diamond);
  temp_file log("");
  auto ran =
      process(CONCLAVE_CLI, {"run", file.path(), "-q", "--log", log.path()}, clean_env).wait();
  BOOST_REQUIRE_EQUAL(ran.exit_code, 0);
  std::ifstream in(log.path());
  std::string line;
  BOOST_REQUIRE(std::getline(in, line));
  const auto entry = parse_object(line);
  BOOST_CHECK_EQUAL(entry.at("command").as_string(), "run");
  const auto& shape = entry.at("plan").as_object();
  BOOST_CHECK_EQUAL(shape.at("subtasks").as_int64(), 4);
  BOOST_CHECK_EQUAL(shape.at("edges").as_int64(), 4);
  BOOST_CHECK_EQUAL(shape.at("depth").as_int64(), 3);
  BOOST_CHECK_EQUAL(entry.at("subtasks").as_array().at(3).as_object().at("id").as_string(), "plan");
  auto shown = process(CONCLAVE_CLI, {"log", "--log", log.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(shown.exit_code, 0);
  BOOST_CHECK_MESSAGE(std::regex_search(shown.out, std::regex(R"( [0-9]+\.[0-9]x )")),
                      shown.out);  // the speedup column
}

BOOST_AUTO_TEST_CASE(plan_and_run_refuse_what_they_would_ignore_and_say_what_failed) {
  // `plan` makes one call: run-only flags are usage errors, not silently dropped.
  for (const char* flag : {"--json", "--save", "--tool", "--show-agents"}) {
    auto r = process(CONCLAVE_CLI, {"plan", "q", flag, "x"}, clean_env).wait();
    BOOST_TEST_INFO(flag);
    BOOST_CHECK_EQUAL(r.exit_code, 2);
  }
  // No plan came back: exit 1, not a stand-in plan.
  auto failed =
      process(CONCLAVE_CLI, {"plan", "-m", "mock-empty", "How do tides work?"}, clean_env).wait();
  BOOST_CHECK_EQUAL(failed.exit_code, 1);
  BOOST_CHECK(failed.out.empty());
  BOOST_CHECK_MESSAGE(failed.err.find("no plan") != std::string::npos, failed.err);

  temp_file file(diamond);
  auto voted = process(CONCLAVE_CLI,
                       {"run", file.path(), "--combine", "vote", "--json", "--no-log"}, clean_env)
                   .wait();
  BOOST_CHECK_EQUAL(voted.exit_code, 0);
  BOOST_CHECK_EQUAL(parse_object(voted.out).at("combine").as_object().at("mode").as_string(),
                    "vote");  // the flag wins over the file

  temp_file typo(R"({"subtasks": [{"id": "a", "prompt": "3+3?", "tools": ["calculater"]}]})");
  auto unknown =
      process(CONCLAVE_CLI, {"run", typo.path(), "--tool", "calculator", "--no-log"}, clean_env)
          .wait();
  BOOST_CHECK_EQUAL(unknown.exit_code, 2);
  BOOST_CHECK_MESSAGE(unknown.err.find("calculater") != std::string::npos &&
                          unknown.err.find("calculator") != std::string::npos,
                      unknown.err);

  temp_file empty("  \n");
  auto blank = process(CONCLAVE_CLI, {"run", empty.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(blank.exit_code, 2);
  BOOST_CHECK(blank.err.find("is empty") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_plans
