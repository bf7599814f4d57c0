// Several `conclave serve` instances on one Redis (child processes, with `conclave-mock` and a
// real redis-server): one is killed with SIGKILL once two of its task's four agents finished,
// and another instance takes the task over by itself, under its id, once the dead one's hold
// lapsed; the mock's counters show the finished agents were not paid for again. An instance
// whose hold was taken stops its run, answers from the journal and leaves the run to the
// taker. And any
// instance answers (status, result) and cancels a task another one runs.
// External processes: their state is polled in bounded loops.
#include "redis_admin.hpp"
#include "serve_children.hpp"

#include <conclave/redis/journal_store.hpp>

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>

namespace redis_test_serve_takeover {

using namespace std::chrono_literals;
using conclave::test::call;
using conclave::test::child;
using conclave::test::json_of;
using conclave::test::temp_dir;

child start_instance(const temp_dir& dir, const std::string& name, const std::string& mock_url,
                     const conclave::test::redis_server& redis,
                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"-m", "gpt-4o-mini", "--redis", redis.url(), "--takeover-after",
                                "3",  "--grace",     "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return conclave::test::start_serve(dir, name, mock_url, args);
}

// The journal's run of a task, read from Redis as the instances wrote it.
std::optional<conclave::journal::run_record> journaled(const conclave::test::redis_server& redis,
                                                       const std::string& task_id) {
  conclave::redis::journal_options o;
  o.where.port = redis.port();
  o.prefix = "conclave:default";
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

// Polls (bounded: other processes) GET /v1/tasks/{id} on `at` until `done(status)`; the last.
template <typename Pred>
boost::json::value wait_for_status(const child& at, const std::string& id, Pred done) {
  boost::json::value status;
  for (int i = 0; i < 1000; ++i) {
    const auto r = call(at.port, "GET", "/v1/tasks/" + id);
    if (r.result_int() == 200) {
      status = json_of(r.body());
      if (done(status.as_object())) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  return status;
}

std::string phase(const boost::json::value& status) {
  return std::string(status.at("progress").at("phase").as_string());
}

conclave::test::process_result stop(child& c) {
  c.proc->signal(SIGTERM);
  return c.proc->wait(20s);
}

// A Redis, a mock and two instances on them.
struct two_instances {
  explicit two_instances(const std::vector<std::string>& extra = {})
      : mock(conclave::test::start_mock(dir)),
        first(start_instance(dir, "serve-1", mock.url, redis, extra)),
        second(start_instance(dir, "serve-2", mock.url, redis, extra)) {}
  conclave::test::redis_server redis;
  temp_dir dir;
  child mock;
  child first;
  child second;

  /// Waits (bounded) until one of the two claimed task `id` (submitted to the first); that
  /// one, and the other.
  std::pair<child*, child*> claimed(const std::string& id) {
    const auto s =
        wait_for_status(first, id, [](const auto& v) { return v.at("state") != "queued"; });
    BOOST_REQUIRE_EQUAL(s.at("state").as_string(), "running");
    if (phase(s) != "elsewhere") return {&first, &second};
    return {&second, &first};
  }
};

struct two_instances_one_worker_each : two_instances {
  two_instances_one_worker_each() : two_instances({"--workers", "1", "--queue-size", "3"}) {}
};

BOOST_AUTO_TEST_SUITE(serve_takeover)

BOOST_FIXTURE_TEST_CASE(kill_9_one_instance_and_another_finishes_its_task_without_paying_again,
                        two_instances) {
  const std::string id = submit(
      first, R"({"question":"Compare marker-takeover with its rivals","options":{"agents":4}})");
  // Whichever instance claimed it holds it; the other only reads it from the journal.
  auto [runs, waits] = claimed(id);
  child& runner = *runs;
  child& taker = *waits;
  const auto seen = call(taker.port, "GET", "/v1/tasks/" + id);
  BOOST_REQUIRE_EQUAL(seen.result_int(), 200u);
  BOOST_CHECK_EQUAL(phase(json_of(seen.body())), "elsewhere");
  BOOST_CHECK_EQUAL(json_of(seen.body()).at("state").as_string(), "running");
  BOOST_CHECK_EQUAL(call(taker.port, "GET", "/v1/tasks/" + id + "/events").result_int(), 409u);
  conclave::test::until_completed(runner.port, id, 2);
  runner.proc->signal(SIGKILL);
  BOOST_CHECK_EQUAL(runner.proc->wait(10s).exit_code, -1);
  const std::uint64_t before = conclave::test::mock_calls(mock);

  // The second takes it over once the dead one's hold lapsed (3 s), under the same id.
  const auto taken = wait_for_status(taker, id, [](const auto& s) {
    return s.at("progress").at("phase").as_string() != "elsewhere";
  });
  BOOST_REQUIRE_NE(phase(taken), "elsewhere");
  const std::uint64_t replayed = conclave::test::replayed_to_the_end(taker.port, id, 4);
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

  const auto out = stop(taker);
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
  // Claimed (and held) by it first: only then is there a hold to take.
  wait_for_status(first, id, [](const auto& v) { return v.at("state") != "queued"; });
  const auto run = journaled(redis, id);
  BOOST_REQUIRE(run.has_value());
  // Another instance takes the run, as it would once this one's hold lapsed.
  conclave::test::redis_command(
      redis, {"SET", "conclave:default:journal:hold:" + run->id, "serve-intruder", "PX", "60000"});
  // At its next renewal (every 1 s) the first finds the hold gone and stops its run here;
  // from then on it answers for the task from the journal, as any instance would.
  const auto status = wait_for_status(first, id, [](const auto& s) {
    return s.at("progress").at("phase").as_string() == "elsewhere";
  });
  BOOST_REQUIRE_EQUAL(phase(status), "elsewhere");
  BOOST_CHECK_EQUAL(status.at("state").as_string(), "running");
  // The journal's run is the taker's to finish: still running, and still the taker's hold.
  BOOST_CHECK_EQUAL(journaled(redis, id)->status, "running");
  BOOST_CHECK_EQUAL(
      conclave::test::redis_command(redis, {"GET", "conclave:default:journal:hold:" + run->id})
          .text,
      "serve-intruder");
  const auto out = stop(first);
  BOOST_CHECK_MESSAGE(out.err.find("was taken over by another instance") != std::string::npos,
                      out.err);
  BOOST_CHECK_EQUAL(journaled(redis, id)->status, "running");  // not ended at stop either
  stop(mock);
}

BOOST_FIXTURE_TEST_CASE(any_instance_answers_and_cancels_a_task_another_runs, two_instances) {
  const std::string id = submit(
      first, R"({"question":"Compare marker-far with others","priority":7,"metadata":"m-1"})");
  auto [runs, waits] = claimed(id);
  child& runner = *runs;
  child& other = *waits;
  BOOST_CHECK_EQUAL(call(other.port, "GET", "/v1/tasks/task_0123456789abcdef0123").result_int(),
                    404u);
  BOOST_CHECK_EQUAL(call(other.port, "GET", "/v1/tasks/" + id + "/result").result_int(), 409u);
  const auto del = call(other.port, "DELETE", "/v1/tasks/" + id);
  BOOST_REQUIRE_EQUAL(del.result_int(), 202u);
  const auto asked = json_of(del.body());
  BOOST_CHECK(asked.at("cancel_requested").as_bool());
  BOOST_CHECK_EQUAL(asked.at("priority").as_int64(), 7);
  BOOST_CHECK_EQUAL(asked.at("metadata").as_string(), "m-1");
  // The runner hears at its next renewal and cancels its run, as a DELETE made there would.
  const auto ended = wait_for_status(
      runner, id, [](const auto& s) { return s.at("state").as_string() == "cancelled"; });
  BOOST_REQUIRE_EQUAL(ended.at("state").as_string(), "cancelled");
  BOOST_CHECK_EQUAL(ended.at("error").at("code").as_string(), "cancelled");
  // And the other answers from the journal: the run ended, cancelled.
  const auto there = wait_for_status(
      other, id, [](const auto& s) { return s.at("state").as_string() == "cancelled"; });
  BOOST_CHECK_EQUAL(there.at("state").as_string(), "cancelled");
  BOOST_CHECK_EQUAL(phase(there), "finished");
  const auto result = call(other.port, "GET", "/v1/tasks/" + id + "/result");
  BOOST_CHECK_EQUAL(result.result_int(), 200u);
  BOOST_CHECK_EQUAL(json_of(result.body()).at("state").as_string(), "cancelled");
  const auto events = call(other.port, "GET", "/v1/tasks/" + id + "/events");
  const auto frames = conclave::test::sse_events(events.body());
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_CHECK_EQUAL(frames[0].event, "status");
  BOOST_CHECK_EQUAL(call(other.port, "DELETE", "/v1/tasks/" + id).result_int(), 409u);
  BOOST_CHECK_EQUAL(journaled(redis, id)->status, "cancelled");
  stop(first);
  stop(second);
  stop(mock);
}

BOOST_FIXTURE_TEST_CASE(the_task_queue_is_shared_priority_first_and_bounded_across_instances,
                        two_instances_one_worker_each) {
  auto state_of = [](const boost::json::value& v) {
    return std::string(v.at("state").as_string());
  };
  // Two long tasks (the mock drips their replies, a character at a time) occupy both
  // instances' one worker: whichever claims first takes one, the other the other one.
  const std::string busy1 =
      submit(first, R"({"question":"marker-busy one","options":{"agents":1,"model":"mock-drip"}})");
  const std::string busy2 =
      submit(first, R"({"question":"marker-busy two","options":{"agents":1,"model":"mock-drip"}})");
  std::size_t here = 0;
  for (const auto& id : {busy1, busy2}) {
    const auto s =
        wait_for_status(first, id, [](const auto& v) { return v.at("state") != "queued"; });
    BOOST_REQUIRE_EQUAL(state_of(s), "running");
    here += phase(s) != "elsewhere";
  }
  BOOST_CHECK_EQUAL(here, 1u);  // one runs here, the other on the second instance
  // Three more wait in the one queue both share: priority first, then order.
  const auto low =
      call(first.port, "POST", "/v1/tasks", R"({"question":"marker-low","priority":1})");
  const auto high =
      call(second.port, "POST", "/v1/tasks", R"({"question":"marker-high","priority":9})");
  const auto mid =
      call(first.port, "POST", "/v1/tasks", R"({"question":"marker-mid","priority":5})");
  BOOST_REQUIRE_EQUAL(low.result_int(), 202u);
  BOOST_REQUIRE_EQUAL(high.result_int(), 202u);
  BOOST_REQUIRE_EQUAL(mid.result_int(), 202u);
  BOOST_CHECK_EQUAL(json_of(high.body()).at("position").as_int64(), 0);
  BOOST_CHECK_EQUAL(json_of(mid.body()).at("position").as_int64(), 1);
  const std::string low_id(json_of(low.body()).at("id").as_string());
  const std::string high_id(json_of(high.body()).at("id").as_string());
  const std::string mid_id(json_of(mid.body()).at("id").as_string());
  // Capacity is the queue's, for all instances together.
  const auto full = call(second.port, "POST", "/v1/tasks", R"({"question":"marker-full"})");
  BOOST_CHECK_EQUAL(full.result_int(), 429u);
  BOOST_CHECK_EQUAL(conclave::test::error_field(full, "code"), "queue_full");
  BOOST_CHECK(!full["retry-after"].empty());
  // Any instance says where a queued task stands.
  const auto low_seen = json_of(call(second.port, "GET", "/v1/tasks/" + low_id).body());
  BOOST_CHECK_EQUAL(state_of(low_seen), "queued");
  BOOST_CHECK_EQUAL(low_seen.at("position").as_int64(), 2);
  // When a worker frees, the high one goes first; the low one still waits then (the middle
  // one is ahead of it).
  const auto high_now =
      wait_for_status(second, high_id, [](const auto& v) { return v.at("state") != "queued"; });
  BOOST_REQUIRE_NE(state_of(high_now), "queued");
  BOOST_CHECK_EQUAL(state_of(json_of(call(first.port, "GET", "/v1/tasks/" + low_id).body())),
                    "queued");
  for (const auto& id : {busy1, busy2, high_id, mid_id, low_id}) {
    const auto s =
        wait_for_status(first, id, [](const auto& v) { return v.at("state") == "succeeded"; });
    BOOST_CHECK_MESSAGE(state_of(s) == "succeeded", id + ": " + boost::json::serialize(s));
  }
  stop(first);
  stop(second);
  stop(mock);
}

BOOST_FIXTURE_TEST_CASE(redis_down_runs_go_on_and_what_cannot_be_known_is_503_not_404,
                        two_instances) {
  const std::string id =
      submit(first, R"({"question":"marker-outage","options":{"agents":1,"model":"mock-drip"}})");
  auto [runs, waits] = claimed(id);
  child& runner = *runs;
  child& other = *waits;
  redis.stop(SIGTERM);
  // The instance without the task cannot know it now: 503, never "no such task".
  const auto unknown = call(other.port, "GET", "/v1/tasks/" + id);
  BOOST_CHECK_EQUAL(unknown.result_int(), 503u);
  BOOST_CHECK_EQUAL(conclave::test::error_field(unknown, "code"), "journal_unavailable");
  const auto submit_down = call(other.port, "POST", "/v1/tasks", R"({"question":"marker-x"})");
  BOOST_CHECK_EQUAL(submit_down.result_int(), 503u);
  // The one running it goes on.
  BOOST_CHECK_EQUAL(json_of(call(runner.port, "GET", "/v1/tasks/" + id).body()).at("state"),
                    "running");
  redis.start();
  const auto done =
      wait_for_status(runner, id, [](const auto& v) { return v.at("state") == "succeeded"; });
  BOOST_CHECK_EQUAL(done.at("state").as_string(), "succeeded");
  // Its end reached the journal: the other instance reads it there.
  const auto seen =
      wait_for_status(other, id, [](const auto& v) { return v.at("state") == "succeeded"; });
  BOOST_CHECK_EQUAL(seen.at("state").as_string(), "succeeded");
  const auto out = stop(runner);
  BOOST_CHECK_MESSAGE(out.err.find("was taken over") == std::string::npos, out.err);
  stop(other);
  stop(mock);
}

BOOST_FIXTURE_TEST_CASE(a_task_whose_instance_dies_twice_fails_rather_than_moving_again,
                        two_instances) {
  // Long (the mock drips every reply): it is still running when each instance dies.
  const std::string id =
      submit(first, R"({"question":"marker-poison","options":{"agents":1,"model":"mock-drip"}})");
  auto [runs, waits] = claimed(id);
  child& runner = *runs;
  child& taker = *waits;
  runner.proc->signal(SIGKILL);
  runner.proc->wait(10s);
  // Taken over once: the taker runs it.
  const auto taken = wait_for_status(taker, id, [](const auto& v) {
    return v.at("state") == "running" && v.at("progress").at("phase") != "elsewhere";
  });
  BOOST_REQUIRE_NE(phase(taken), "elsewhere");
  child third = start_instance(dir, "serve-3", mock.url, redis);
  taker.proc->signal(SIGKILL);
  taker.proc->wait(10s);
  // Its instance died under it twice: the third ends it, failed, rather than run it.
  const auto ended =
      wait_for_status(third, id, [](const auto& v) { return v.at("state") == "failed"; });
  BOOST_CHECK_EQUAL(ended.at("state").as_string(), "failed");
  BOOST_CHECK_EQUAL(journaled(redis, id)->status, "failed");
  const auto out = stop(third);
  BOOST_CHECK_MESSAGE(out.err.find("stopped answering while running it twice") != std::string::npos,
                      out.err);
  stop(mock);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_serve_takeover
