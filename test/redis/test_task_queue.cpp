// The shared task queue on a real Redis, with three instances (each its own connection and
// owner name): priority-then-FIFO order across them, the capacity bound, leases renewed and
// reaped (re-queued once, then failed), a lost lease's late writes refused, and cancel.
#include "redis_server.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/redis/task_queue.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <tuple>
#include <vector>

namespace redis_test_task_queue {

namespace asio = boost::asio;
using namespace conclave::redis;
using namespace std::chrono_literals;
using boost::system::error_code;

struct instance {
  instance(asio::io_context& ioc, const conclave::test::redis_server& server, task_queue_options o,
           std::string owner)
      : redis(ioc.get_executor(),
              [&] {
                connection_options c;
                c.where = *parse_url(server.url());
                return c;
              }()),
        queue(redis, std::move(o), std::move(owner)) {}
  connection redis;
  task_queue queue;
};

struct rig {
  explicit rig(task_queue_options o = {}) {
    for (const char* owner : {"a", "b", "c"})
      instances.push_back(std::make_unique<instance>(ioc, server, o, owner));
  }
  task_queue& q(std::size_t i) { return instances.at(i)->queue; }

  // Runs one operation to its completion; returns its arguments after the error_code.
  template <typename... R, typename Start>
  std::tuple<error_code, R...> run(Start start) {
    std::optional<std::tuple<error_code, R...>> out;
    start([&](error_code ec, R... r) { out.emplace(ec, std::move(r)...); });
    while (!out)
      if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
    return std::move(*out);
  }
  error_code submit(std::size_t i, std::string id, int priority) {
    return std::get<0>(run<>([&](auto h) { q(i).async_submit(id, "body of " + id, priority, h); }));
  }
  std::optional<queued_task> claim(std::size_t i) {
    auto [ec, t] = run<std::optional<queued_task>>([&](auto h) { q(i).async_claim(h); });
    BOOST_TEST(!ec, ec.message());
    return t;
  }
  lease_status renew(std::size_t i, const queued_task& t) {
    return std::get<1>(run<lease_status>([&](auto h) { q(i).async_renew(t.id, t.lease, h); }));
  }
  lease_status finish(std::size_t i, const queued_task& t, const std::string& state,
                      const std::string& result) {
    return std::get<1>(run<lease_status>(
        [&](auto h) { q(i).async_finish(t.id, t.lease, state, result, "", "", h); }));
  }
  std::pair<std::int64_t, std::int64_t> reap(std::size_t i) {
    auto [ec, requeued, failed] =
        run<std::int64_t, std::int64_t>([&](auto h) { q(i).async_reap(h); });
    BOOST_TEST(!ec);
    return {requeued, failed};
  }
  std::optional<queued_task> get(const std::string& id) {
    return std::get<1>(run<std::optional<queued_task>>([&](auto h) { q(0).async_get(id, h); }));
  }
  // Lets `d` pass on the server's clock (a lease's time), driving the io_context.
  void pass(std::chrono::milliseconds d) {
    asio::steady_timer t(ioc, d);
    bool done = false;
    t.async_wait([&](error_code) { done = true; });
    while (!done) ioc.run_one();
  }

