// `conclave ask` journals its run and `conclave resume` takes a killed one up again: a run
// killed with SIGKILL after two of its four agents finished is resumed from the journal, the
// two are replayed (no model call) and only the other two run; the mock's counters prove it.
// Also: an unknown run, changed options, a finished run, --no-journal, the hint after Ctrl-C.
#include "background_mock.hpp"
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <conclave/journal/journal.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>
#include <thread>

namespace integration_test_cli_resume {  // file-local names stay apart in unity batches

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using conclave::test::background_mock;
using conclave::test::clean_env;
using conclave::test::env_with;
using conclave::test::parse_object;
using conclave::test::process;

using conclave::test::temp_dir;

namespace {

// The agents (by index) whose completion the journal holds for `run_id`.
std::set<int> finished_agents(const conclave::journal::journal& j, const std::string& run_id) {
  std::set<int> out;
  for (const auto& s : j.steps(run_id)) {
    if (s.kind == "completed" && s.key.starts_with("agent/"))
      out.insert(std::stoi(s.key.substr(6)));
  }
  return out;
}

// Polls another process's journal (and the mock) until `ready` holds, at most `limit`.
template <class Ready>
bool poll_until(Ready ready, std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);  // an external process's file: nothing to wait on
  }
  return true;
}

// The newest run in the journal ("" when none yet).
std::string newest_run(const conclave::journal::journal& j) {
  const auto runs = j.recent(1);
  return runs.empty() ? std::string() : runs.front().id;
}

conclave::mock::mock_options dripping() {
  conclave::mock::mock_options o;
  o.drip_interval = 10ms;  // a mock-drip agent takes ~2 s: the kill comes while it streams
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_resume)

BOOST_AUTO_TEST_CASE(a_killed_ask_resumes_paying_only_for_the_missing_agents) {
  background_mock m(dripping());
  temp_dir dir;
  const std::string journal_file = dir / "journal.db";
  auto j = conclave::journal::journal::open(journal_file);  // the schema, before the CLI runs
  const auto env = env_with({{"OPENAI_BASE_URL", m.server.base_url()},
                             {"OPENAI_API_KEY", "test-key"},
                             {"XDG_STATE_HOME", dir / "state"}});
  // Agents 1 and 2 answer at once, 3 and 4 drip their answers slowly.
  process first(CONCLAVE_CLI,
                {"ask", "-n", "4", "--agent-models", "mock,mock,mock-drip,mock-drip", "--journal",
                 journal_file, "--json", "--no-log", "What should a city do about heat waves?"},
                env);
  std::string id;
  const bool two_finished = poll_until([&] {
    if (id.empty()) id = newest_run(*j);
    // Every agent's call reached the mock, and two agents' completions are in the journal.
    return !id.empty() && m.server.stats().openai_calls >= 5 && finished_agents(*j, id).size() >= 2;
  });
  BOOST_REQUIRE(two_finished);
  first.signal(SIGKILL);
  BOOST_REQUIRE_EQUAL(first.wait().exit_code, -1);  // killed: nothing printed, nothing finished
  BOOST_REQUIRE_EQUAL(j->find(id)->status, "running");
  const std::set<int> replayable = finished_agents(*j, id);
  BOOST_REQUIRE(replayable == (std::set<int>{0, 1}));  // the drip agents were still streaming
  const auto at_kill = m.server.stats();
  BOOST_TEST(at_kill.openai_calls == 5u);  // decomposition + 4 agents

  // With no run named, resume lists the unfinished ones.
  auto listed = process(CONCLAVE_CLI, {"resume", "--journal", journal_file}, env).wait();
  BOOST_CHECK_EQUAL(listed.exit_code, 0);
  BOOST_CHECK_MESSAGE(listed.out.find(id) != std::string::npos, listed.out);

  auto resumed =
      process(CONCLAVE_CLI, {"resume", "--journal", journal_file, id, "--json", "--no-log"}, env)
          .wait();
  BOOST_REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  BOOST_CHECK_MESSAGE(
      resumed.err.find("2 agents replayed from the journal, 2 to run") != std::string::npos,
      resumed.err);
  const auto report = parse_object(resumed.out);
  BOOST_CHECK(report.at("error").is_null());
  BOOST_CHECK(!report.at("answer").as_string().empty());
  const auto& agents = report.at("agents").as_array();
  BOOST_REQUIRE_EQUAL(agents.size(), 4u);
  for (std::size_t i = 0; i < agents.size(); ++i) {
    const auto& a = agents.at(i).as_object();
    BOOST_TEST_CONTEXT("agent " << i) {
      BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
      BOOST_CHECK_EQUAL(a.contains("replayed"), replayable.count(static_cast<int>(i)) == 1);
    }
  }
  // The mock saw: the 2 missing agents and the synthesis, nothing else (no decomposition, no
  // replayed agent). Over both runs: 4 ordinary replies (decomposition, 2 agents, synthesis)
  // and 4 drips (2 cut by the kill, 2 resumed).
  const auto after = m.server.stats();
  BOOST_TEST(after.openai_calls - at_kill.openai_calls == 3u);
  BOOST_TEST(after.openai_calls == 8u);
  BOOST_TEST(after.completions == 4u);
  BOOST_TEST(after.faults_by_kind.at("drip") == 4u);
  BOOST_CHECK_EQUAL(j->find(id)->status, "succeeded");

  // Finished now: resume prints its answer from the journal and calls nothing.
  auto again = process(CONCLAVE_CLI, {"resume", "--journal", journal_file, id}, env).wait();
  BOOST_CHECK_EQUAL(again.exit_code, 0);
  BOOST_CHECK_MESSAGE(again.err.find("already finished") != std::string::npos, again.err);
  BOOST_CHECK_EQUAL(again.out, std::string(report.at("answer").as_string()) + "\n");
  BOOST_TEST(m.server.stats().openai_calls == 8u);
}

