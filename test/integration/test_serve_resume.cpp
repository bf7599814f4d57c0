// The kill -9 proof: `conclave serve` (a child process) runs a 4-agent task against
// `conclave-mock` (another child, with latency and jitter so agents end apart), is killed with
// SIGKILL once two agents finished, and restarted on the same journal: the task resumes by
// itself under its id, and the mock's counters show the finished agents were not paid for
// again. And a journaled task whose fingerprint changed (another -m) is not resumed.
// External processes: their state is polled in bounded loops.
#include "serve_children.hpp"

#include <conclave/journal/journal.hpp>

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace integration_test_serve_resume {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conclave::test::json_of;
using conclave::test::process;
using conclave::test::reply;

namespace {

using conclave::test::call;
using conclave::test::child;
using conclave::test::mock_calls;
using conclave::test::start_mock;
using conclave::test::temp_dir;
using conclave::test::until_completed;

child start_serve(const temp_dir& dir, const std::string& name, const std::string& mock_url,
                  const std::string& model) {
  return conclave::test::start_serve(dir, name, mock_url, {"--journal", dir / "j.db", "-m", model});
}

// The journal's record of the task's run (polled: serve writes it from another process).
std::optional<conclave::journal::run_record> journaled(const std::string& path,
                                                       const std::string& id) {
  auto j = conclave::journal::journal::open(path);
  for (auto& r : j->recent(50))
    if (r.owner == "serve:" + id) return r;
  return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(serve_resume)

BOOST_AUTO_TEST_CASE(kill_9_then_restart_resumes_without_paying_again) {
  temp_dir dir;
  child mock = start_mock(dir);
  child first = start_serve(dir, "serve-1", mock.url, "gpt-4o-mini");
  const auto sub =
      call(first.port, "POST", "/v1/tasks",
           R"({"question":"Compare marker-resume with its rivals","options":{"agents":4}})");
  BOOST_REQUIRE_EQUAL(sub.result_int(), 202u);
  const std::string id(json_of(sub.body()).at("id").as_string());
  until_completed(first.port, id, 2);
  first.proc->signal(SIGKILL);
  BOOST_CHECK_EQUAL(first.proc->wait(10s).exit_code, -1);
  const std::uint64_t before = mock_calls(mock);

  child second = start_serve(dir, "serve-2", mock.url, "gpt-4o-mini");
  BOOST_CHECK_NE(second.port, first.port);
  // The task is back under its id (once the run loop read the journal; bounded).
  BOOST_REQUIRE_EQUAL(conclave::test::wait_for_task(second.port, id), 200u);
  const std::uint64_t replayed = conclave::test::replayed_to_the_end(second.port, id, 4);
  const std::uint64_t after = mock_calls(mock);
  BOOST_TEST_MESSAGE("kill -9 numbers: calls before the kill "
                     << before << ", after the resume " << after << " (" << after - before
                     << " new), agents replayed " << replayed << " of 4");
  // Before the kill: the decomposition and the four agents' calls, all sent (they run at once).
  BOOST_CHECK_EQUAL(before, 5u);
  BOOST_CHECK_GE(replayed, 2u);
  // After: no decomposition (the plan was journaled), only the agents that had not finished,
  // and the synthesis. In all 1 + 4 + 1 and one more call per agent cut short by the kill.
  BOOST_CHECK_EQUAL(after - before, (4 - replayed) + 1);
  BOOST_CHECK_EQUAL(after, 6 + (4 - replayed));
  BOOST_CHECK_EQUAL(journaled(dir / "j.db", id).value().status, "succeeded");

  second.proc->signal(SIGTERM);
  const auto out = second.proc->wait(20s);
  BOOST_CHECK_EQUAL(out.exit_code, 0);
  BOOST_CHECK_MESSAGE(out.err.find("resuming task " + id) != std::string::npos, out.err);
  mock.proc->signal(SIGTERM);
  mock.proc->wait(10s);
}

BOOST_AUTO_TEST_CASE(a_changed_fingerprint_is_not_resumed) {
  temp_dir dir;
  child mock = start_mock(dir);
  child first = start_serve(dir, "serve-1", mock.url, "mock-model-a");
  const auto sub = call(first.port, "POST", "/v1/tasks",
                        R"({"question":"Compare marker-moved and others","options":{"agents":2}})");
  BOOST_REQUIRE_EQUAL(sub.result_int(), 202u);
  const std::string id(json_of(sub.body()).at("id").as_string());
  first.proc->signal(SIGKILL);  // journaled at submit: unfinished from here on
  first.proc->wait(10s);
  BOOST_REQUIRE_EQUAL(journaled(dir / "j.db", id).value().status, "running");

  child second = start_serve(dir, "serve-2", mock.url, "mock-model-b");
  // The refusal ends the run in the journal (bounded poll: another process writes it).
  std::string state;
  for (int i = 0; i < 500 && state != "failed"; ++i) {
    state = journaled(dir / "j.db", id).value().status;
    if (state != "failed") std::this_thread::sleep_for(10ms);
  }
  BOOST_CHECK_EQUAL(state, "failed");
  const auto status = call(second.port, "GET", "/v1/tasks/" + id);
  BOOST_CHECK_EQUAL(status.result_int(), 404u);
  BOOST_CHECK_EQUAL(conclave::test::error_field(status, "code"), "task_not_found");
  second.proc->signal(SIGTERM);
  const auto out = second.proc->wait(20s);
  BOOST_CHECK_EQUAL(out.exit_code, 0);
  BOOST_CHECK_MESSAGE(out.err.find("not resuming task " + id) != std::string::npos, out.err);
  mock.proc->signal(SIGTERM);
  mock.proc->wait(10s);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_serve_resume