  conclave::test::redis_server server;
  asio::io_context ioc;
  std::vector<std::unique_ptr<instance>> instances;
};

BOOST_AUTO_TEST_SUITE(redis_task_queue)

BOOST_AUTO_TEST_CASE(instances_claim_by_priority_then_submission_order) {
  rig r;
  BOOST_TEST(!r.submit(0, "t1", 5));
  BOOST_TEST(!r.submit(1, "t2", 5));
  BOOST_TEST(!r.submit(2, "t3", 9));
  BOOST_TEST(!r.submit(0, "t4", 0));
  BOOST_TEST(!r.submit(1, "t5", 9));
  std::vector<std::string> order;
  for (std::size_t i = 0; i < 5; ++i) {
    auto t = r.claim(i % 3);  // each instance in turn
    BOOST_TEST_REQUIRE(t.has_value());
    BOOST_TEST(t->body == "body of " + t->id);
    BOOST_TEST(t->owner == std::string(1, char('a' + i % 3)));
    order.push_back(t->id);
  }
  BOOST_TEST(order == (std::vector<std::string>{"t3", "t5", "t1", "t2", "t4"}),
             boost::test_tools::per_element());
  BOOST_TEST(!r.claim(2).has_value());  // empty
  BOOST_TEST(r.get("t3")->state == "running");
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses_at_its_capacity_and_an_id_is_used_once) {
  task_queue_options o;
  o.capacity = 3;
  rig r(o);
  for (const char* id : {"x1", "x2", "x3"}) BOOST_TEST(!r.submit(0, id, 5));
  BOOST_TEST((r.submit(1, "x4", 5) == conclave::error::queue_full));
  BOOST_TEST(r.claim(2).has_value());  // running ones don't count
  BOOST_TEST(!r.submit(1, "x4", 5));
  BOOST_TEST((r.submit(1, "x1", 5) == conclave::redis::error::unexpected_reply));  // taken
}

BOOST_AUTO_TEST_CASE(an_expired_lease_is_requeued_once_then_the_task_fails) {
  task_queue_options o;
  o.lease = 100ms;
  rig r(o);
  BOOST_TEST(!r.submit(0, "job", 5));
  const auto first = *r.claim(0);  // instance a takes it, then stops renewing (stalled)
  BOOST_TEST((r.reap(1) == std::pair<std::int64_t, std::int64_t>{0, 0}));  // not yet
  r.pass(150ms);
  BOOST_TEST((r.reap(1) == std::pair<std::int64_t, std::int64_t>{1, 0}));
  const auto again = *r.claim(0);  // the same owner claims it again: a new lease
  BOOST_TEST(again.id == "job");
  BOOST_TEST(again.requeues == 1);
  BOOST_TEST(again.lease != first.lease);
  // The stalled run wakes up: its lease is gone, and what it would write is refused.
  BOOST_TEST(!r.renew(0, first).held);
  BOOST_TEST(!r.finish(0, first, "succeeded", "the stalled run's answer").held);
  BOOST_TEST(r.get("job")->result.empty());
  BOOST_TEST(r.renew(0, again).held);
  // The second claim stalls too: the second expiry fails the task.
  r.pass(150ms);
  BOOST_TEST((r.reap(2) == std::pair<std::int64_t, std::int64_t>{0, 1}));
  auto failed = r.get("job");
  BOOST_TEST(failed->state == "failed");
  BOOST_TEST(failed->error_code == "lease_expired");
  BOOST_TEST(!r.claim(2).has_value());
  BOOST_TEST(!r.finish(0, again, "succeeded", "late").held);
}

BOOST_AUTO_TEST_CASE(a_renewed_lease_is_kept_and_a_finish_is_written) {
  task_queue_options o;
  o.lease = 200ms;
  rig r(o);
  BOOST_TEST(!r.submit(0, "job", 5));
  const auto t = *r.claim(2);
  r.pass(120ms);
  BOOST_TEST(r.renew(2, t).held);
  r.pass(120ms);  // past the first lease's end, within the renewed one
  BOOST_TEST((r.reap(0) == std::pair<std::int64_t, std::int64_t>{0, 0}));
  BOOST_TEST(r.finish(2, t, "succeeded", "{\"answer\":42}").held);
  auto got = r.get("job");
  BOOST_TEST(got->state == "succeeded");
  BOOST_TEST(got->result == "{\"answer\":42}");
  BOOST_CHECK_THROW(r.q(2).async_finish(t.id, t.lease, "running", "", "", "", [](auto...) {}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(cancel_removes_a_queued_task_and_flags_a_running_one) {
  rig r;
  BOOST_TEST(!r.submit(0, "queued", 5));
  BOOST_TEST(!r.submit(0, "running", 9));
  const auto running = *r.claim(1);
  BOOST_TEST(running.id == "running");
  auto cancel = [&](const std::string& id) {
    return std::get<1>(r.run<cancel_outcome>([&](auto h) { r.q(2).async_cancel(id, h); }));
  };
  BOOST_TEST((cancel("queued") == cancel_outcome::removed));
  BOOST_TEST(!r.claim(0).has_value());  // it left the queue atomically
  BOOST_TEST(r.get("queued")->state == "cancelled");
  BOOST_TEST((cancel("running") == cancel_outcome::cancel_running));
  auto status = r.renew(1, running);  // the owner hears of it at its next renew
  BOOST_TEST(status.held);
  BOOST_TEST(status.cancel_requested);
  BOOST_TEST(r.finish(1, running, "cancelled", "").held);
  BOOST_TEST((cancel("running") == cancel_outcome::already_finished));
  BOOST_TEST((cancel("nope") == cancel_outcome::unknown));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_task_queue
