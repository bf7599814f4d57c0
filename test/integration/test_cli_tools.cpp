// Agents that act, end to end: the CLI with built-in tools on the built-in mock (which plays
// tool use), its report, its events, its limits, write conflicts and its usage errors.
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace integration_test_cli_tools {  // file-local names stay apart in unity batches

namespace json = boost::json;
using conclave::test::clean_env;
using conclave::test::parse_object;
using conclave::test::process;

namespace {

const json::object& agent(const json::object& report, std::size_t i) {
  return report.at("agents").as_array().at(i).as_object();
}

// A fresh empty directory under the temp directory, removed at the end.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() /
             ("conclave-" + tag + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

std::string contents(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The path the mock writes: write_file's schema gives "notes.txt" as the example for "path",
// and the mock fills a property from its examples (its "content" gets the first word, hello).
constexpr const char* mock_written = "notes.txt";

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

BOOST_AUTO_TEST_CASE(agents_writing_one_file_are_a_conflict) {
  const temp_dir root("cli-writes");
  auto r = process(CONCLAVE_CLI,
                   {"ask", "Q?", "-n", "3", "--tool", "write_file", "--root", root.path.string(),
                    "--json"},
                   clean_env)
               .wait();
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& a = agent(o, i);
    BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
    const auto& call = a.at("tool_calls").as_array().at(0).as_object();
    BOOST_CHECK_EQUAL(call.at("name").as_string(), "write_file");
    BOOST_CHECK_EQUAL(call.at("outcome").as_string(), "ok");
    BOOST_CHECK_EQUAL(call.at("resource").as_string(), mock_written);
    BOOST_CHECK_EQUAL(call.at("resource_held").as_bool(), false);
    BOOST_CHECK_MESSAGE(
        std::string(a.at("answer").as_string())
                .find("Tool write_file said: wrote 5 bytes to 'notes.txt'") != std::string::npos,
        a.at("answer"));
  }
  BOOST_CHECK_EQUAL(contents(root.path / mock_written), "hello");
  // One conflict: the file, with every agent (in the order they wrote it).
  const auto& conflicts = o.at("conflicts").as_array();
  BOOST_REQUIRE_EQUAL(conflicts.size(), 1u);
  BOOST_CHECK_EQUAL(conflicts[0].at("resource").as_string(), mock_written);
  std::vector<std::int64_t> writers;
  for (const auto& w : conflicts[0].at("agents").as_array()) writers.push_back(w.as_int64());
  std::sort(writers.begin(), writers.end());
  const std::vector<std::int64_t> all{1, 2, 3};
  BOOST_CHECK_EQUAL_COLLECTIONS(writers.begin(), writers.end(), all.begin(), all.end());
}

BOOST_AUTO_TEST_CASE(a_plan_holding_the_file_exclusively_runs_its_writers_one_at_a_time) {
  const temp_dir root("cli-exclusive");
  const conclave::test::temp_file plan(R"({"question": "Keep notes",
    "subtasks": [
      {"id": "a", "prompt": "Write the first notes", "exclusive": ["notes.txt"]},
      {"id": "b", "prompt": "Write the second notes", "exclusive": ["notes.txt"]},
      {"id": "c", "prompt": "Write the third notes", "exclusive": ["notes.txt"]}]})");
  const std::vector<std::string> args{"run",        plan.path(), "--tool",
                                      "write_file", "--root",    root.path.string()};

  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> all = args;
    all.insert(all.end(), more.begin(), more.end());
    return process(CONCLAVE_CLI, all, clean_env).wait();
  };
  auto r = with({"--json"});
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  BOOST_CHECK(o.at("conflicts").as_array().empty());
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& call = agent(o, i).at("tool_calls").as_array().at(0).as_object();
    BOOST_CHECK_EQUAL(call.at("resource").as_string(), mock_written);
    BOOST_CHECK_EQUAL(call.at("resource_held").as_bool(), true);
  }
  BOOST_CHECK_EQUAL(contents(root.path / mock_written), "hello");

  // From the events: each agent's span (its first start to its last event) is apart from the
  // others', and each write says it held the file.
  auto e = with({"--events", "jsonl"});
  BOOST_REQUIRE_EQUAL(e.exit_code, 0);
  std::map<std::int64_t, std::pair<double, double>> spans;
  int held_writes = 0;
  std::istringstream lines(e.out);
  for (std::string line; std::getline(lines, line);) {
    auto ev = parse_object(line);
    const std::string kind(ev.at("event").as_string());
    if (kind == "tool_call_finished") {
      BOOST_CHECK_EQUAL(ev.at("resource").as_string(), mock_written);
      held_writes += ev.at("held").as_bool();
    }
    if (kind == "report") BOOST_CHECK(ev.at("conflicts").as_array().empty());
    if (!ev.contains("agent")) continue;
    const double t = ev.at("t_ms").to_number<double>();
    const std::int64_t who = ev.at("agent").as_int64();
    if (kind == "started" && !spans.count(who)) spans[who] = {t, t};
    if (spans.count(who)) spans[who].second = t;
  }
  BOOST_CHECK_EQUAL(held_writes, 3);
  BOOST_REQUIRE_EQUAL(spans.size(), 3u);
  for (const auto& [i, a] : spans) {
    for (const auto& [j, b] : spans) {
      if (i >= j) continue;
      BOOST_TEST_INFO("agents " << i << " [" << a.first << ", " << a.second << "] and " << j << " ["
                                << b.first << ", " << b.second << "]");
      BOOST_CHECK(a.second <= b.first || b.second <= a.first);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_root_without_a_file_tool_is_a_warning) {
  auto r = process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "-q", "--root", "/tmp"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_MESSAGE(
      r.err.find("--root is used only by read_file, list_dir and write_file") != std::string::npos,
      r.err);
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
                        {{"--tool", "write_file"}, "write_file needs at least one root directory"},
                        {{"--tool", "calculator,write_file"}, "write_file needs at least one root"},
                        {{"--max-turns", "0"}, "--max-turns: needs a whole number from 1"},
                        {{"--max-tool-calls", "-1"}, "--max-tool-calls"},
                        {{"--tool-timeout", "0"}, "--tool-timeout"},
                        {{"--root", "/nonexistent/dir"}, "--root"},
                        {{"--mcp", "/nonexistent.json"}, "--mcp"},
                    });
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_tools
