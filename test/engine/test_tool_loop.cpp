// Agents that act: the loop of turns over a fake model and host tools (coroutines on the
// test's io_context). Asserts on the report, what the model was sent, and event order.
#include "ask_fixture.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace engine_test_tool_loop {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace conclave::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// The tool results of the request's last turn, as the model sees them: "id=content" or
// "id=ERROR content", joined with " | ".
std::string results_seen(const chat_request& r) {
  std::string out;
  for (const auto& m : r.messages) {
    if (m.who != role::tool) continue;
    for (const auto& p : m.parts) {
      const auto* res = std::get_if<tool_result>(&p);
      if (!res) continue;
      out += (out.empty() ? "" : " | ") + res->call_id + "=" + (res->is_error ? "ERROR " : "") +
             res->content;
    }
  }
  return out;
}

int turns_so_far(const chat_request& r) {
  int n = 0;
  for (const auto& m : r.messages) n += m.who == role::assistant;
  return n;
}

// A fake whose agent turns follow `turn(request, turn index from 0)`; decomposition and
// synthesis as usual.
fake_model::script agent_script(std::function<fake_reply(const chat_request&, int)> turn) {
  scripted base;
  auto usual = base.as_script();
  return [usual, turn](const chat_request& r) {
    if (kind_of(r) != request_kind::agent) return usual(r);
    return turn(r, turns_so_far(r));
  };
}

fake_reply calls(std::vector<tool_call> c, std::string words = {}) {
  fake_reply r{1ms, std::move(words)};
  r.calls = std::move(c);
  return r;
}

std::shared_ptr<tool> adder(asio::io_context& io) {
  return make_tool(io.get_executor(),
                   {"add", "adds a and b", R"({"type":"object","required":["a","b"]})"},
                   [](std::string args) -> asio::awaitable<tool_output> {
                     const auto v = boost::json::parse(args).as_object();
                     co_return tool_output{
                         std::to_string(v.at("a").to_number<int>() + v.at("b").to_number<int>())};
                   });
}

struct loop_rig {
  explicit loop_rig(std::function<fake_reply(const chat_request&, int)> turn)
      : model(io.get_executor(), agent_script(std::move(turn))), eng(io.get_executor(), model) {}
  asio::io_context io;
  fake_model model;
  engine eng;
};

std::vector<std::string> kinds_of(const std::vector<event>& events, std::size_t agent) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.agent == agent && e.kind != event_kind::progress) out.push_back(to_string(e.kind));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tool_loop)

