// An engine told its io_context runs on one thread (engine::set_single_threaded, as the CLI):
// agents run on the executor itself, with no strand each. What a strand per agent gave must
// still hold: answers, deadlines, budget stops, cancellation, events in order.
#include "ask_fixture.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <vector>

namespace engine_test_single_threaded {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::ask;
using conclave::test::fake_reply;
using conclave::test::quick_options;
using conclave::test::rig;
using conclave::test::scripted;

BOOST_AUTO_TEST_SUITE(single_threaded_engine)

BOOST_AUTO_TEST_CASE(agents_answer_and_time_out_without_a_strand_each) {
  scripted s;
  s.agent = [](int i) { return fake_reply{i == 1 ? 10s : 5ms, "a" + std::to_string(i), {}, 1}; };
  rig t(s);
  t.eng.set_single_threaded(true);
  BOOST_CHECK(t.eng.single_threaded());
  auto opts = quick_options(3);
  opts.agent_timeout = 150ms;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 3u);
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);
  BOOST_CHECK(r.report.agents[1].status == agent_status::timed_out);
  BOOST_CHECK(r.report.agents[1].error == error::timeout);
  BOOST_CHECK(r.report.agents[2].status == agent_status::ok);
  BOOST_CHECK_LT(r.report.wall, 5s);
  for (std::size_t k = 1; k < r.events.size(); ++k) {
    BOOST_CHECK_LE(r.events[k - 1].at, r.events[k].at);
  }
}

BOOST_AUTO_TEST_CASE(cancelling_the_ask_cancels_every_agent) {
  scripted s;
  s.agent = [](int) { return fake_reply{30s, "never", {}, 1}; };
  rig t(s);
  t.eng.set_single_threaded(true);
  asio::cancellation_signal cancel;
  auto opts = quick_options(4);
  std::size_t started = 0;
  opts.observers.push_back([&](const event& ev, const progress_map&) {
    if (ev.kind == event_kind::started && ++started == 4) {
      asio::post(t.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  const auto r = ask(t.io, t.eng, "Q?", opts, cancel.slot(), 5s);
  BOOST_CHECK(r.ec == error::cancelled);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 4u);
  for (const auto& a : r.report.agents) {
    BOOST_CHECK(a.status == agent_status::cancelled);
    BOOST_CHECK_EQUAL(a.diag.message, "the run was cancelled");
  }
}

BOOST_AUTO_TEST_CASE(a_budget_stop_cuts_running_agents_short) {
  scripted s;
  // Agent 0 answers at once; the others are still calling when its charge reaches the cap.
  s.agent = [](int i) { return fake_reply{i == 0 ? 5ms : 10s, "spent", {}, 1}; };
  auto opts = quick_options(3);
  {
    rig probe(s);  // what the decomposition and agent 0 spend, to put the cap right there
    auto quick = opts;
    quick.agent_timeout = 50ms;
    const auto r = ask(probe.io, probe.eng, "Q?", quick);
    opts.budget.max_tokens =
        r.report.decomposition_tokens.total() + r.report.agents[0].tokens.total();
  }
  opts.budget.cancel_running = true;
  rig t(s);
  t.eng.set_single_threaded(true);
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 3u);
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);
  for (std::size_t i = 1; i < 3; ++i) {
    BOOST_CHECK(r.report.agents[i].error == error::budget_exhausted);
    BOOST_CHECK(r.report.agents[i].diag.message.find("stopped while running") != std::string::npos);
  }
  BOOST_CHECK_LT(r.report.wall, 5s);
}

// The plan executor starts agents a slice at a time (64), letting the io_context run between
// slices: a wide plan must still run every agent once, in order of events.
BOOST_AUTO_TEST_CASE(a_plan_wider_than_a_launch_slice_runs_every_agent_once) {
  constexpr int n = 200;
  scripted s;
  s.agent = [](int i) { return fake_reply{1ms, "a" + std::to_string(i), {}, 1}; };
  rig t(s);
  t.eng.set_single_threaded(true);
  auto opts = quick_options(n);
  opts.max_concurrency = n;
  std::vector<int> started(n, 0);
  std::vector<int> ended(n, 0);
  opts.observers.push_back([&](const event& ev, const progress_map&) {
    if (!ev.agent || *ev.agent >= static_cast<std::size_t>(n)) return;
    if (ev.kind == event_kind::started) ++started[*ev.agent];
    if (ev.kind == event_kind::completed) {
      BOOST_CHECK_EQUAL(started[*ev.agent], 1);  // started before it ended
      ++ended[*ev.agent];
    }
  });
  const auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    BOOST_CHECK(r.report.agents[i].status == agent_status::ok);
    BOOST_CHECK_EQUAL(r.report.agents[i].answer, "a" + std::to_string(i));
    BOOST_CHECK_EQUAL(started[i], 1);
    BOOST_CHECK_EQUAL(ended[i], 1);
  }
}

// A cancel that lands while the executor is still starting slices: the agents started after
// it are refused (never call the model), and every one of them says cancelled.
// Between two slices the io_context runs: calls of the first slices answer (at once, here)
// while later slices are still to start, so the calls in flight never reach the whole plan.
// Started in one go, all of them were in flight before the first answer could be heard.
BOOST_AUTO_TEST_CASE(the_io_context_runs_between_launch_slices) {
  constexpr int n = 1000;
  scripted s;
  s.agent = [](int) { return fake_reply{0ms, "at once", {}, 1}; };
  rig t(s);
  t.eng.set_single_threaded(true);
  auto opts = quick_options(n);
  opts.max_concurrency = n;
  const auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK_EQUAL(r.report.count(agent_status::ok), static_cast<std::size_t>(n));
  BOOST_TEST_MESSAGE("peak calls in flight: " << t.model.peak_in_flight());
  BOOST_CHECK_LT(t.model.peak_in_flight(), n);
}

BOOST_AUTO_TEST_CASE(a_cancel_between_launch_slices_stops_the_slices_still_to_start) {
  constexpr int n = 1000;
  scripted s;
  s.agent = [](int) { return fake_reply{30s, "never", {}, 1}; };
  rig t(s);
  t.eng.set_single_threaded(true);
  asio::cancellation_signal cancel;
  auto opts = quick_options(n);
  opts.max_concurrency = n;
  bool sent = false;
  opts.observers.push_back([&](const event& ev, const progress_map&) {
    if (ev.kind == event_kind::started && !sent) {
      sent = true;
      asio::post(t.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  const auto r = ask(t.io, t.eng, "Q?", opts, cancel.slot(), 10s);
  BOOST_CHECK(r.ec == error::cancelled);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), static_cast<std::size_t>(n));
  std::size_t never_called = 0;
  for (const auto& a : r.report.agents) {
    BOOST_CHECK(a.status == agent_status::cancelled);
    never_called += a.attempts == 0;
  }
  BOOST_CHECK_GT(never_called, 0u);
  BOOST_CHECK_LT(r.report.wall, 10s);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_single_threaded
