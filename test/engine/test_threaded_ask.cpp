// Asks on an io_context run by 4 threads: agents on their own strands, the progress map on the
// run's strand. Under the tsan preset this is the proof that the shared state is safe.
#include "ask_fixture.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace engine_test_threaded_ask {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::fake_reply;

namespace {

using outcome = std::pair<boost::system::error_code, run_report>;

// Runs `io` on four threads until every promise is set (bounded), then lets the threads run
// out of work and joins them: a leaked operation hangs the join (CTest's timeout reports it).
// Assertions belong after this returns, on the test's thread only. Empty when an ask did not
// complete in time (the context is stopped first, so the join cannot hang on it).
std::optional<std::vector<outcome>> run_on_four_threads(
    asio::io_context& io, std::vector<std::promise<outcome>>& results) {
  std::vector<std::future<outcome>> futures;
  for (auto& p : results) futures.push_back(p.get_future());
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { io.run(); });
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool all_ready = true;
  for (auto& f : futures) {
    all_ready = all_ready && f.wait_until(deadline) == std::future_status::ready;
  }
  if (!all_ready) io.stop();
  work.reset();
  for (auto& t : threads) t.join();  // returns only when nothing is left running
  if (!all_ready) return std::nullopt;
  std::vector<outcome> got;
  for (auto& f : futures) got.push_back(f.get());
  return got;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(threaded_ask)

BOOST_AUTO_TEST_CASE(concurrent_asks_on_four_threads_one_cancelled) {
  asio::io_context io(4);
  conclave::test::scripted s;
  s.agent = [](int i) {
    return fake_reply{std::chrono::milliseconds(2 + i % 7), "d" + std::to_string(i), {}, 5};
  };
  conclave::test::fake_model fast(io.get_executor(), s.as_script());
  conclave::test::scripted slow_script;
  slow_script.agent = [](int) { return fake_reply{30s, "never", {}, 1}; };
  conclave::test::fake_model slow(io.get_executor(), slow_script.as_script());
  engine quick(io.get_executor(), fast);
  engine stuck(io.get_executor(), slow);

  constexpr int asks = 3;
  // Observers run on the worker threads (each run's on its own strand) and Boost.Test is not
  // thread-safe: they only record, under a mutex shared by the three runs, and the test checks
  // the record after the threads have joined.
  struct {
    std::mutex mutex;
    int events = 0;
    std::size_t largest_map = 0;
  } seen;
  std::vector<std::promise<outcome>> results(asks + 1);
  for (int k = 0; k < asks; ++k) {
    ask_options o;
    o.agents = 16;
    o.max_concurrency = 6;
    o.observers.push_back([&](const event&, const progress_map& p) {
      const auto size = p.agents().size();  // read on the run's strand, as the engine promises
      std::lock_guard lock(seen.mutex);
      ++seen.events;
      seen.largest_map = std::max(seen.largest_map, size);
    });
    async_ask(quick, "question " + std::to_string(k), o,
              [&, k](boost::system::error_code ec, run_report r) {
                results[k].set_value({ec, std::move(r)});
              });
  }
  asio::cancellation_signal cancel;
  ask_options o;
  o.agents = 200;  // wider than a launch slice (64): the cancel comes while slices still start
  o.max_concurrency = 200;
  std::atomic<int> started{0};
  o.observers.push_back([&](const event& e, const progress_map&) {
    if (e.kind == event_kind::started && ++started == 8) {
      // Emit on the same strand discipline as a host would: post to the io_context.
      asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  async_ask(
      stuck, "to be cancelled", o,
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, run_report r) {
        results[asks].set_value({ec, std::move(r)});
      }));

  auto got = run_on_four_threads(io, results);
  BOOST_REQUIRE_MESSAGE(got, "an ask did not complete in time");

  BOOST_CHECK_EQUAL(seen.largest_map, 16u);  // the maps reached 16 agents and never more
  for (int k = 0; k < asks; ++k) {
    BOOST_CHECK(!(*got)[k].first);
    BOOST_CHECK_EQUAL((*got)[k].second.count(agent_status::ok), 16u);
    BOOST_CHECK((*got)[k].second.answer.find("d15") != std::string::npos);
  }
  BOOST_CHECK((*got)[asks].first == error::cancelled);
  BOOST_CHECK_EQUAL((*got)[asks].second.count(agent_status::cancelled), 200u);
  BOOST_CHECK_GT(seen.events, asks * 16 * 3);
}

BOOST_AUTO_TEST_CASE(agents_running_tools_on_four_threads) {
  // Each agent asks for two tool calls a turn for two turns, then answers; the tool is shared
  // by every agent of two runs and keeps a count under its own lock, as a host tool must.
  asio::io_context io(4);
  conclave::test::scripted s;
  auto usual = s.as_script();
  conclave::test::fake_model m(io.get_executor(), [usual](const chat_request& r) {
    if (conclave::test::kind_of(r) != conclave::test::request_kind::agent) return usual(r);
    int turn = 0;
    for (const auto& msg : r.messages) turn += msg.who == role::assistant;
    if (turn == 2) return fake_reply{1ms, "done after tools", {}, 2};
    fake_reply calls{1ms, "working"};
    for (int k = 0; k < 2; ++k) {
      calls.calls.push_back(
          {"", "tick",
           R"({"turn":)" + std::to_string(turn) + R"(,"k":)" + std::to_string(k) + "}"});
    }
    return calls;
  });
  engine e(io.get_executor(), m);
  auto count = std::make_shared<std::pair<std::mutex, int>>();
  auto tick = make_tool(io.get_executor(), {"tick", "counts"},
                        [count](std::string) -> asio::awaitable<tool_output> {
                          asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
                          co_await t.async_wait(asio::use_awaitable);
                          std::lock_guard lock(count->first);
                          co_return tool_output{std::to_string(++count->second)};
                        });
  std::vector<std::promise<outcome>> results(2);
  for (int k = 0; k < 2; ++k) {
    ask_options o;
    o.agents = 12;
    o.max_concurrency = 8;
    o.tools = {tick};
    o.limits.tool_concurrency = 2;
    async_ask(e, "tools " + std::to_string(k), o,
              [&, k](boost::system::error_code ec, run_report r) {
                results[k].set_value({ec, std::move(r)});
              });
  }
  auto got = run_on_four_threads(io, results);
  BOOST_REQUIRE_MESSAGE(got, "an ask did not complete in time");
  for (const auto& [ec, r] : *got) {
    BOOST_CHECK(!ec);
    BOOST_CHECK_EQUAL(r.count(agent_status::ok), 12u);
    for (const auto& a : r.agents) {
      BOOST_CHECK_EQUAL(a.turns, 3);
      BOOST_CHECK_EQUAL(a.tool_calls.size(), 4u);
    }
  }
  BOOST_CHECK_EQUAL(count->second, 2 * 12 * 4);
}

BOOST_AUTO_TEST_CASE(limits_breakers_fallbacks_and_a_budget_stop_on_four_threads) {
  asio::io_context io(4);
  conclave::test::scripted s;
  s.agent_attempt = [](int i, int attempt) {
    if (i % 5 == 0 && attempt == 1) {
      return fake_reply{1ms, "", error::rate_limited, 1, std::chrono::milliseconds(2)};
    }
    return fake_reply{std::chrono::milliseconds(1 + i % 4), "d" + std::to_string(i), {}, 3};
  };
  auto base = s.as_script();
  // "flaky" fails every agent call; agents fall back to "steady", which always answers (the
  // flaky run's retry budget is spent by then, so it must not see a 429).
  conclave::test::fake_model inner(io.get_executor(), [base](const chat_request& r) {
    if (conclave::test::kind_of(r) == conclave::test::request_kind::agent) {
      if (r.model == "flaky") return fake_reply{1ms, "", error::overloaded, 1};
      if (r.model == "steady") {
        const auto q = conclave::test::last_user(r);
        return fake_reply{
            1ms, "d" + std::to_string(std::stoi(q.substr(q.find("Part ") + 5))), {}, 1};
      }
    }
    return base(r);
  });
  rate_limit_options limits;
  limits.max_concurrency = 6;
  limits.default_cooldown = 2ms;
  limited_model limited(inner, limits);
  breaker_options bo;
  bo.failure_threshold = 3;
  bo.cool_off = 50ms;
  breaker_model guarded(limited, bo);
  engine e(io.get_executor(), guarded);

  std::vector<std::promise<outcome>> results(3);
  for (int k = 0; k < 3; ++k) {
    ask_options o;
    o.agents = 24;
    o.max_concurrency = 8;
    o.retry.initial_delay = 1ms;
    o.retry.max_delay = 4ms;
    o.model = k == 1 ? "flaky" : "";
    o.fallback_models = {"steady"};
    if (k == 2) {  // a budget that runs out part-way, stopping the agents still running
      o.budget.max_tokens = 400;
      o.budget.cancel_running = true;
    }
    async_ask(e, "question " + std::to_string(k), o,
              [&, k](boost::system::error_code ec, run_report r) {
                results[k].set_value({ec, std::move(r)});
              });
  }
  auto got = run_on_four_threads(io, results);
  BOOST_REQUIRE_MESSAGE(got, "an ask did not complete in time");

  BOOST_CHECK_EQUAL((*got)[0].second.count(agent_status::ok), 24u);
  BOOST_CHECK_EQUAL((*got)[1].second.count(agent_status::ok), 24u);  // all through the fallback
  for (const auto& a : (*got)[1].second.agents)
    BOOST_CHECK_EQUAL(a.answer, "d" + std::to_string(a.index));
  BOOST_CHECK((*got)[2].second.budget_exhausted);
  BOOST_CHECK_GT((*got)[2].second.count(agent_status::failed), 0u);
  for (const auto& a : (*got)[2].second.agents) {
    BOOST_CHECK(a.status == agent_status::ok || a.error == error::budget_exhausted);
  }
  BOOST_CHECK_LE(limited.stats_for("").peak_in_flight, 6u);
  BOOST_CHECK_EQUAL(limited.stats_for("").waiting, 0u);
}

// Plans on four threads: dependencies, exclusive resources, a failed dependency, the verify
// stage and a vote, and one plan cancelled mid-run; every subtask still ends exactly once.
BOOST_AUTO_TEST_CASE(plans_with_dependencies_verify_and_a_cancel_on_four_threads) {
  asio::io_context io(4);
  conclave::test::fake_model model(io.get_executor(), [](const chat_request& r) {
    const std::string first = r.messages.front().text();
    const std::string last = r.messages.back().text();
    if (last.find("Grade this answer") != std::string::npos)
      return fake_reply{1ms, R"({"verdict": "fail", "critique": "more"})", {}, 1};
    if (last.starts_with("slow")) return fake_reply{30s, "never", {}, 1};
    if (last.starts_with("bad")) return fake_reply{1ms, "", {}, 1};  // empty: fails
    return fake_reply{std::chrono::milliseconds(1 + last.size() % 5), "x\nANSWER: yes", {}, 3};
  });
  engine e(io.get_executor(), model);
  auto subtask_of = [](std::string id, std::string prompt, std::vector<std::string> deps,
                       std::vector<std::string> exclusive) {
    subtask s;
    s.id = std::move(id);
    s.prompt = std::move(prompt);
    s.depends_on = std::move(deps);
    s.exclusive = std::move(exclusive);
    return s;
  };
  plan wide;
  wide.question = "q";
  for (int i = 0; i < 24; ++i) {
    std::vector<std::string> deps;
    if (i >= 8) deps.push_back("t" + std::to_string(i - 8));
    if (i >= 16) deps.push_back("t" + std::to_string(i - 15));
    wide.subtasks.push_back(
        subtask_of("t" + std::to_string(i), (i == 3 ? "bad " : "task ") + std::to_string(i), deps,
                   i % 3 == 0 ? std::vector<std::string>{"disk"} : std::vector<std::string>{}));
  }
  wide.verify = true;
  wide.combine = combine_mode::vote;
  plan stuck;
  stuck.question = "q";
  stuck.subtasks = {subtask_of("a", "slow a", {}, {}), subtask_of("b", "task b", {"a"}, {}),
                    subtask_of("c", "task c", {}, {})};

  std::mutex mutex;
  std::map<std::pair<int, std::size_t>, int> terminal;  // (run, agent) -> last events seen
  auto counting = [&](int run) {
    return [&, run](const event& ev, const progress_map&) {
      if (!ev.agent || !is_terminal(ev.kind)) return;
      std::lock_guard lock(mutex);
      ++terminal[{run, *ev.agent}];
    };
  };
  std::vector<std::promise<outcome>> results(2);
  auto o1 = conclave::test::quick_options(0);
  o1.max_concurrency = 4;
  o1.observers.push_back(counting(0));
  async_run_plan(e, wide, o1, [&](boost::system::error_code ec, run_report r) {
    results[0].set_value({ec, std::move(r)});
  });
  asio::cancellation_signal cancel;
  auto o2 = conclave::test::quick_options(0);
  o2.observers.push_back(counting(1));
  async_run_plan(
      e, stuck, o2,
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, run_report r) {
        results[1].set_value({ec, std::move(r)});
      }));
  asio::steady_timer later(io, 50ms);
  later.async_wait(
      [&](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });

  auto got = run_on_four_threads(io, results);
  BOOST_REQUIRE_MESSAGE(got.has_value(), "the plans did not finish");
  const auto& [ec0, r0] = (*got)[0];
  BOOST_CHECK(!ec0);
  BOOST_CHECK_EQUAL(r0.agents.size(), 24u);
  BOOST_CHECK(r0.agents[3].status == agent_status::failed);
  BOOST_CHECK(r0.agents[11].status == agent_status::skipped);  // t3 -> t11
  BOOST_CHECK_EQUAL(r0.answer, "yes");
  BOOST_CHECK_EQUAL(r0.verify_rounds, 1);
  const auto& [ec1, r1] = (*got)[1];
  BOOST_CHECK(ec1 == error::cancelled);
  BOOST_CHECK(r1.agents[0].status == agent_status::cancelled);
  BOOST_CHECK(r1.agents[1].status == agent_status::cancelled);  // never started
  for (std::size_t i = 0; i < 24; ++i) BOOST_CHECK_GE((terminal[{0, i}]), 1);
  for (std::size_t i = 0; i < 3; ++i) BOOST_CHECK_EQUAL((terminal[{1, i}]), 1);
}

// A cancel that reaches the verify stage's revisions while they run, on four threads: the
// parallel group cancels each revision through its slot on the run's strand while the run's stop
// reaches the same agents on their own strands. Each subtask ends once with a report.
BOOST_AUTO_TEST_CASE(a_cancel_during_verify_revisions_on_four_threads) {
  asio::io_context io(4);
  asio::cancellation_signal cancel;
  std::atomic<int> revisions_started{0};
  conclave::test::fake_model model(io.get_executor(), [&](const chat_request& r) {
    const std::string last = r.messages.back().text();
    if (last.find("Grade this answer") != std::string::npos)
      return fake_reply{1ms, R"({"verdict": "fail", "critique": "more"})", {}, 1};
    if (last.find("The reviewer's critique") != std::string::npos) {
      // The last revision to start cancels the run: every revision is in flight by then.
      if (++revisions_started == 6) {
        asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
      }
      return fake_reply{30s, "never", {}, 1};
    }
    return fake_reply{1ms, "an answer", {}, 1};
  });
  engine e(io.get_executor(), model);
  plan p;
  p.question = "q";
  for (int i = 0; i < 6; ++i) {
    subtask s;
    s.id = "t" + std::to_string(i);
    s.prompt = "task " + std::to_string(i);
    p.subtasks.push_back(std::move(s));
  }
  p.verify = true;
  std::mutex mutex;
  std::map<std::size_t, int> last_events;
  auto o = conclave::test::quick_options(0);
  o.max_concurrency = 6;
  o.observers.push_back([&](const event& ev, const progress_map&) {
    if (!ev.agent || !is_terminal(ev.kind)) return;
    std::lock_guard lock(mutex);
    ++last_events[*ev.agent];
  });
  std::vector<std::promise<outcome>> results(1);
  async_run_plan(
      e, p, o,
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, run_report r) {
        results[0].set_value({ec, std::move(r)});
      }));

  auto got = run_on_four_threads(io, results);
  BOOST_REQUIRE_MESSAGE(got.has_value(), "the cancelled plan did not finish");
  const auto& [ec, r] = (*got)[0];
  BOOST_CHECK(ec == error::cancelled);
  BOOST_CHECK_EQUAL(revisions_started.load(), 6);
  BOOST_REQUIRE_EQUAL(r.agents.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    // The first answer and its revision's end: a cancelled revision keeps the first answer.
    BOOST_CHECK_EQUAL(last_events[i], 2);
    BOOST_CHECK_EQUAL(r.agents[i].answer, "an answer");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_threaded_ask
