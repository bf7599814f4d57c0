// The run journal on a real Redis, as several serve instances share it: runs and steps round
// trip in order, a step is written once even from two connections, a finished run expires and
// a reopened one does not, holds are exclusive until released or lapsed, a server restart is
// survived (AOF) and reconnected, and failures say where without the password.
#include "redis_admin.hpp"

#include <conclave/redis/journal_store.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <limits>
#include <thread>

namespace redis_test_journal {

using namespace std::chrono_literals;
using conclave::journal::journal_error;

conclave::redis::journal_options options_for(const conclave::test::redis_server& s) {
  conclave::redis::journal_options o;
  o.where.port = s.port();
  o.prefix = "jt";
  o.result_ttl = 60'000ms;
  return o;
}

// A key's integer view (PTTL, say), or -2.
long long admin(const conclave::test::redis_server& s, const std::vector<std::string>& args) {
  return conclave::test::redis_command(s, args).as_integer().value_or(-2);
}

BOOST_AUTO_TEST_SUITE(redis_journal)

BOOST_AUTO_TEST_CASE(runs_and_steps_round_trip_in_order_and_finished_runs_expire) {
  conclave::test::redis_server server;
  auto j = conclave::redis::open_journal(options_for(server));
  BOOST_TEST(j->shared());
  BOOST_TEST(j->path() == "redis://127.0.0.1:" + std::to_string(server.port()) + "/0");
  const std::string a = j->begin_run("task", "why?", R"({"o":1})", "", "serve:task_a");
  const std::string b = j->begin_run("ask", "how?", "{}", R"({"subtasks":[]})", "cli");
  BOOST_TEST(conclave::journal::is_run_id(a));
  BOOST_TEST(j->record_step(a, "plan", "decomposed", R"({"event":"decomposed"})"));
  BOOST_TEST(j->record_step(a, "agent/1/completed/0", "completed", "{\"x\":\"a\\nb\"}"));
  BOOST_TEST(j->record_step(a, "agent/0/completed/0", "completed", "{}"));
  BOOST_TEST(!j->record_step(a, "plan", "decomposed", "{\"other\":1}"));  // once
  const auto steps = j->steps(a);
  BOOST_REQUIRE_EQUAL(steps.size(), 3u);
  BOOST_TEST(steps[0].key == "plan");
  BOOST_TEST(steps[0].json == R"({"event":"decomposed"})");
  BOOST_TEST(steps[1].key == "agent/1/completed/0");  // the order written, not the keys'
  BOOST_TEST(steps[1].json == "{\"x\":\"a\\nb\"}");
  BOOST_TEST(steps[1].kind == "completed");
  BOOST_TEST(steps[1].at_ms > 0);
  BOOST_CHECK_THROW(j->record_step("run_00000000000000ff", "plan", "x", "{}"), journal_error);

  auto unfinished = j->unfinished();
  BOOST_REQUIRE_EQUAL(unfinished.size(), 2u);
  BOOST_TEST(unfinished[0].id == a);  // oldest first
  BOOST_TEST(unfinished[0].owner == "serve:task_a");
  BOOST_TEST(unfinished[0].options_json == R"({"o":1})");
  BOOST_TEST(unfinished[1].plan_json == R"({"subtasks":[]})");

  j->finish_run(a, "succeeded", R"({"answer":"42"})");
  BOOST_TEST(j->unfinished().size() == 1u);
  const auto done = j->find(a);
  BOOST_REQUIRE(done);
  BOOST_TEST(done->status == "succeeded");
  BOOST_TEST(done->report_json == R"({"answer":"42"})");
  BOOST_TEST(j->recent(10).front().id == b);  // newest first
  // Finished: its keys expire (the result's TTL), steps included.
  BOOST_TEST(admin(server, {"PTTL", "jt:journal:run:" + a}) > 0);
  BOOST_TEST(admin(server, {"PTTL", "jt:journal:steps:" + a}) > 0);
  j->reopen_run(a);  // a resume: running again, kept
  BOOST_TEST(admin(server, {"PTTL", "jt:journal:run:" + a}) == -1);
  BOOST_TEST(j->unfinished().size() == 2u);
  BOOST_CHECK_THROW(j->finish_run("run_00000000000000ff", "failed", ""), journal_error);
  BOOST_CHECK_THROW(j->finish_run(a, "done", ""), journal_error);

  j->finish_run(b, "failed", "");
  BOOST_TEST(j->prune_finished(std::numeric_limits<std::int64_t>::max()) == 1u);
  BOOST_TEST(!j->find(b).has_value());
  BOOST_TEST(j->find(a).has_value());  // running: kept whatever its age
}

BOOST_AUTO_TEST_CASE(two_instances_write_a_step_once_and_hold_a_run_one_at_a_time) {
  conclave::test::redis_server server;
  auto one = conclave::redis::open_journal(options_for(server));
  auto two = conclave::redis::open_journal(options_for(server));
  const std::string run = one->begin_run("task", "q", "{}", "", "serve:task_1");
  BOOST_TEST(two->record_step(run, "agent/0/completed/0", "completed", "{}"));
  BOOST_TEST(!one->record_step(run, "agent/0/completed/0", "completed", "{}"));
  BOOST_TEST(one->steps(run).size() == 1u);

  using hr = conclave::journal::hold_result;
  auto held = [](hr h) { return h == hr::held; };
  BOOST_TEST(held(one->hold(run, "alpha", 60s)));
  BOOST_TEST(held(one->hold(run, "alpha", 60s)));  // renewed
  BOOST_TEST(!held(two->hold(run, "beta", 60s)));  // alpha's is live
  two->release(run, "beta");                       // not beta's to give up
  BOOST_TEST(!held(two->hold(run, "beta", 60s)));
  one->release(run, "alpha");
  BOOST_TEST(held(two->hold(run, "beta", 60s)));
  // A hold lapses by itself: beta died without releasing. Polled, bounded: the server's clock.
  BOOST_TEST(held(two->hold(run, "beta", 1ms)));
  bool taken = false;
  for (int i = 0; i < 200 && !taken; ++i) {
    taken = held(one->hold(run, "alpha", 60s));
    if (!taken) std::this_thread::sleep_for(1ms);
  }
  BOOST_TEST(taken);
}

BOOST_AUTO_TEST_CASE(a_task_is_found_by_its_owner_and_a_cancel_reaches_its_holder) {
  conclave::test::redis_server server;
  auto here = conclave::redis::open_journal(options_for(server));
  auto there = conclave::redis::open_journal(options_for(server));
  const std::string first = here->begin_run("task", "q", "{}", "", "serve:task_7");
  BOOST_TEST(here->find_by_owner("serve:task_7")->id == first);
  BOOST_TEST(!here->find_by_owner("serve:task_8").has_value());
  BOOST_TEST(!here->find_by_owner("").has_value());

  using hr = conclave::journal::hold_result;
  BOOST_TEST((there->hold(first, "there", 60s) == hr::held));
  using cr = conclave::journal::cancel_request;
  BOOST_TEST((here->request_cancel(first) == cr::flagged));  // asked from another instance
  BOOST_TEST(here->find(first)->cancel_requested);
  BOOST_TEST((there->hold(first, "there", 60s) == hr::cancel_requested));  // the holder hears
  BOOST_TEST((here->hold(first, "here", 60s) == hr::held_by_another));     // still its run
  there->finish_run(first, "cancelled", "");
  BOOST_TEST((here->request_cancel(first) == cr::none));  // finished: nothing to cancel
  BOOST_TEST(!here->find(first)->cancel_requested);
  BOOST_TEST((here->request_cancel("run_00000000000000ff") == cr::none));
  // The owner's index names its latest run, and expires with it.
  BOOST_TEST(admin(server, {"PTTL", "jt:journal:owner:serve:task_7"}) > 0);
}

BOOST_AUTO_TEST_CASE(an_ended_run_is_never_held_again_and_a_lost_hold_cannot_end_it) {
  conclave::test::redis_server server;
  auto a = conclave::redis::open_journal(options_for(server));
  auto b = conclave::redis::open_journal(options_for(server));
  using hr = conclave::journal::hold_result;
  const std::string run = a->begin_run("task", "q", "{}", "", "serve:task_9");
  BOOST_TEST((a->hold(run, "a", 60s) == hr::held));
  BOOST_TEST((b->hold(run, "b", 60s) == hr::held_by_another));
  // b took it over (a's hold lapsed; here: released by hand): a can no longer end it.
  a->release(run, "a");
  BOOST_TEST((b->hold(run, "b", 60s) == hr::held));
  BOOST_TEST(!a->finish_held_run(run, "succeeded", R"({"by":"a"})", "a"));
  BOOST_TEST(a->find(run)->status == "running");
  BOOST_TEST(b->finish_held_run(run, "succeeded", R"({"by":"b"})", "b"));
  BOOST_TEST(a->find(run)->report_json == R"({"by":"b"})");
  // Ended and let go: a holder cut off meanwhile (no hold of anyone's stands) still cannot
  // write its end over the taker's.
  b->release(run, "b");
  BOOST_TEST(!a->finish_held_run(run, "failed", R"({"by":"a, late"})", "a"));
  BOOST_TEST(a->find(run)->report_json == R"({"by":"b"})");
  // Ended (and released): whoever read it as unfinished before cannot hold it to run it again.
  b->release(run, "b");
  BOOST_TEST((a->hold(run, "a", 60s) == hr::not_running));
  BOOST_TEST((a->hold("run_00000000000000ff", "a", 60s) == hr::not_running));
  BOOST_CHECK_THROW(a->finish_held_run("run_00000000000000ff", "failed", "", "a"), journal_error);
}

BOOST_AUTO_TEST_CASE(the_queue_serves_priority_then_order_bounded_and_claims_hold) {
  conclave::test::redis_server server;
  auto a = conclave::redis::open_journal(options_for(server));
  auto b = conclave::redis::open_journal(options_for(server));
  using hr = conclave::journal::hold_result;
  auto queue = [&](conclave::journal::journal& j, const std::string& owner, int priority) {
    return j.enqueue_run("task", owner, "{}", "", owner, "q1", priority, 3);
  };
  const auto low = queue(*a, "serve:task_low", 1);
  const auto high = queue(*b, "serve:task_high", 9);
  const auto mid = queue(*a, "serve:task_mid", 5);
  BOOST_REQUIRE(low && high && mid);
  BOOST_TEST(low->position == 0u);
  BOOST_TEST(high->position == 0u);  // ahead of the one queued before it
  BOOST_TEST(mid->position == 1u);
  BOOST_TEST(!queue(*b, "serve:task_more", 10).has_value());     // full: 3 wait already
  BOOST_TEST(!b->find_by_owner("serve:task_more").has_value());  // and nothing was written
  BOOST_TEST(a->queue_position(low->id, "q1").value() == 2u);
  BOOST_TEST(!a->queue_position(low->id, "q2").has_value());  // another queue
  BOOST_TEST(!a->claim_run("q2", "a", 60s).has_value());
  // Queued: not held, and not for an instance's takeover either.
  BOOST_TEST((a->hold(low->id, "a", 60s) == hr::queued));
  // Claims: priority, then order, whoever claims; each claimed run held by its claimer.
  const auto first = b->claim_run("q1", "b", 60s);
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(first->id == high->id);
  BOOST_TEST(first->owner == "serve:task_high");
  BOOST_TEST((a->hold(high->id, "a", 60s) == hr::held_by_another));
  BOOST_TEST(a->claim_run("q1", "a", 60s)->id == mid->id);
  // A queued run cancelled: out of the queue and ended at once; a claimed one is flagged.
  using cr = conclave::journal::cancel_request;
  BOOST_TEST((b->request_cancel(low->id) == cr::dequeued));
  BOOST_TEST(a->find(low->id)->status == "cancelled");
  BOOST_TEST(!a->claim_run("q1", "a", 60s).has_value());
  BOOST_TEST((b->request_cancel(mid->id) == cr::flagged));
  BOOST_TEST((a->hold(mid->id, "a", 60s) == hr::cancel_requested));
  // Room again: the queue takes more.
  BOOST_TEST(queue(*b, "serve:task_more", 10).has_value());
}

BOOST_AUTO_TEST_CASE(takeovers_are_counted_and_a_hand_over_is_not_one) {
  conclave::test::redis_server server;
  auto j = conclave::redis::open_journal(options_for(server));
  const std::string run = j->begin_run("task", "q", "{}", "", "serve:task_5");
  BOOST_TEST((j->hold(run, "a", 60s) == conclave::journal::hold_result::held));
  // a let it go (a graceful stop): b takes it, and that is no takeover.
  j->release(run, "a");
  BOOST_TEST(j->note_takeover(run) == 0u);
  // b dies holding it: c's is the first takeover, d's the second.
  BOOST_TEST(j->note_takeover(run) == 1u);
  BOOST_TEST(j->note_takeover(run) == 2u);
  BOOST_TEST(j->note_takeover("run_00000000000000ff") == 0u);
  // A hand-over marks only a running run, and only the holder's own release.
  BOOST_TEST((j->hold(run, "e", 60s) == conclave::journal::hold_result::held));
  j->release(run, "someone-else");
  BOOST_TEST(j->note_takeover(run) == 3u);
}

BOOST_AUTO_TEST_CASE(a_restarted_server_keeps_the_runs_and_the_journal_reconnects) {
  conclave::test::redis_server server;
  auto j = conclave::redis::open_journal(options_for(server));
  const std::string run = j->begin_run("task", "q", "{}", "", "serve:task_1");
  BOOST_TEST(j->record_step(run, "plan", "decomposed", "{}"));
  server.stop(SIGTERM);                             // a clean shutdown writes the AOF out
  BOOST_CHECK_THROW(j->steps(run), journal_error);  // down: said, not hung
  server.start();
  // A fresh link, once the journal's backoff after the failed connect has passed (bounded).
  bool written = false;
  for (int i = 0; i < 300 && !written; ++i) {
    try {
      written = j->record_step(run, "agent/0/completed/0", "completed", "{}");
    } catch (const journal_error&) {
      std::this_thread::sleep_for(10ms);
    }
  }
  BOOST_TEST(written);
  BOOST_TEST(j->steps(run).size() == 2u);
  BOOST_TEST(j->unfinished().size() == 1u);
}

BOOST_AUTO_TEST_CASE(failures_name_the_server_never_the_password) {
  conclave::test::redis_server server;
  admin(server, {"CONFIG", "SET", "requirepass", "s3cret"});
  auto o = options_for(server);
  o.where.password = "wrong-pass";
  try {
    conclave::redis::open_journal(o);
    BOOST_FAIL("a wrong password was taken");
  } catch (const journal_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos, what);
    BOOST_TEST(what.find("password") != std::string::npos, what);
    BOOST_TEST(what.find("wrong-pass") == std::string::npos, what);
  }
  o.where.password.clear();  // none at all: found out at open, not at the first write
  try {
    conclave::redis::open_journal(o);
    BOOST_FAIL("no password was taken");
  } catch (const journal_error& e) {
    BOOST_TEST(std::string(e.what()).find("wants a password") != std::string::npos, e.what());
  }
  o.where.password = "s3cret";
  auto j = conclave::redis::open_journal(o);
  BOOST_TEST(!j->begin_run("task", "q", "{}", "").empty());

  server.stop(SIGKILL);
  o.connect_timeout = 200ms;
  BOOST_CHECK_THROW(conclave::redis::open_journal(o), journal_error);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_journal