BOOST_AUTO_TEST_CASE(changed_options_and_unknown_runs_are_refused) {
  background_mock m(dripping());
  temp_dir dir;
  const std::string journal_file = dir / "journal.db";
  auto j = conclave::journal::journal::open(journal_file);
  const auto env = env_with({{"OPENAI_BASE_URL", m.server.base_url()},
                             {"OPENAI_API_KEY", "test-key"},
                             {"XDG_STATE_HOME", dir / "state"}});
  process first(CONCLAVE_CLI,
                {"ask", "-n", "2", "--agent-models", "mock-drip", "--journal", journal_file,
                 "--json", "--no-log", "What should a city do about heat waves?"},
                env);
  std::string id;
  BOOST_REQUIRE(poll_until([&] { return !(id = newest_run(*j)).empty(); }));
  first.signal(SIGKILL);
  first.wait();
  const auto calls = m.server.stats().openai_calls;

  // Another endpoint (another provider would be named the same way): refused, each change named.
  auto moved =
      process(
          CONCLAVE_CLI, {"resume", "--journal", journal_file, id},
          env_with({{"OPENAI_BASE_URL", "http://127.0.0.1:9/v1"}, {"OPENAI_API_KEY", "test-key"}}))
          .wait();
  BOOST_CHECK_EQUAL(moved.exit_code, 2);
  BOOST_CHECK_MESSAGE(
      moved.err.find("options changed since the run began: base_url was " + m.server.base_url() +
                     ", now http://127.0.0.1:9/v1") != std::string::npos,
      moved.err);
  auto mock_now =
      process(CONCLAVE_CLI, {"resume", "--journal", journal_file, id}, clean_env).wait();
  BOOST_CHECK_EQUAL(mock_now.exit_code, 2);
  BOOST_CHECK_MESSAGE(mock_now.err.find("provider was openai, now mock") != std::string::npos,
                      mock_now.err);

  auto unknown =
      process(CONCLAVE_CLI, {"resume", "--journal", journal_file, "run_0123456789abcdef"}, env)
          .wait();
  BOOST_CHECK_EQUAL(unknown.exit_code, 2);
  BOOST_CHECK_MESSAGE(unknown.err.find("no run 'run_0123456789abcdef'") != std::string::npos,
                      unknown.err);
  BOOST_TEST(m.server.stats().openai_calls == calls);  // none of them called a model
  BOOST_CHECK_EQUAL(j->find(id)->status, "running");
}

BOOST_AUTO_TEST_CASE(no_journal_writes_nothing_and_ask_journals_by_default) {
  temp_dir dir;
  const auto env = env_with({{"XDG_STATE_HOME", dir / "state"}});
  auto skipped =
      process(CONCLAVE_CLI, {"ask", "-n", "2", "--no-journal", "--no-log", "--json", "Why?"}, env)
          .wait();
  BOOST_REQUIRE_EQUAL(skipped.exit_code, 0);
  BOOST_CHECK(!fs::exists(dir / "state/conclave/journal.db"));

  auto journaled =
      process(CONCLAVE_CLI, {"ask", "-n", "2", "--no-log", "--json", "Why?"}, env).wait();
  BOOST_REQUIRE_EQUAL(journaled.exit_code, 0);
  auto j = conclave::journal::journal::open(dir / "state/conclave/journal.db");
  const auto runs = j->recent(10);
  BOOST_REQUIRE_EQUAL(runs.size(), 1u);
  BOOST_CHECK_EQUAL(runs.front().status, "succeeded");
  BOOST_CHECK_EQUAL(runs.front().kind, "ask");
  BOOST_CHECK(json::parse(runs.front().report_json).as_object().at("answer") ==
              parse_object(journaled.out).at("answer"));
}

BOOST_AUTO_TEST_CASE(an_interrupted_run_says_how_to_resume_it) {
  background_mock m(dripping());
  temp_dir dir;
  const std::string journal_file = dir / "journal.db";
  auto j = conclave::journal::journal::open(journal_file);
  process first(CONCLAVE_CLI,
                {"ask", "-n", "2", "--agent-models", "mock-drip", "--journal", journal_file, "-q",
                 "--no-log", "What should a city do about heat waves?"},
                env_with({{"OPENAI_BASE_URL", m.server.base_url()},
                          {"OPENAI_API_KEY", "test-key"},
                          {"XDG_STATE_HOME", dir / "state"}}));
  // Journaled, and asking (the decomposition reached the mock): the Ctrl-C handler is in place.
  std::string id;
  BOOST_REQUIRE(poll_until(
      [&] { return !(id = newest_run(*j)).empty() && m.server.stats().openai_calls >= 1; }));
  first.signal(SIGINT);
  const auto r = first.wait();
  BOOST_CHECK_EQUAL(r.exit_code, 130);
  BOOST_CHECK_MESSAGE(r.err.find("run " + id + " (resume with: conclave resume --journal " +
                                 journal_file + " " + id + ")") != std::string::npos,
                      r.err);
  BOOST_CHECK_EQUAL(j->find(id)->status, "cancelled");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_resume
