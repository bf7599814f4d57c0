// serve's task queue as pure logic: order, capacity, cancel, expiry, memory bounds, events and
// the wire helpers. Time is a number the test gives; ids come from a counter.
#include "task_queue_support.hpp"

#include <conclave/serve/task_queue.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <random>
#include <tuple>

namespace conclave::serve {
// For Boost.Test's messages.
inline std::ostream& operator<<(std::ostream& os, task_state s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, task_queue::cancel_result r) {
  return os << "cancel_result " << static_cast<int>(r);
}
}  // namespace conclave::serve

namespace unit_test_task_queue {  // file-local names stay apart in unity batches

using namespace conclave::serve;
using namespace std::chrono_literals;

using namespace conclave::serve::test;

BOOST_AUTO_TEST_SUITE(task_queue)

BOOST_AUTO_TEST_CASE(higher_priority_first_then_first_come) {
  queue q(caps(10), counter_ids());
  const auto low = submit(q, spec(0)), mid1 = submit(q, spec(5)), high = submit(q, spec(10)),
             mid2 = submit(q, spec(5));
  BOOST_TEST(*q.position(high) == 0u);
  BOOST_TEST(*q.position(mid2) == 2u);
  BOOST_TEST(*q.position(low) == 3u);
  for (const auto& want : {high, mid1, mid2, low}) {
    const task_record* r = q.start_next(t0 + 5);
    BOOST_TEST_REQUIRE(r);
    BOOST_TEST(r->id == want);
    BOOST_TEST(to_string(r->state) == "running");
    BOOST_TEST(r->started_ms == t0 + 5);
    BOOST_TEST(r->progress.phase == "decomposing");
    BOOST_TEST(!q.position(want));
  }
  BOOST_TEST(!q.start_next(t0));
  BOOST_TEST(q.running() == 4u);
  BOOST_TEST(q.queued() == 0u);
}

BOOST_AUTO_TEST_CASE(fifo_within_priority_against_a_reference) {
  std::mt19937 rng(1234);
  queue q(caps(2000), counter_ids());
  std::vector<std::tuple<int, int, std::string>> ref;  // (-priority, arrival, id)
  int arrival = 0, submitted = 0;
  while (submitted < 1000 || !ref.empty()) {
    if (submitted < 1000 && rng() % 3 != 0) {
      const int p = static_cast<int>(rng() % 11);
      ref.emplace_back(-p, arrival++, submit(q, spec(p)));
      ++submitted;
    } else if (!ref.empty()) {
      auto best = std::min_element(ref.begin(), ref.end());
      BOOST_TEST_REQUIRE(next_id(q) == std::get<2>(*best));
      ref.erase(best);
    }
    BOOST_TEST_REQUIRE(q.queued() == ref.size());
  }
  BOOST_TEST(q.running() == 1000u);
}

BOOST_AUTO_TEST_CASE(queue_full_at_capacity_and_room_again) {
  queue q(caps(3), counter_ids());
  const auto a = submit(q, spec(5));
  submit(q, spec(5));
  submit(q, spec(5));
  auto full = q.submit(spec(10), t0);
  BOOST_TEST_REQUIRE(std::holds_alternative<request_error>(full));
  const auto& e = std::get<request_error>(full);
  BOOST_TEST(e.status == 429u);
  BOOST_TEST(e.code == "queue_full");
  BOOST_TEST(e.message.find("3 tasks queued") != std::string::npos);
  BOOST_TEST(q.size() == 3u);  // the refused one left nothing behind

  BOOST_TEST(next_id(q) == a);  // running ones don't count
  const auto d = submit(q, spec(5));
  BOOST_TEST(std::holds_alternative<request_error>(q.submit(spec(5), t0)));
  BOOST_TEST(q.cancel(d, t0) == queue::cancel_result::removed);
  submit(q, spec(5));
  BOOST_TEST(q.queued() == 3u);
  BOOST_TEST(q.running() == 1u);
}

BOOST_AUTO_TEST_CASE(cancel_queued_running_finished_unknown) {
  queue q(caps(10), counter_ids());
  const auto a = submit(q, spec(5)), b = submit(q, spec(9)), c = submit(q, spec(1));
  BOOST_TEST(q.cancel(b, t0 + 1) == queue::cancel_result::removed);
  const task_record* rb = q.find(b);
  BOOST_TEST_REQUIRE(rb);  // kept for GET
  BOOST_TEST(rb->state == task_state::cancelled);
  BOOST_TEST(rb->finished_ms == t0 + 1);
  BOOST_TEST(rb->error_code == "cancelled");
  BOOST_TEST(!q.position(b));
  BOOST_TEST(*q.position(c) == 1u);
  BOOST_TEST(q.append_event(b, "{}") == 0u);
  BOOST_TEST(q.events_after(b, 0).finished);

  BOOST_TEST(next_id(q) == a);  // b, the highest, is gone
  BOOST_TEST(q.cancel(a, t0) == queue::cancel_result::cancel_running);
  BOOST_TEST(q.cancel(a, t0) == queue::cancel_result::cancel_running);
  BOOST_TEST(q.find(a)->cancel_requested);
  BOOST_TEST(q.find(a)->state == task_state::running);
  BOOST_TEST(q.finish(a, task_state::cancelled, "", "cancelled", "cancelled by DELETE", t0 + 9));
  BOOST_TEST(q.find(a)->state == task_state::cancelled);
  BOOST_TEST(q.find(a)->error_message == "cancelled by DELETE");
  BOOST_TEST(q.running() == 0u);
  BOOST_TEST(q.cancel(a, t0) == queue::cancel_result::already_finished);
  BOOST_TEST(q.cancel(b, t0) == queue::cancel_result::already_finished);
  BOOST_TEST(q.cancel("task_nope", t0) == queue::cancel_result::unknown);

  BOOST_TEST(next_id(q) == c);
  BOOST_TEST(next_id(q) == "");
}

BOOST_AUTO_TEST_CASE(worker_reports_only_on_running_tasks) {
  queue q(caps(10), counter_ids());
  task_spec with_plan = spec(5, "");
  with_plan.plan.emplace();
  const auto a = submit(q, with_plan);
  BOOST_TEST(!q.update_progress(a, {}));
  BOOST_TEST(!q.set_run_id(a, "run_1"));
  BOOST_TEST(!q.finish(a, task_state::succeeded, "{}", "", "", t0));
  BOOST_TEST(q.start_next(t0)->progress.phase == "agents");  // a plan needs no decomposition
  BOOST_TEST(q.update_progress(a, {4, 1, 1, 2, "agents"}));
  BOOST_TEST(q.set_run_id(a, "run_1"));
  BOOST_CHECK_THROW(q.finish(a, task_state::running, "", "", "", t0), std::invalid_argument);
  BOOST_TEST(q.finish(a, task_state::succeeded, "{\"answer\":42}", "", "", t0 + 70));
  const task_record& r = *q.find(a);
  BOOST_TEST(r.result_json == "{\"answer\":42}");
  BOOST_TEST(r.run_id == "run_1");
  BOOST_TEST(r.progress.agents == 4u);
  BOOST_TEST(r.progress.running == 0u);
  BOOST_TEST(r.progress.phase == "finished");
  BOOST_TEST(!q.finish(a, task_state::failed, "", "", "", t0));  // once only
  BOOST_TEST(!q.update_progress("task_nope", {}));
}

BOOST_AUTO_TEST_CASE(endings_always_say_why) {
  queue q(caps(10), counter_ids());
  const std::tuple<task_state, std::string, std::string> rows[] = {
      {task_state::succeeded, "", ""},
      {task_state::failed, "failed", "the run failed"},
      {task_state::cancelled, "cancelled", "cancelled while running"},
      {task_state::expired, "deadline", "the run's deadline passed"}};
  for (const auto& [state, code, message] : rows) {
    const auto id = submit(q, spec(5));
    next_id(q);
    BOOST_TEST(q.finish(id, state, "", "", "", t0));
    BOOST_TEST(q.find(id)->error_code == code);
    BOOST_TEST(q.find(id)->error_message == message);
  }
  const auto id = submit(q, spec(5));
  next_id(q);
  q.finish(id, task_state::failed, "", "provider_error", "", t0);
  BOOST_TEST(q.find(id)->error_code == "provider_error");
  BOOST_TEST(q.find(id)->error_message == "the run failed");
}

BOOST_AUTO_TEST_CASE(queue_timeout_expires_queued_tasks) {
  queue q(caps(10), counter_ids());
  task_spec s = spec(5);
  s.options.queue_timeout = 10s;
  const auto a = submit(q, s), b = submit(q, spec(5)), c = submit(q, s, t0 + 5000);
  BOOST_TEST(q.expire(t0 + 9999) == 0u);
  BOOST_TEST(q.expire(t0 + 10'000) == 1u);
  BOOST_TEST(q.find(a)->state == task_state::expired);
  BOOST_TEST(q.find(a)->error_code == "queue_timeout");
  BOOST_TEST(q.queued() == 2u);
  // start_next expires the late ones on its way instead of starting them
  BOOST_TEST(next_id(q, t0 + 14'000) == b);
  BOOST_TEST(q.find(c)->state == task_state::queued);
  BOOST_TEST(next_id(q, t0 + 15'000) == "");
  BOOST_TEST(q.find(c)->state == task_state::expired);
  BOOST_TEST(q.find(c)->finished_ms == t0 + 15'000);
}

BOOST_AUTO_TEST_CASE(finished_tasks_forgotten_after_ttl_and_beyond_keep) {
  queue::limits l = caps(10, 3);
  l.result_ttl = 60s;
  queue q(l, counter_ids());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(submit(q, spec(5)));
    next_id(q);
    q.finish(ids.back(), task_state::succeeded, "{}", "", "", t0 + i * 1000);
  }
  BOOST_TEST(q.size() == 3u);  // keep_finished: the two oldest are gone
  BOOST_TEST(!q.find(ids[0]));
  BOOST_TEST(!q.find(ids[1]));
  BOOST_TEST(q.find(ids[2]));
  BOOST_TEST(q.expire(t0 + 2000 + 59'999) == 0u);
  BOOST_TEST(q.size() == 3u);
  q.expire(t0 + 3000 + 60'000);  // ids[2] and ids[3] are 60 s old
  BOOST_TEST(q.size() == 1u);
  BOOST_TEST(q.find(ids[4]));
}

BOOST_AUTO_TEST_CASE(memory_stays_bounded_under_random_traffic) {
  queue::limits l = caps(20, 15);
  l.result_ttl = 5s;
  queue q(l, counter_ids());
  std::mt19937 rng(99);
  std::vector<std::string> running, all;
  std::int64_t now = t0;
  for (int step = 0; step < 20'000; ++step) {
    now += rng() % 50;
    switch (rng() % 6) {
      case 0:
      case 1: {
        task_spec s = spec(static_cast<int>(rng() % 11));
        if (rng() % 2) s.options.queue_timeout = std::chrono::milliseconds(1000 + rng() % 2000);
        auto r = q.submit(s, now);
        if (auto* id = std::get_if<std::string>(&r)) all.push_back(*id);
        break;
      }
      case 2:
        if (running.size() < 4)
          if (const auto* r = q.start_next(now)) running.push_back(r->id);
        break;
      case 3:
        if (!running.empty()) {
          BOOST_TEST_REQUIRE(q.finish(running.front(), task_state::failed, "", "x", "y", now));
          running.erase(running.begin());
        }
        break;
      case 4:
        if (!all.empty()) q.cancel(all[rng() % all.size()], now);
        break;
      default:
        q.expire(now);
    }
    BOOST_TEST_REQUIRE(q.queued() <= l.capacity);
    BOOST_TEST_REQUIRE(q.running() == running.size());
    BOOST_TEST_REQUIRE(q.size() <= q.queued() + q.running() + l.keep_finished);
  }
}

BOOST_AUTO_TEST_CASE(ids_are_fresh) {
  const std::string id = random_task_id();
  BOOST_TEST(id.size() == 25u);
  BOOST_TEST(id.rfind("task_", 0) == 0u);
  BOOST_TEST(id.find_first_not_of("0123456789abcdef", 5) == std::string::npos);
  BOOST_TEST(random_task_id() != id);

  int calls = 0;
  queue twice(caps(10), [&] { return ++calls < 3 ? "task_a" : "task_b"; });
  BOOST_TEST(submit(twice, spec(5)) == "task_a");
  BOOST_TEST(submit(twice, spec(5)) == "task_b");  // task_a again was drawn anew
  queue stuck(caps(10), [] { return std::string("task_a"); });
  submit(stuck, spec(5));
  BOOST_CHECK_THROW(stuck.submit(spec(5), t0), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(restore_requeues_with_the_old_id) {
  queue q(caps(1), counter_ids());
  const auto a = submit(q, spec(5));
  task_record r;
  r.id = "task_0123456789abcdef0123";
  r.spec = spec(7);
  r.state = task_state::running;
  r.created_ms = t0 - 500;
  r.started_ms = t0 - 100;
  r.run_id = "run_old";
  r.cancel_requested = true;
  BOOST_TEST(q.restore(r, 41));  // bypasses capacity
  BOOST_TEST(!q.restore(r));     // known id
  r.id.clear();
  BOOST_TEST(!q.restore(r));
  BOOST_TEST(q.queued() == 2u);
  const task_record& back = *q.find("task_0123456789abcdef0123");
  BOOST_TEST(back.state == task_state::queued);
  BOOST_TEST(back.created_ms == t0 - 500);
  BOOST_TEST(back.started_ms == 0);
  BOOST_TEST(back.run_id.empty());
  BOOST_TEST(!back.cancel_requested);
  BOOST_TEST(back.progress.phase == "queued");
  BOOST_TEST(q.append_event(back.id, "{}") == 41u);  // ids go on from before the restart
  BOOST_TEST(!q.events_after(back.id, 40).gap);
  BOOST_TEST(next_id(q) == back.id);  // priority 7 before 5
  BOOST_TEST(next_id(q) == a);
}

BOOST_AUTO_TEST_CASE(a_finished_task_is_forgotten_on_demand_and_can_come_back) {
  queue q(caps(10), counter_ids());
  const auto a = submit(q, spec(5)), b = submit(q, spec(5));
  BOOST_TEST(!q.forget(a));  // queued: kept
  BOOST_TEST(q.cancel(a, t0, "taken_over", "another instance has it") ==
             queue::cancel_result::removed);
  BOOST_TEST(q.find(a)->error_code == "taken_over");  // the caller's words, not "cancelled"
  BOOST_TEST(next_id(q) == b);
  BOOST_TEST(!q.forget(b));  // running: kept
  BOOST_TEST(!q.forget("task_nope"));
  BOOST_TEST(q.forget(a));
  BOOST_TEST(!q.find(a));
  task_record back;
  back.id = a;
  back.spec = spec(5);
  BOOST_TEST(q.restore(back));  // the same id again, queued
  BOOST_TEST(q.find(a)->state == task_state::queued);
  // What keep_finished counts no longer names it: finishing others never drops the new one.
  BOOST_TEST(q.finish(b, task_state::succeeded, "{}", "", "", t0 + 1));
  BOOST_TEST(q.find(a) != nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_task_queue
