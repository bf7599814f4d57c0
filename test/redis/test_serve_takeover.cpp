// Several `conclave serve` instances on one Redis (child processes, with `conclave-mock` and a
// real redis-server): one is killed with SIGKILL once two of its task's four agents finished,
// and another instance takes the task over by itself, under its id, once the dead one's hold
// lapsed; the mock's counters show the finished agents were not paid for again. And an
// instance whose hold was taken stops its run and leaves the journal's run to the taker.
// External processes: their state is polled in bounded loops.
#include "redis_admin.hpp"
#include "serve_children.hpp"

#include <conclave/redis/journal_store.hpp>

#include <boost/test/unit_test.hpp>

#include <csignal>

namespace redis_test_serve_takeover {

using namespace std::chrono_literals;
using conclave::test::call;
using conclave::test::child;
using conclave::test::json_of;
using conclave::test::temp_dir;

child start_instance(const temp_dir& dir, const std::string& name, const std::string& mock_url,
                     const conclave::test::redis_server& redis) {
  return conclave::test::start_serve(
      dir, name, mock_url,
      {"-m", "gpt-4o-mini", "--redis", redis.url(), "--takeover-after", "1", "--grace", "0"});
}

// The journal's run of a task, read from Redis as the instances wrote it.
std::optional<conclave::journal::run_record> journaled(const conclave::test::redis_server& redis,
                                                       const std::string& task_id) {
  conclave::redis::journal_options o;
  o.where.port = redis.port();
  auto j = conclave::redis::open_journal(o);
  for (auto& r : j->recent(50))
    if (r.owner == "serve:" + task_id) return r;
  return std::nullopt;
}

std::string submit(const child& to, const std::string& body) {
  const auto sub = call(to.port, "POST", "/v1/tasks", body);
  BOOST_REQUIRE_EQUAL(sub.result_int(), 202u);
  return std::string(json_of(sub.body()).at("id").as_string());
}

conclave::test::process_result stop(child& c) {
  c.proc->signal(SIGTERM);
  return c.proc->wait(20s);
}

BOOST_AUTO_TEST_SUITE(serve_takeover)

BOOST_AUTO_TEST_CASE(kill_9_one_instance_and_another_finishes_its_task_without_paying_again) {
  conclave::test::redis_server redis;
  temp_dir dir;
  child mock = conclave::test::start_mock(dir);
  child first = start_instance(dir, "serve-1", mock.url, redis);
  child second = start_instance(dir, "serve-2", mock.url, redis);
  const std::string id = submit(
      first, R"({"question":"Compare marker-takeover with its rivals","options":{"agents":4}})");
  // Held by the first instance while it lives: the second does not touch it.
  BOOST_CHECK_EQUAL(call(second.port, "GET", "/v1/tasks/" + id).result_int(), 404u);
  conclave::test::until_completed(first.port, id, 2);
  first.proc->signal(SIGKILL);
  BOOST_CHECK_EQUAL(first.proc->wait(10s).exit_code, -1);
  const std::uint64_t before = conclave::test::mock_calls(mock);

  // The second takes it over once the dead one's hold lapsed (1 s), under the same id.
  BOOST_REQUIRE_EQUAL(conclave::test::wait_for_task(second.port, id), 200u);
  const auto events = call(second.port, "GET", "/v1/tasks/" + id + "/events", {}, 60s);
  const auto frames = conclave::test::sse_events(events.body());
  BOOST_REQUIRE(!frames.empty());
  BOOST_CHECK_EQUAL(json_of(frames.back().data).at("state").as_string(), "succeeded");
  const auto result = json_of(call(second.port, "GET", "/v1/tasks/" + id + "/result").body());
  BOOST_REQUIRE_EQUAL(result.at("state").as_string(), "succeeded");
  BOOST_CHECK(!result.at("answer").as_string().empty());
  const auto& agents = result.at("report").at("agents").as_array();
  BOOST_REQUIRE_EQUAL(agents.size(), 4u);
  std::uint64_t replayed = 0;
  for (const auto& a : agents) {
    BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
    const auto* r = a.as_object().if_contains("replayed");
    replayed += r && r->as_bool();
  }
  const std::uint64_t after = conclave::test::mock_calls(mock);
  BOOST_TEST_MESSAGE("takeover numbers: calls before the kill "
                     << before << ", after the takeover " << after << " (" << after - before
                     << " new), agents replayed " << replayed << " of 4");
  // Before the kill: the decomposition and the four agents' calls (they run at once).
  BOOST_CHECK_EQUAL(before, 5u);
  BOOST_CHECK_GE(replayed, 2u);
  // After: no decomposition (the plan was journaled), the agents that had not finished, and
  // the synthesis: nothing finished was paid for twice.
  BOOST_CHECK_EQUAL(after - before, (4 - replayed) + 1);
  const auto run = journaled(redis, id);
  BOOST_REQUIRE(run.has_value());
  BOOST_CHECK_EQUAL(run->status, "succeeded");

  const auto out = stop(second);
  BOOST_CHECK_MESSAGE(out.err.find("resuming task " + id) != std::string::npos, out.err);
  stop(mock);
}

BOOST_AUTO_TEST_CASE(an_instance_whose_hold_was_taken_stops_its_run_and_leaves_the_journal) {
  conclave::test::redis_server redis;
  temp_dir dir;
  child mock = conclave::test::start_mock(dir);
  child first = start_instance(dir, "serve-1", mock.url, redis);
  const std::string id =
      submit(first, R"({"question":"Compare marker-stolen with others","options":{"agents":4}})");
  const auto run = journaled(redis, id);
  BOOST_REQUIRE(run.has_value());
  // Another instance takes the run, as it would once this one's hold lapsed.
  conclave::test::redis_command(
      redis, {"SET", "conclave:journal:hold:" + run->id, "serve-intruder", "PX", "60000"});
  // At its next renewal (every 1/3 s) the first finds the hold gone and stops its run here.
  std::string state;
  boost::json::value status;
  for (int i = 0; i < 1000 && state != "cancelled"; ++i) {  // bounded: another process
    status = json_of(call(first.port, "GET", "/v1/tasks/" + id).body());
    state = std::string(status.at("state").as_string());
    if (state != "cancelled") std::this_thread::sleep_for(10ms);
  }
  BOOST_REQUIRE_EQUAL(state, "cancelled");
  BOOST_CHECK_EQUAL(status.at("error").at("code").as_string(), "taken_over");
  // The journal's run is the taker's to finish: still running, and still the taker's hold.
  BOOST_CHECK_EQUAL(journaled(redis, id)->status, "running");
  BOOST_CHECK_EQUAL(
      conclave::test::redis_command(redis, {"GET", "conclave:journal:hold:" + run->id}).text,
      "serve-intruder");
  const auto out = stop(first);
  BOOST_CHECK_MESSAGE(out.err.find("was taken over by another instance") != std::string::npos,
                      out.err);
  BOOST_CHECK_EQUAL(journaled(redis, id)->status, "running");  // not ended at stop either
  stop(mock);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_serve_takeover
