// serve's task queue, the rest: each task's event log (resume, gaps, caps) and the wire helpers
// (status JSON, SSE frames, Last-Event-ID). Suite task_queue, continued from test_task_queue.cpp.
#include "task_queue_support.hpp"

#include <conclave/serve/task_queue.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>

namespace unit_test_task_events {  // file-local names stay apart in unity batches

using namespace conclave::serve;
using namespace std::chrono_literals;

using namespace conclave::serve::test;

BOOST_AUTO_TEST_SUITE(task_queue)

BOOST_AUTO_TEST_CASE(events_resume_after_an_id) {
  queue q(caps(10), counter_ids());
  const auto a = submit(q, spec(5));
  BOOST_TEST(q.append_event("task_nope", "{}") == 0u);
  for (std::uint64_t i = 1; i <= 4; ++i)
    BOOST_TEST(q.append_event(a, "{\"n\":" + std::to_string(i) + "}") == i);
  auto all = q.events_after(a, 0);
  BOOST_TEST(all.events.size() == 4u);
  BOOST_TEST(!all.gap);
  BOOST_TEST(!all.finished);
  auto rest = q.events_after(a, 2);
  BOOST_TEST_REQUIRE(rest.events.size() == 2u);
  BOOST_TEST(rest.events[0].first == 3u);
  BOOST_TEST(rest.events[1].second == "{\"n\":4}");
  BOOST_TEST(q.events_after(a, 4).events.empty());
  BOOST_TEST(!q.events_after(a, 4).gap);
  auto future = q.events_after(a, 99);  // never issued here: start over, marked
  BOOST_TEST(future.gap);
  BOOST_TEST(future.events.size() == 4u);

  next_id(q);
  q.finish(a, task_state::succeeded, "{}", "", "", t0);
  BOOST_TEST(q.append_event(a, "{}") == 0u);
  BOOST_TEST(q.events_after(a, 4).finished);
  BOOST_TEST(q.events_after(a, 0).events.size() == 4u);  // still readable
  auto unknown = q.events_after("task_nope", 0);
  BOOST_TEST(unknown.finished);
  BOOST_TEST(unknown.events.empty());
}

BOOST_AUTO_TEST_CASE(events_capped_by_count_and_bytes) {
  queue::limits l = caps(10);
  l.max_events_per_task = 3;
  l.max_event_bytes_per_task = 10;
  queue q(l, counter_ids());
  const auto a = submit(q, spec(5));
  for (int i = 0; i < 5; ++i) q.append_event(a, "ab");  // 5 x 2 bytes: the count cap bites
  auto s = q.events_after(a, 0);
  BOOST_TEST_REQUIRE(s.events.size() == 3u);
  BOOST_TEST(s.events.front().first == 3u);
  BOOST_TEST(s.gap);                              // 1 and 2 were dropped
  BOOST_TEST(q.events_after(a, 1).gap);           // 2 was dropped
  BOOST_TEST(!q.events_after(a, 2).gap);          // wants 3, which is kept
  BOOST_TEST(q.append_event(a, "123456") == 6u);  // 2 + 2 + 6 = 10 bytes: fits
  BOOST_TEST(q.events_after(a, 0).events.size() == 3u);
  BOOST_TEST(q.append_event(a, "1234") == 7u);  // 2 + 6 + 4 > 10: 4 and 5 go
  s = q.events_after(a, 5);
  BOOST_TEST_REQUIRE(s.events.size() == 2u);
  BOOST_TEST(s.events[0].first == 6u);
  BOOST_TEST(!s.gap);
  BOOST_TEST(q.append_event(a, "12345678901") == 8u);  // alone past the cap: not kept
  s = q.events_after(a, 7);
  BOOST_TEST(s.events.empty());
  BOOST_TEST(s.gap);
  BOOST_TEST(q.append_event(a, "z") == 9u);
  BOOST_TEST(q.events_after(a, 8).events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(status_json_fields) {
  queue q(caps(10), counter_ids());
  task_spec s = spec(8);
  s.client_ref = "order-7";
  const auto a = submit(q, s, t0 + 999);
  submit(q, spec(9));
  auto v = boost::json::parse(status_json(*q.find(a), q.position(a))).as_object();
  BOOST_TEST(v.at("id").as_string() == a);
  BOOST_TEST(v.at("object").as_string() == "task");
  BOOST_TEST(v.at("state").as_string() == "queued");
  BOOST_TEST(v.at("priority").as_int64() == 8);
  BOOST_TEST(v.at("created_at").as_int64() == t0 / 1000);
  BOOST_TEST(v.at("started_at").is_null());
  BOOST_TEST(v.at("finished_at").is_null());
  BOOST_TEST(v.at("position").to_number<std::int64_t>() == 1);
  BOOST_TEST(v.at("progress").at("phase").as_string() == "queued");
  BOOST_TEST(v.at("run_id").is_null());
  BOOST_TEST(v.at("error").is_null());
  BOOST_TEST(v.at("cancel_requested").as_bool() == false);
  BOOST_TEST(v.at("metadata").as_string() == "order-7");

  next_id(q, t0 + 2000);
  next_id(q, t0 + 3000);
  q.update_progress(a, {5, 2, 1, 2, "agents"});
  q.set_run_id(a, "run_9");
  q.cancel(a, t0);
  q.finish(a, task_state::failed, "", "deadline", "the run's deadline passed", t0 + 9000);
  v = boost::json::parse(status_json(*q.find(a), q.position(a))).as_object();
  BOOST_TEST(v.at("state").as_string() == "failed");
  BOOST_TEST(v.at("started_at").as_int64() == t0 / 1000 + 3);
  BOOST_TEST(v.at("finished_at").as_int64() == t0 / 1000 + 9);
  BOOST_TEST(v.at("position").is_null());
  BOOST_TEST(v.at("progress").at("agents").to_number<std::int64_t>() == 5);
  BOOST_TEST(v.at("progress").at("done").to_number<std::int64_t>() == 2);
  BOOST_TEST(v.at("progress").at("failed").to_number<std::int64_t>() == 1);
  BOOST_TEST(v.at("run_id").as_string() == "run_9");
  BOOST_TEST(v.at("cancel_requested").as_bool());
  BOOST_TEST(v.at("error").at("code").as_string() == "deadline");
  BOOST_TEST(v.at("error").at("message").as_string() == "the run's deadline passed");
}

BOOST_AUTO_TEST_CASE(sse_frames) {
  BOOST_TEST(sse_frame(7, "progress", R"({"a":1})") ==
             "id: 7\nevent: progress\ndata: {\"a\":1}\n\n");
  BOOST_TEST(sse_frame(0, "", "x") == "data: x\n\n");
  BOOST_TEST(sse_frame(1, "a\nb\r", "") == "id: 1\nevent: ab\ndata: \n\n");
  BOOST_TEST(sse_frame(2, "e", "one\ntwo\r\nthree\rfour") ==
             "id: 2\nevent: e\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
}

BOOST_AUTO_TEST_CASE(last_event_id_header) {
  BOOST_TEST(*parse_last_event_id("0") == 0u);
  BOOST_TEST(*parse_last_event_id("42") == 42u);
  BOOST_TEST(*parse_last_event_id(" \t7 ") == 7u);
  BOOST_TEST(*parse_last_event_id("18446744073709551615") == UINT64_MAX);
  for (std::string_view bad :
       {"", "   ", "abc", "-1", "+1", "1.0", "1 2", "0x10", "7\n", "12a", "18446744073709551616",
        "99999999999999999999", "000000000000000000001", "100000000000000000000000000000"})
    BOOST_TEST(!parse_last_event_id(bad), "accepted \"" << bad << "\"");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_task_events
