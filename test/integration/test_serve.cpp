// `conclave serve`'s task API in-process, end to end over loopback: submit, status, result,
// priority and FIFO order on one worker, a full queue, cancelling queued and running tasks,
// the SSE event log with Last-Event-ID, unknown tasks and bad bodies. The model is the mock
// behind a gate that holds calls back, so "while the worker is busy" is a state, not a race.
#include "serve_rig.hpp"

#include <boost/test/unit_test.hpp>

namespace integration_test_serve {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
using conclave::test::error_field;
using conclave::test::json_of;
using conclave::test::serve_rig;
using conclave::test::serve_setup;
using conclave::test::sse_events;

namespace {

serve_setup one_worker() {
  serve_setup s;
  s.service.workers = 1;
  return s;
}

std::string task_body(const std::string& question, int priority, int agents = 1) {
  return R"({"question":")" + question + R"(","priority":)" + std::to_string(priority) +
         R"(,"options":{"agents":)" + std::to_string(agents) + "}}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(serve)

BOOST_AUTO_TEST_CASE(task_submit_status_result_and_events) {
  serve_rig r;
  r.gate->hold();
  const auto sub = r.call("POST", "/v1/tasks",
                          R"({"question":"Compare marker-one and marker-two","priority":7,)"
                          R"("options":{"agents":2},"metadata":"ref-1"})");
  BOOST_REQUIRE_EQUAL(sub.result_int(), 202u);
  const auto accepted = json_of(sub.body());
  const std::string id(accepted.at("id").as_string());
  BOOST_CHECK(id.starts_with("task_"));
  BOOST_CHECK_EQUAL(std::string(sub["location"]), "/v1/tasks/" + id);
  BOOST_CHECK_EQUAL(accepted.at("priority").as_int64(), 7);
  BOOST_CHECK_EQUAL(accepted.at("metadata").as_string(), "ref-1");

  r.until_called_about("marker-one");  // running, its first call held at the gate
  const auto running = r.status(id);
  BOOST_CHECK_EQUAL(running.at("state").as_string(), "running");
  BOOST_CHECK(running.at("started_at").is_int64());
  const auto early = r.call("GET", "/v1/tasks/" + id + "/result");
  BOOST_CHECK_EQUAL(early.result_int(), 409u);
  BOOST_CHECK_EQUAL(error_field(early, "code"), "task_not_finished");

  r.gate->open();
  const auto stream = r.events(id);  // read to its end: the task finished
  BOOST_REQUIRE_EQUAL(stream.result_int(), 200u);
  BOOST_CHECK(std::string(stream["content-type"]).starts_with("text/event-stream"));
  const auto frames = sse_events(stream.body());
  BOOST_REQUIRE_GE(frames.size(), 4u);
  BOOST_CHECK_EQUAL(frames.front().event, "decomposed");
  BOOST_CHECK_EQUAL(frames.back().event, "status");
  BOOST_CHECK(frames.back().id.empty());  // the final status is not in the log
  BOOST_CHECK_EQUAL(json_of(frames.back().data).at("state").as_string(), "succeeded");
  std::size_t completed = 0;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    BOOST_CHECK_EQUAL(frames[i].id, std::to_string(i + 1));  // ids 1, 2, 3... in order
    BOOST_CHECK_EQUAL(json_of(frames[i].data).at("event").as_string(), frames[i].event);
    completed += frames[i].event == "completed";
  }
  BOOST_CHECK_EQUAL(completed, 2u);

  const auto done = r.call("GET", "/v1/tasks/" + id + "/result");
  BOOST_REQUIRE_EQUAL(done.result_int(), 200u);
  const auto result = json_of(done.body());
  BOOST_CHECK_EQUAL(result.at("state").as_string(), "succeeded");
  BOOST_CHECK(!result.at("answer").as_string().empty());
  BOOST_CHECK_EQUAL(result.at("report").at("agents").as_array().size(), 2u);
  BOOST_CHECK(result.at("error").is_null());
  const auto finished = r.status(id);
  BOOST_CHECK_EQUAL(finished.at("progress").at("done").as_int64(), 2);
  BOOST_CHECK_EQUAL(finished.at("progress").at("phase").as_string(), "finished");

  // Resuming the stream: only ids after Last-Event-ID (or ?after=), then the final status.
  const auto resumed = sse_events(r.events(id, {{"last-event-id", "3"}}).body());
  BOOST_REQUIRE_EQUAL(resumed.size(), frames.size() - 3);
  BOOST_CHECK_EQUAL(resumed.front().id, "4");
  BOOST_CHECK_EQUAL(resumed.front().data, frames[3].data);
  BOOST_CHECK_EQUAL(resumed.back().event, "status");
  const auto by_query = sse_events(
      r.call("GET", "/v1/tasks/" + id + "/events?after=" + frames[frames.size() - 2].id).body());
  BOOST_REQUIRE_EQUAL(by_query.size(), 1u);
  BOOST_CHECK_EQUAL(by_query.front().event, "status");
}

BOOST_AUTO_TEST_CASE(priority_first_then_fifo_on_one_worker) {
  serve_rig r(one_worker());
  r.gate->hold();
  const std::string a = r.submit(task_body("Explain marker-alpha", 5));
  r.until_called_about("marker-alpha");  // the single worker is busy with it
  const std::string b = r.submit(task_body("Explain marker-bravo", 1));
  const std::string c = r.submit(task_body("Explain marker-charlie", 9));
  const std::string d = r.submit(task_body("Explain marker-delta", 9));
  BOOST_CHECK_EQUAL(r.status(c).at("position").as_int64(), 0);
  BOOST_CHECK_EQUAL(r.status(d).at("position").as_int64(), 1);
  BOOST_CHECK_EQUAL(r.status(b).at("position").as_int64(), 2);
  BOOST_CHECK(r.status(a).at("position").is_null());
  BOOST_CHECK_EQUAL(r.svc->stats().queued, 3u);
  BOOST_CHECK_EQUAL(r.svc->stats().running_tasks, 1u);

  r.gate->open();
  BOOST_CHECK_EQUAL(json_of(sse_events(r.events(b).body()).back().data).at("state").as_string(),
                    "succeeded");
  // One worker: each task's calls follow the previous task's, so the first call about each
  // marker gives the start order: alpha (running first), then priority 9 in submit order, then 1.
  const auto& g = *r.gate;
  BOOST_CHECK_LT(g.first_call_about("marker-alpha"), g.first_call_about("marker-charlie"));
  BOOST_CHECK_LT(g.first_call_about("marker-charlie"), g.first_call_about("marker-delta"));
  BOOST_CHECK_LT(g.first_call_about("marker-delta"), g.first_call_about("marker-bravo"));
  BOOST_CHECK_LT(g.first_call_about("marker-bravo"), g.calls().size());
  for (const auto& id : {a, c, d}) BOOST_CHECK_EQUAL(r.state_of(id), "succeeded");
}

BOOST_AUTO_TEST_CASE(a_full_queue_answers_429_with_retry_after) {
  serve_setup s = one_worker();
  s.service.queue.capacity = 2;
  serve_rig r(s);
  r.gate->hold();
  r.submit(task_body("Explain marker-running", 5));
  r.until_called_about("marker-running");  // running tasks do not count against capacity
  r.submit(task_body("Explain marker-queued-1", 5));
  const std::string last = r.submit(task_body("Explain marker-queued-2", 5));
  const auto full = r.call("POST", "/v1/tasks", task_body("Explain marker-refused", 5));
  BOOST_CHECK_EQUAL(full.result_int(), 429u);
  BOOST_CHECK_EQUAL(error_field(full, "code"), "queue_full");
  BOOST_CHECK_EQUAL(error_field(full, "type"), "rate_limit_error");
  BOOST_CHECK(!std::string(full["retry-after"]).empty());
  r.gate->open();
  BOOST_CHECK_EQUAL(json_of(sse_events(r.events(last).body()).back().data).at("state").as_string(),
                    "succeeded");
  BOOST_CHECK_EQUAL(r.gate->calls_about("marker-refused"), 0u);
}

BOOST_AUTO_TEST_CASE(cancel_a_queued_task_it_never_runs) {
  serve_rig r(one_worker());
  r.gate->hold();
  const std::string a = r.submit(task_body("Explain marker-first", 5));
  r.until_called_about("marker-first");
  const std::string b = r.submit(task_body("Explain marker-never", 5));
  const auto del = r.call("DELETE", "/v1/tasks/" + b);
  BOOST_REQUIRE_EQUAL(del.result_int(), 200u);
  BOOST_CHECK_EQUAL(json_of(del.body()).at("state").as_string(), "cancelled");
  // Its event stream ends at once with the final status.
  const auto frames = sse_events(r.events(b).body());
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_CHECK_EQUAL(json_of(frames[0].data).at("state").as_string(), "cancelled");
  r.gate->open();
  r.events(a);
  BOOST_CHECK_EQUAL(r.state_of(a), "succeeded");
  const auto st = r.status(b);
  BOOST_CHECK_EQUAL(st.at("state").as_string(), "cancelled");
  BOOST_CHECK(st.at("started_at").is_null());
  BOOST_CHECK_EQUAL(r.gate->calls_about("marker-never"), 0u);
  const auto again = r.call("DELETE", "/v1/tasks/" + b);
  BOOST_CHECK_EQUAL(again.result_int(), 409u);
  BOOST_CHECK_EQUAL(error_field(again, "code"), "task_finished");
}

BOOST_AUTO_TEST_CASE(cancel_a_running_task_stops_its_model_calls) {
  serve_setup s;
  s.mock.latency = 300ms;  // its calls are still at the mock when the DELETE arrives
  serve_rig r(s);
  const std::string id = r.submit(task_body("Compare marker-doomed and marker-other", 5, 3));
  BOOST_REQUIRE(conclave::test::pump_until(
      r.io, [&] { return r.gate->calls_about("marker-doomed") > 0 && r.mock->stats().in_flight; }));
  const auto del = r.call("DELETE", "/v1/tasks/" + id);
  BOOST_REQUIRE_EQUAL(del.result_int(), 202u);
  BOOST_CHECK(json_of(del.body()).at("cancel_requested").as_bool());
  const std::size_t calls_at_cancel = r.gate->calls_about("marker-doomed");
  const auto frames = sse_events(r.events(id).body());
  const auto last = json_of(frames.back().data);
  BOOST_CHECK_EQUAL(last.at("state").as_string(), "cancelled");
  BOOST_CHECK_EQUAL(last.at("error").at("code").as_string(), "cancelled");
  BOOST_CHECK_EQUAL(r.svc->stats().running_tasks, 0u);
  // Another task runs to its end meanwhile; the cancelled one made no call after the DELETE.
  const std::string next = r.submit(task_body("Explain marker-after", 5));
  r.events(next);
  BOOST_CHECK_EQUAL(r.state_of(next), "succeeded");
  BOOST_CHECK_EQUAL(r.gate->calls_about("marker-doomed"), calls_at_cancel);
  const auto result = json_of(r.call("GET", "/v1/tasks/" + id + "/result").body());
  BOOST_CHECK_EQUAL(result.at("state").as_string(), "cancelled");
}

BOOST_AUTO_TEST_CASE(unknown_tasks_are_404) {
  serve_rig r;
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/tasks/task_00000000000000000000"},
           {"GET", "/v1/tasks/task_00000000000000000000/result"},
           {"GET", "/v1/tasks/task_00000000000000000000/events"},
           {"DELETE", "/v1/tasks/task_00000000000000000000"}}) {
    const auto reply = r.call(method, target);
    BOOST_CHECK_EQUAL(reply.result_int(), 404u);
    BOOST_CHECK_EQUAL(error_field(reply, "code"), "task_not_found");
  }
}

