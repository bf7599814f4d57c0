// The attempt log end to end: `conclave ask` appends a line per run (--log FILE, or under
// XDG_STATE_HOME), `--no-log` writes nothing, a log that cannot be written only warns, and
// `conclave log` shows the runs as a table or JSON.
#include "background_mock.hpp"
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <thread>

namespace integration_test_cli_log {  // file-local names stay apart in unity batches

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using conclave::test::background_mock;
using conclave::test::clean_env;
using conclave::test::env_with;
using conclave::test::process;

using conclave::test::temp_dir;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<json::object> log_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json::object> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_log)

BOOST_AUTO_TEST_CASE(two_asks_then_the_log_shows_both_with_speedups) {
  temp_dir dir;
  const std::string log = dir / "runs.jsonl";
  for (const char* q : {"How do tides work?", "Why is ice slippery?"}) {
    auto r = process(CONCLAVE_CLI, {"ask", q, "-n", "4", "-q", "--log", log}, clean_env).wait();
    BOOST_REQUIRE_EQUAL(r.exit_code, 0);
    BOOST_CHECK_MESSAGE(r.err.find("not logged") == std::string::npos, r.err);
  }
  struct stat st;
  BOOST_REQUIRE_EQUAL(::stat(log.c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  const auto entries = log_lines(log);
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  BOOST_CHECK_EQUAL(entries[0].at("question").as_string(), "How do tides work?");
  BOOST_CHECK_EQUAL(entries[0].at("command").as_string(), "ask");
  BOOST_CHECK_EQUAL(entries[0].at("outcome").as_string(), "ok");
  BOOST_CHECK_EQUAL(entries[0].at("subtasks").as_array().size(), 4u);
  BOOST_CHECK_GT(entries[0].at("speedup").to_number<double>(), 1.0);

  auto shown = process(CONCLAVE_CLI, {"log", "--log", log}, clean_env).wait();
  BOOST_CHECK_EQUAL(shown.exit_code, 0);
  const auto rows = lines_of(shown.out);
  BOOST_REQUIRE_EQUAL(rows.size(), 3u);  // the header and two runs, oldest first
  const std::regex speedup(R"(\b\d+\.\dx\b)");
  BOOST_CHECK_MESSAGE(std::regex_search(rows[1], speedup), shown.out);
  BOOST_CHECK_MESSAGE(std::regex_search(rows[2], speedup), shown.out);
  BOOST_CHECK(rows[1].find("4/4") != std::string::npos);
  BOOST_CHECK(rows[2].find("Why is ice slippery?") != std::string::npos);

  auto last = process(CONCLAVE_CLI, {"log", "--log", log, "-n", "1"}, clean_env).wait();
  BOOST_REQUIRE_EQUAL(lines_of(last.out).size(), 2u);
  BOOST_CHECK(last.out.find("Why is ice slippery?") != std::string::npos);

  auto as_json = process(CONCLAVE_CLI, {"log", "--log", log, "--json"}, clean_env).wait();
  BOOST_CHECK_EQUAL(as_json.exit_code, 0);
  const auto array = json::parse(as_json.out).as_array();
  BOOST_REQUIRE_EQUAL(array.size(), 2u);
  BOOST_CHECK(array[0] == json::value(entries[0]));
  BOOST_CHECK(array[1] == json::value(entries[1]));
}

BOOST_AUTO_TEST_CASE(failed_runs_are_logged_usage_errors_are_not) {
  temp_dir dir;
  const std::string log = dir / "runs.jsonl";
  auto failed =
      process(CONCLAVE_CLI, {"ask", "x", "--model", "mock-429", "--log", log}, clean_env).wait();
  BOOST_CHECK_EQUAL(failed.exit_code, 1);
  auto usage = process(CONCLAVE_CLI, {"ask", "--agentz", "3", "--log", log}, clean_env).wait();
  BOOST_CHECK_EQUAL(usage.exit_code, 2);
  const auto entries = log_lines(log);
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_CHECK_EQUAL(entries[0].at("outcome").as_string(), "all_agents_failed");
}

BOOST_AUTO_TEST_CASE(an_interrupted_run_is_logged_as_cancelled) {
  temp_dir dir;
  const std::string log = dir / "runs.jsonl";
  background_mock mock;
  process p(CONCLAVE_CLI, {"ask", "x", "--model", "mock-hang", "--log", log},
            env_with({{"OPENAI_BASE_URL", mock.server.base_url()}, {"OPENAI_API_KEY", "sk-x"}}));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (mock.server.stats().in_flight == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);  // polling another process's progress, bounded
  }
  BOOST_REQUIRE_EQUAL(mock.server.stats().in_flight, 1u);
  p.signal(SIGINT);
  auto r = p.wait();
  BOOST_CHECK_EQUAL(r.exit_code, 130);
  const auto entries = log_lines(log);
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_CHECK_EQUAL(entries[0].at("outcome").as_string(), "cancelled");
}

BOOST_AUTO_TEST_CASE(no_log_writes_nothing) {
  temp_dir state;
  // (--no-journal: the run journal lives in the state directory too)
  auto r = process(CONCLAVE_CLI, {"ask", "x", "-q", "--no-log", "--no-journal"},
                   env_with({{"XDG_STATE_HOME", state.str()}}))
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK(fs::is_empty(state.str()));
  auto both =
      process(CONCLAVE_CLI, {"ask", "x", "--no-log", "--log", state / "f.jsonl"}, clean_env).wait();
  BOOST_CHECK_EQUAL(both.exit_code, 2);
  BOOST_CHECK(fs::is_empty(state.str()));
}

BOOST_AUTO_TEST_CASE(the_config_names_the_log_or_turns_it_off) {
  temp_dir dir, state;
  const std::string config = dir / "config.json";
  const auto env = env_with({{"XDG_STATE_HOME", state.str()}});
  // Both beside the config file (the run journal too: the state directory stays empty).
  std::ofstream(config) << R"({"log": "mine.jsonl", "journal": "journal.db"})";
  auto r = process(CONCLAVE_CLI, {"ask", "x", "-q", "--config", config}, env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_EQUAL(log_lines(dir / "mine.jsonl").size(), 1u);
  BOOST_CHECK(fs::exists(dir / "journal.db"));
  std::ofstream(config, std::ios::trunc) << R"({"log": false, "journal": false})";
  r = process(CONCLAVE_CLI, {"ask", "x", "-q", "--config", config}, env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK(fs::is_empty(state.str()));
  // A --log on the command line wins over the config's false.
  r = process(CONCLAVE_CLI, {"ask", "x", "-q", "--config", config, "--log", dir / "flag.jsonl"},
              env)
          .wait();
  BOOST_CHECK_EQUAL(log_lines(dir / "flag.jsonl").size(), 1u);
  std::ofstream(config, std::ios::trunc) << R"({"log": 3})";
  r = process(CONCLAVE_CLI, {"ask", "x", "--config", config}, env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("'log' must be a file path, or false") != std::string::npos,
                      r.err);
}

BOOST_AUTO_TEST_CASE(the_default_log_is_under_xdg_state_home) {
  temp_dir state;
  const auto env = env_with({{"XDG_STATE_HOME", state.str()}});
  auto r = process(CONCLAVE_CLI, {"ask", "Where is it?", "-q"}, env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  const std::string log = state / "conclave/runs.jsonl";
  BOOST_REQUIRE_EQUAL(log_lines(log).size(), 1u);
  struct stat st;
  BOOST_REQUIRE_EQUAL(::stat((state / "conclave").c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0700u);
  auto shown = process(CONCLAVE_CLI, {"log"}, env).wait();
  BOOST_CHECK_EQUAL(shown.exit_code, 0);
  BOOST_REQUIRE_EQUAL(lines_of(shown.out).size(), 2u);
  BOOST_CHECK(shown.out.find("Where is it?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_log_that_cannot_be_written_only_warns) {
  temp_dir dir;
  std::ofstream(dir / "file") << "in the way\n";
  const std::string log = dir / "file/sub/runs.jsonl";  // a file where a directory must be
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--json", "--log", log}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK(json::parse(r.out).as_object().at("error").is_null());  // stdout intact
  BOOST_CHECK_MESSAGE(r.err.find("warning: this run is not logged") != std::string::npos, r.err);
  BOOST_CHECK_MESSAGE(r.err.find(log) != std::string::npos, r.err);

  // No usable XDG_STATE_HOME or HOME: one warning, the run as ever.
  auto nowhere = process(CONCLAVE_CLI, {"ask", "x", "-q"},
                         env_with({{"XDG_STATE_HOME", "relative"}, {"HOME", "relative"}}))
                     .wait();
  BOOST_CHECK_EQUAL(nowhere.exit_code, 0);
  BOOST_CHECK_MESSAGE(nowhere.err.find("not logged") != std::string::npos, nowhere.err);
}

BOOST_AUTO_TEST_CASE(an_empty_or_missing_log_is_said_plainly) {
  temp_dir dir;
  auto missing = process(CONCLAVE_CLI, {"log", "--log", dir / "none.jsonl"}, clean_env).wait();
  BOOST_CHECK_EQUAL(missing.exit_code, 0);
  BOOST_CHECK_MESSAGE(
      missing.out.find("no runs logged yet in " + dir / "none.jsonl") != std::string::npos,
      missing.out);
  std::ofstream(dir / "empty.jsonl");
  auto empty =
      process(CONCLAVE_CLI, {"log", "--log", dir / "empty.jsonl", "--json"}, clean_env).wait();
  BOOST_CHECK_EQUAL(empty.exit_code, 0);
  BOOST_CHECK_EQUAL(empty.out, "[]\n");
  auto unreadable = process(CONCLAVE_CLI, {"log", "--log", dir.str()}, clean_env).wait();
  BOOST_CHECK_EQUAL(unreadable.exit_code, 1);
  BOOST_CHECK_MESSAGE(unreadable.err.find("not a regular file") != std::string::npos,
                      unreadable.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_log
