// Agents that act, end to end: the CLI with built-in tools on the built-in mock (which plays
// tool use), its report, its events, its limits and its usage errors.
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

namespace json = boost::json;
using conclave::test::clean_env;
using conclave::test::parse_object;
using conclave::test::process;

namespace {

const json::object& agent(const json::object& report, std::size_t i) {
  return report.at("agents").as_array().at(i).as_object();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_tools)

BOOST_AUTO_TEST_CASE(agents_call_a_built_in_and_the_report_lists_each_call) {
  auto r = process(CONCLAVE_CLI, {"ask", "How big?", "-n", "3", "--tool", "calculator", "--json"},
                   clean_env)
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  BOOST_CHECK_EQUAL(o.at("report").as_object().at("tool_calls").as_int64(), 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& a = agent(o, i);
    BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
    BOOST_CHECK_EQUAL(a.at("turns").as_int64(), 2);
    BOOST_CHECK_EQUAL(a.at("turn_tokens").as_array().size(), 2u);
    const auto& call = a.at("tool_calls").as_array().at(0).as_object();
    BOOST_CHECK_EQUAL(call.at("name").as_string(), "calculator");
    BOOST_CHECK_EQUAL(call.at("outcome").as_string(), "ok");
    BOOST_CHECK_EQUAL(call.at("turn").as_int64(), 1);
    BOOST_CHECK(call.at("error").is_null());
    // The mock's final answer quotes the result the loop fed back: the calculator's exact one.
    BOOST_CHECK_MESSAGE(
        std::string(a.at("answer").as_string()).find("Tool calculator said: 2560/3") !=
            std::string::npos,
        a.at("answer"));
  }
}

BOOST_AUTO_TEST_CASE(tool_events_come_between_the_turns) {
  auto r =
      process(CONCLAVE_CLI,
              {"ask", "Q?", "-n", "1", "--tool", "calculator", "--events", "jsonl", "--no-stream"},
              clean_env)
          .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  std::vector<std::string> kinds;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto e = parse_object(line);
    const std::string kind(e.at("event").as_string());
    if (kind == "tool_call_finished") {
      BOOST_CHECK_EQUAL(e.at("tool").as_string(), "calculator");
      BOOST_CHECK(e.at("error").is_null());
      BOOST_CHECK_GT(e.at("result_bytes").as_int64(), 0);
    }
    if (kind == "queued") BOOST_CHECK_EQUAL(e.at("max_turns").as_int64(), 10);
    kinds.push_back(kind);
  }
  const std::vector<std::string> expected{
      "decomposed", "queued",    "started",  "tool_call_started", "tool_call_finished",
      "started",    "completed", "combined", "finished",          "report"};
  BOOST_CHECK_EQUAL_COLLECTIONS(kinds.begin(), kinds.end(), expected.begin(), expected.end());
}

BOOST_AUTO_TEST_CASE(bad_arguments_go_back_to_the_model_which_then_answers) {
  auto r = process(CONCLAVE_CLI,
                   {"ask", "x", "-n", "1", "--tool", "calculator", "-m", "mock-tools-malformed",
                    "--json"},
                   clean_env)
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  const auto& a = agent(o, 0);
  BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
  const auto& call = a.at("tool_calls").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(call.at("outcome").as_string(), "refused");
  BOOST_CHECK(
      std::string(a.at("answer").as_string()).find("Error: the arguments are not a JSON object") !=
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_stall_and_the_turn_limit_have_their_own_status) {
  auto stalled =
      process(CONCLAVE_CLI,
              {"ask", "x", "-n", "1", "--tool", "calculator", "-m", "mock-tools-endless", "--json"},
              clean_env)
          .wait();
  BOOST_CHECK_EQUAL(stalled.exit_code, 1);  // nothing was said: no answer at all
  auto s = parse_object(stalled.out);
  BOOST_CHECK_EQUAL(agent(s, 0).at("status").as_string(), "stalled");
  BOOST_CHECK_EQUAL(agent(s, 0).at("tool_calls").as_array().size(), 2u);
  BOOST_CHECK_EQUAL(agent(s, 0).at("error").at("code").as_string(), "loop_limit");
  BOOST_CHECK_MESSAGE(stalled.err.find("3 times in a row") != std::string::npos, stalled.err);

  auto limited = process(CONCLAVE_CLI,
                         {"ask", "x", "-n", "1", "--tool", "calculator", "-m",
                          "mock-tools-endless-varied", "--max-turns", "3", "--json"},
                         clean_env)
                     .wait();
  auto l = parse_object(limited.out);
  BOOST_CHECK_EQUAL(agent(l, 0).at("status").as_string(), "max_turns");
  BOOST_CHECK_EQUAL(agent(l, 0).at("turns").as_int64(), 3);
  BOOST_CHECK(
      std::string(agent(l, 0).at("error").at("detail").as_string()).find("turn limit (3)") !=
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(file_tools_see_only_their_roots) {
  const auto root =
      std::filesystem::temp_directory_path() / ("conclave-cli-tools-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "sub");
  std::ofstream(root / "notes.txt") << "hello";
  auto r = process(CONCLAVE_CLI,
                   {"ask", "x", "-n", "1", "--tool", "list_dir", "--root", root.string(), "--json"},
                   clean_env)
               .wait();
  std::filesystem::remove_all(root);
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  BOOST_CHECK_MESSAGE(std::string(agent(o, 0).at("answer").as_string())
                              .find("Tool list_dir said: notes.txt sub/") != std::string::npos,
                      agent(o, 0).at("answer"));
}

BOOST_AUTO_TEST_CASE(paths_in_the_config_file_are_relative_to_it) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("conclave-cli-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "docs");
  std::ofstream(dir / "docs" / "readme.txt") << "hi";
  std::ofstream(dir / "config.json") << R"({"tools": ["list_dir"], "roots": ["docs"]})";
  auto r = process(CONCLAVE_CLI,
                   {"ask", "x", "-n", "1", "--config", (dir / "config.json").string(), "--json"},
                   clean_env)
               .wait();
  std::filesystem::remove_all(dir);
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  BOOST_CHECK_MESSAGE(
      std::string(agent(o, 0).at("answer").as_string()).find("Tool list_dir said: readme.txt") !=
          std::string::npos,
      agent(o, 0).at("answer"));
}

BOOST_AUTO_TEST_CASE(a_root_without_a_file_tool_is_a_warning) {
  auto r = process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "-q", "--root", "/tmp"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_MESSAGE(
      r.err.find("--root is used only by read_file and list_dir") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(bad_tool_flags_are_usage_errors) {
  const conclave::test::temp_file not_json("{\"mcpServers\": ");
  const conclave::test::temp_file no_command(R"({"mcpServers": {"x": {"args": []}}})");
  conclave::test::check_usage_errors(CONCLAVE_CLI, {
                                                       {{"--mcp", not_json.path()}, "--mcp: "},
                                                       {{"--mcp", no_command.path()}, "--mcp: "},
                                                   });
  conclave::test::check_usage_errors(
      CONCLAVE_CLI, {
                        {{"--tool", "shell"}, "--tool: shell not in"},
                        {{"--tool", "read_file"}, "read_file needs at least one root directory"},
                        {{"--max-turns", "0"}, "--max-turns: needs a whole number from 1"},
                        {{"--max-tool-calls", "-1"}, "--max-tool-calls"},
                        {{"--tool-timeout", "0"}, "--tool-timeout"},
                        {{"--root", "/nonexistent/dir"}, "--root"},
                        {{"--mcp", "/nonexistent.json"}, "--mcp"},
                    });
}

BOOST_AUTO_TEST_SUITE_END()