BOOST_AUTO_TEST_CASE(tools_run_and_their_results_reach_the_next_turn) {
  loop_rig rig([](const chat_request& r, int turn) {
    if (turn == 0) return calls({{"c1", "add", R"({"a":2,"b":3})"}}, "Let me add.");
    return fake_reply{1ms, "The sum is " + results_seen(r)};
  });
  auto opts = quick_options(2);
  opts.tools = {adder(rig.io)};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);
  for (const auto& a : out.report.agents) {
    BOOST_CHECK(a.status == agent_status::ok);
    BOOST_CHECK_EQUAL(a.answer, "The sum is c1=5");
    BOOST_CHECK_EQUAL(a.turns, 2);
    BOOST_CHECK_EQUAL(a.attempts, 2);
    BOOST_REQUIRE_EQUAL(a.turn_tokens.size(), 2u);
    BOOST_REQUIRE_EQUAL(a.tool_calls.size(), 1u);
    BOOST_CHECK_EQUAL(a.tool_calls[0].name, "add");
    BOOST_CHECK_EQUAL(a.tool_calls[0].outcome, "ok");
    BOOST_CHECK_EQUAL(a.tool_calls[0].turn, 1);
    BOOST_CHECK_EQUAL(a.tool_calls[0].result_bytes, 1u);
  }
  const std::vector<std::string> expected{
      "queued", "started", "tool_call_started", "tool_call_finished", "started", "completed"};
  const auto seen = kinds_of(out.events, 0);
  BOOST_CHECK_EQUAL_COLLECTIONS(seen.begin(), seen.end(), expected.begin(), expected.end());
  // Every agent turn offered the tool; decomposition and synthesis never did, and synthesis
  // saw decisions, never the dialogue.
  for (const auto& r : rig.model.seen()) {
    BOOST_CHECK_EQUAL(r.tools.size(), kind_of(r) == request_kind::agent ? 1u : 0u);
    if (kind_of(r) == request_kind::synthesis) {
      BOOST_CHECK(last_user(r).find("Let me add.") == std::string::npos);
      BOOST_CHECK(last_user(r).find("The sum is c1=5") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(tool_errors_go_back_to_the_model_as_error_results) {
  loop_rig rig([](const chat_request& r, int turn) {
    if (turn == 0) {
      return calls({{"unknown", "nope", "{}"},
                    {"bad_json", "add", R"({"a":)"},
                    {"missing", "add", R"({"a":1})"},
                    {"throws", "boom", "{}"},
                    {"slow", "slow", "{}"},
                    {"said_no", "refuse", "{}"}});
    }
    return fake_reply{1ms, results_seen(r)};
  });
  auto opts = quick_options(1);
  opts.limits.tool_timeout = 30ms;
  auto ex = rig.io.get_executor();
  opts.tools = {
      adder(rig.io),
      make_tool(ex, {"boom", "throws"},
                [](std::string) -> asio::awaitable<tool_output> {
                  throw std::runtime_error("disk on fire");
                  co_return tool_output{};
                }),
      make_tool(ex, {"slow", "never answers in time"},
                [](std::string) -> asio::awaitable<tool_output> {
                  asio::steady_timer t(co_await asio::this_coro::executor, 10s);
                  co_await t.async_wait(asio::use_awaitable);
                  co_return tool_output{"too late"};
                }),
      make_tool(ex, {"refuse", "says no"}, [](std::string) -> asio::awaitable<tool_output> {
        co_return tool_output{"no such file", true};
      })};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);
  const auto& a = out.report.agents[0];
  BOOST_CHECK(a.status == agent_status::ok);
  BOOST_CHECK(a.answer.find("unknown=ERROR unknown tool 'nope'") != std::string::npos);
  BOOST_CHECK(a.answer.find("bad_json=ERROR the arguments are not a JSON object") !=
              std::string::npos);
  BOOST_CHECK(a.answer.find("missing=ERROR missing required argument(s): b") != std::string::npos);
  BOOST_CHECK(a.answer.find("throws=ERROR the tool failed: disk on fire") != std::string::npos);
  BOOST_CHECK(a.answer.find("slow=ERROR the tool did not answer within 30 ms") !=
              std::string::npos);
  BOOST_CHECK(a.answer.find("said_no=ERROR no such file") != std::string::npos);
  std::vector<std::string> outcomes;
  for (const auto& c : a.tool_calls) outcomes.push_back(c.outcome);
  // A throwing coroutine tool is an error result (make_tool catches), not a failed tool.
  const std::vector<std::string> expected{"refused", "refused",   "refused",
                                          "error",   "timed_out", "error"};
  BOOST_CHECK_EQUAL_COLLECTIONS(outcomes.begin(), outcomes.end(), expected.begin(), expected.end());
}

BOOST_AUTO_TEST_CASE(the_turn_limit_gives_a_partial_answer_with_its_own_status) {
  loop_rig rig([](const chat_request&, int turn) {
    return calls({{"", "add", R"({"a":)" + std::to_string(turn) + R"(,"b":1})"}},
                 "step " + std::to_string(turn));
  });
  auto opts = quick_options(1);
  opts.limits.max_turns = 3;
  opts.tools = {adder(rig.io)};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);  // a partial answer is an answer, marked
  const auto& a = out.report.agents[0];
  BOOST_CHECK(a.status == agent_status::max_turns);
  BOOST_CHECK(a.error == error::loop_limit);
  BOOST_CHECK_EQUAL(a.answer, "step 0\n\nstep 1\n\nstep 2");
  BOOST_CHECK_EQUAL(a.turns, 3);
  BOOST_CHECK_EQUAL(a.tool_calls.size(), 2u);
  BOOST_CHECK(out.report.degraded);
  BOOST_CHECK(out.report.synthesis_note.find("partial") != std::string::npos);
  BOOST_CHECK_EQUAL(kinds_of(out.events, 0).back(), "stopped");
  // The last turn was asked to answer without tools (this model asked anyway).
  std::vector<tool_choice::mode> choices;
  for (const auto& r : rig.model.seen()) choices.push_back(r.choice.how);
  const std::vector<tool_choice::mode> expected{
      tool_choice::mode::automatic, tool_choice::mode::automatic, tool_choice::mode::none};
  BOOST_CHECK(choices == expected);
}

BOOST_AUTO_TEST_CASE(the_same_call_again_and_again_is_reported_as_a_stall) {
  loop_rig rig([](const chat_request&, int) { return calls({{"", "add", R"({"a":1,"b":1})"}}); });
  auto opts = quick_options(2);
  opts.tools = {adder(rig.io)};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_CHECK(out.ec == error::all_agents_failed);  // nothing was said: no partial answer
  for (const auto& a : out.report.agents) {
    BOOST_CHECK(a.status == agent_status::stalled);
    BOOST_CHECK_EQUAL(a.tool_calls.size(), 2u);  // the third never ran
    BOOST_CHECK(a.diag.message.find("3 times in a row") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_turns_calls_run_concurrently_up_to_the_cap) {
  loop_rig rig([](const chat_request& r, int turn) {
    if (turn > 0) return fake_reply{1ms, results_seen(r)};
    std::vector<tool_call> c;
    for (int k = 0; k < 7; ++k)
      c.push_back({"c" + std::to_string(k), "wait", R"({"k":)" + std::to_string(k) + "}"});
    return calls(std::move(c));
  });
  auto running = std::make_shared<int>(0);
  auto peak = std::make_shared<int>(0);
  auto opts = quick_options(1);
  opts.limits.tool_concurrency = 3;
  opts.tools = {make_tool(rig.io.get_executor(), {"wait", "waits a little"},
                          [running, peak](std::string) -> asio::awaitable<tool_output> {
                            *peak = std::max(*peak, ++*running);
                            asio::steady_timer t(co_await asio::this_coro::executor, 2ms);
                            co_await t.async_wait(asio::use_awaitable);
                            --*running;
                            co_return tool_output{"waited"};
                          })};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);
  BOOST_CHECK_EQUAL(*peak, 3);
  BOOST_CHECK_EQUAL(out.report.agents[0].tool_calls.size(), 7u);
  // Results come back in the order the calls were asked for, whatever order they ended in.
  BOOST_CHECK(out.report.agents[0].answer.starts_with("c0=waited | c1=waited | c2=waited"));
}

BOOST_AUTO_TEST_CASE(cancelling_the_run_reaches_a_running_tool) {
  loop_rig rig([](const chat_request&, int) { return calls({{"c", "hang", "{}"}}); });
  auto aborted = std::make_shared<bool>(false);
  auto opts = quick_options(1);
  opts.tools = {make_tool(rig.io.get_executor(), {"hang", "never ends"},
                          [aborted](std::string) -> asio::awaitable<tool_output> {
                            asio::steady_timer t(co_await asio::this_coro::executor, 1h);
                            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                            *aborted = ec == asio::error::operation_aborted;
                            co_return tool_output{"stopped"};
                          })};
  asio::cancellation_signal cancel;
  bool done = false;
  boost::system::error_code result;
  opts.observers.push_back([&](const event& e, const progress_map&) {
    if (e.kind == event_kind::tool_call_started) {
      asio::post(rig.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  async_ask(
      rig.eng, "Q?", opts,
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, run_report) {
        result = ec;
        done = true;
      }));
  BOOST_REQUIRE(pump_until(rig.io, [&] { return done; }));
  BOOST_CHECK(result == error::cancelled);
  BOOST_CHECK(*aborted);
}

BOOST_AUTO_TEST_CASE(a_tool_that_ignores_cancellation_does_not_hold_the_run) {
  loop_rig rig([](const chat_request& r, int turn) {
    if (turn == 0) return calls({{"c", "stubborn", "{}"}});
    return fake_reply{1ms, results_seen(r)};
  });
  auto finished = std::make_shared<bool>(false);
  auto opts = quick_options(1);
  opts.limits.tool_timeout = 20ms;
  opts.tools = {
      make_tool(rig.io.get_executor(), {"stubborn", "ignores cancellation"},
                [finished](std::string) -> asio::awaitable<tool_output> {
                  co_await asio::this_coro::reset_cancellation_state(
                      [](asio::cancellation_type) { return asio::cancellation_type::none; });
                  asio::steady_timer t(co_await asio::this_coro::executor, 300ms);
                  co_await t.async_wait(asio::use_awaitable);
                  *finished = true;
                  co_return tool_output{"late"};
                })};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);
  BOOST_CHECK(!*finished);  // the run did not wait for it
  const auto& a = out.report.agents[0];
  BOOST_CHECK_EQUAL(a.tool_calls.at(0).outcome, "timed_out");
  BOOST_CHECK(a.answer.find("c=ERROR the tool did not answer within 20 ms") != std::string::npos);
  BOOST_REQUIRE(pump_until(rig.io, [&] { return *finished; }));  // it ends on its own
}

BOOST_AUTO_TEST_CASE(a_tool_body_that_throws_before_starting_still_completes) {
  loop_rig rig([](const chat_request& r, int turn) {
    if (turn == 0) return calls({{"c", "broken", "{}"}});
    return fake_reply{1ms, results_seen(r)};
  });
  auto opts = quick_options(1);
  opts.tools = {make_tool(rig.io.get_executor(), {"broken", "throws when called"},
                          [](std::string) -> asio::awaitable<tool_output> {
                            throw std::runtime_error("no coroutine for you");
                          })};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);
  BOOST_CHECK_EQUAL(out.report.agents[0].tool_calls.at(0).outcome, "failed");
  BOOST_CHECK(out.report.agents[0].answer.find("no coroutine for you") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(calls_cut_short_by_a_cancel_are_recorded_as_such) {
  loop_rig rig([](const chat_request&, int) {
    std::vector<tool_call> c;
    for (int k = 0; k < 5; ++k)
      c.push_back({"c" + std::to_string(k), "hang", R"({"k":)" + std::to_string(k) + "}"});
    return calls(std::move(c));
  });
  auto opts = quick_options(1);
  opts.limits.tool_concurrency = 2;
  opts.tools = {make_tool(rig.io.get_executor(), {"hang", "never ends"},
                          [](std::string) -> asio::awaitable<tool_output> {
                            asio::steady_timer t(co_await asio::this_coro::executor, 1h);
                            co_await t.async_wait(asio::use_awaitable);
                            co_return tool_output{"never"};
                          })};
  asio::cancellation_signal cancel;
  bool done = false;
  run_report report;
  opts.observers.push_back([&](const event& e, const progress_map&) {
    if (e.kind == event_kind::tool_call_started && e.tool == "hang") {
      asio::post(rig.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  async_ask(
      rig.eng, "Q?", opts,
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code, run_report r) {
        report = std::move(r);
        done = true;
      }));
  BOOST_REQUIRE(pump_until(rig.io, [&] { return done; }));
  const auto& calls_made = report.agents.at(0).tool_calls;
  BOOST_CHECK_EQUAL(calls_made.size(), 5u);
  for (const auto& c : calls_made) {
    BOOST_CHECK_EQUAL(c.name, "hang");
    BOOST_CHECK_EQUAL(c.turn, 1);
    BOOST_CHECK_EQUAL(c.outcome, "cancelled");
  }
}

BOOST_AUTO_TEST_CASE(tools_for_chooses_each_agents_tools) {
  loop_rig rig([](const chat_request&, int) { return fake_reply{1ms, "no tools needed"}; });
  auto opts = quick_options(3);
  opts.tools = {adder(rig.io)};
  opts.tools_for = [](std::size_t agent, const tool&) { return agent != 1; };
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  BOOST_REQUIRE(!out.ec);
  std::map<std::string, std::size_t> offered;
  for (const auto& r : rig.model.seen()) {
    if (kind_of(r) == request_kind::agent) offered[last_user(r)] = r.tools.size();
  }
  BOOST_CHECK_EQUAL(offered["Part 0 of the question?"], 1u);
  BOOST_CHECK_EQUAL(offered["Part 1 of the question?"], 0u);
  BOOST_CHECK_EQUAL(offered["Part 2 of the question?"], 1u);
}

BOOST_AUTO_TEST_CASE(the_budget_is_checked_before_every_turn) {
  loop_rig rig([](const chat_request&, int) {
    auto r = calls({{"", "add", R"({"a":1,"b":2})"}}, std::string(400, 'x'));
    return r;
  });
  auto opts = quick_options(1);
  opts.budget.max_tokens = 150;  // the first turn spends more than that
  opts.tools = {adder(rig.io)};
  auto out = ask(rig.io, rig.eng, "Q?", opts);
  const auto& a = out.report.agents[0];
  BOOST_CHECK_EQUAL(a.turns, 1);
  BOOST_CHECK(a.error == error::budget_exhausted);
  int agent_calls = 0;
  for (const auto& r : rig.model.seen()) agent_calls += kind_of(r) == request_kind::agent;
  BOOST_CHECK_EQUAL(agent_calls, 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_tool_loop