BOOST_AUTO_TEST_CASE(bad_bodies_are_400_naming_the_param) {
  serve_rig r;
  struct bad_case {
    std::string body, param, code;
  };
  const std::vector<bad_case> cases{
      {"not json", "", "invalid_json"},
      {R"(["a list"])", "", "invalid_json"},
      {R"({"priority":3})", "question", "missing_parameter"},
      {R"({"question":"   "})", "question", "invalid_value"},
      {R"({"question":"x","priority":42})", "priority", "invalid_value"},
      {R"({"question":"x","priority":"high"})", "priority", "invalid_type"},
      {R"({"question":"x","options":{"agents":"many"}})", "options.agents", "invalid_type"},
      {R"({"question":"x","options":{"combine":"average"}})", "options.combine", "invalid_value"},
      {R"({"question":"x","options":{"colour":"red"}})", "options.colour", "unknown_parameter"},
  };
  for (const auto& c : cases) {
    const auto reply = r.call("POST", "/v1/tasks", c.body);
    BOOST_TEST_CONTEXT(c.body) {
      BOOST_CHECK_EQUAL(reply.result_int(), 400u);
      BOOST_CHECK_EQUAL(error_field(reply, "param"), c.param);
      BOOST_CHECK_EQUAL(error_field(reply, "code"), c.code);
      BOOST_CHECK_EQUAL(error_field(reply, "type"), "invalid_request_error");
    }
  }
  const auto unknown = r.call("POST", "/v1/tasks", R"({"question":"x","colour":"red"})");
  BOOST_CHECK_EQUAL(unknown.result_int(), 400u);
  BOOST_CHECK(error_field(unknown, "param").find("colour") != std::string::npos);
  BOOST_CHECK_EQUAL(r.gate->calls().size(), 0u);
  BOOST_CHECK_EQUAL(r.svc->stats().queued, 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_serve
