// The ask pipeline against an in-process fake model: concurrency, deadlines, isolation,
// synthesis input, events, cancellation. No sockets; real timers with small latencies.
#include "ask_fixture.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

namespace engine_test_ask {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::ask;
using conclave::test::fake_model;
using conclave::test::fake_reply;
using conclave::test::quick_options;
using conclave::test::rig;
using conclave::test::scripted;

namespace {

std::size_t agents_calls(const fake_model& m) {
  std::size_t n = 0;
  for (const auto& r : m.seen())
    n += conclave::test::kind_of(r) == conclave::test::request_kind::agent;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ask_pipeline)

BOOST_AUTO_TEST_CASE(agents_run_concurrently_wall_near_the_slowest) {
  scripted s;
  s.agent = [](int i) {
    return fake_reply{std::chrono::milliseconds(40 + 5 * i), "ok " + std::to_string(i), {}, 4};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Big question?", quick_options(8));
  BOOST_REQUIRE(!r.ec);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 8u);
  BOOST_CHECK_EQUAL(r.report.count(agent_status::ok), 8u);
  // Sum of agent times is about 8 x 57 ms; the fan-out took about the slowest (75 ms). Generous
  // margins: this asserts concurrency, not speed.
  BOOST_CHECK_GT(r.report.agent_time_sum, 8 * 40ms);
  BOOST_CHECK_LT(r.report.fan_out_wall, r.report.agent_time_sum / 2);
  BOOST_CHECK_GT(r.report.speedup(), 2.0);
  BOOST_CHECK_EQUAL(t.model.peak_in_flight(), 8);
  BOOST_CHECK(r.report.answer.starts_with("SYNTHESIS OF:"));
  BOOST_CHECK(!r.report.degraded);
}

BOOST_AUTO_TEST_CASE(results_come_back_in_subquestion_order) {
  scripted s;  // later parts finish first
  s.agent = [](int i) {
    return fake_reply{std::chrono::milliseconds(60 - 10 * i), "answer " + std::to_string(i), {}, 1};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(5));
  for (std::size_t i = 0; i < 5; ++i) {
    BOOST_CHECK_EQUAL(r.report.agents[i].index, i);
    BOOST_CHECK_EQUAL(r.report.agents[i].answer, "answer " + std::to_string(i));
  }
}

BOOST_AUTO_TEST_CASE(a_failing_agent_leaves_its_siblings_alone) {
  scripted s;
  s.agent = [](int i) {
    if (i == 2) return fake_reply{1ms, "", error::provider_error, 1};
    return fake_reply{30ms, "fine " + std::to_string(i), {}, 1};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(4));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.agents[2].status == agent_status::failed);
  BOOST_CHECK(r.report.agents[2].error == error::provider_error);
  for (int i : {0, 1, 3}) BOOST_CHECK(r.report.agents[i].status == agent_status::ok);
  BOOST_CHECK(r.report.degraded);
  BOOST_CHECK(r.report.synthesis_note.find("3 (failed)") != std::string::npos);
  // Synthesis was told what is missing.
  BOOST_CHECK(r.report.answer.find("Status: failed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(per_agent_timeout) {
  scripted s;
  s.agent = [](int i) { return fake_reply{i == 1 ? 10s : 5ms, "a" + std::to_string(i), {}, 1}; };
  rig t(s);
  auto opts = quick_options(3);
  opts.agent_timeout = 150ms;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.agents[1].status == agent_status::timed_out);
  BOOST_CHECK(r.report.agents[1].error == error::timeout);
  BOOST_CHECK_GT(r.report.agents[1].tokens.prompt_tokens, 0);  // the cut call still counts
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);
  BOOST_CHECK(r.report.agents[2].status == agent_status::ok);
  BOOST_CHECK_LT(r.report.wall, 5s);
}

BOOST_AUTO_TEST_CASE(global_deadline_still_yields_a_synthesized_answer) {
  scripted s;
  s.agent = [](int i) {
    return fake_reply{i % 2 ? 30s : 10ms, "fast " + std::to_string(i), {}, 1};
  };
  rig t(s);
  auto opts = quick_options(4);
  opts.deadline = 600ms;
  opts.synthesis_reserve = 300ms;  // agents are stopped at 300 ms
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);
  BOOST_CHECK(r.report.agents[1].status == agent_status::timed_out);
  BOOST_CHECK(r.report.agents[1].diag.message.find("synthesis") != std::string::npos);
  BOOST_CHECK(r.report.degraded);
  BOOST_CHECK(r.report.answer.find("fast 0") != std::string::npos);  // a real synthesis ran
  BOOST_CHECK(r.report.answer.find("fast 2") != std::string::npos);
  BOOST_CHECK_LT(r.report.wall, 5s);
}

BOOST_AUTO_TEST_CASE(unbounded_timeouts_are_safe) {
  scripted s;
  rig t(s);
  auto opts = quick_options(2);
  opts.deadline = std::chrono::milliseconds::max();
  opts.agent_timeout = std::chrono::milliseconds::max();
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(!r.ec);
  BOOST_CHECK_EQUAL(r.report.count(agent_status::ok), 2u);
  // A reserve as large as the whole run leaves the agents no time: they fail at once, cleanly.
  opts.synthesis_reserve = std::chrono::milliseconds::max();
  auto none = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(none.ec == error::all_agents_failed);
  BOOST_CHECK(none.report.decomposition_fallback);  // decomposition had no time either
  BOOST_CHECK_EQUAL(none.report.count(agent_status::timed_out), none.report.agents.size());
}

BOOST_AUTO_TEST_CASE(every_agent_failing_is_an_error_with_a_full_report) {
  scripted s;
  s.agent = [](int) { return fake_reply{1ms, "", error::rate_limited, 1}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_CHECK(r.ec == error::all_agents_failed);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 3u);
  for (const auto& a : r.report.agents) BOOST_CHECK(a.error == error::rate_limited);
  for (const auto& req : t.model.seen()) {
    BOOST_CHECK(conclave::test::kind_of(req) != conclave::test::request_kind::synthesis);
  }
}

BOOST_AUTO_TEST_CASE(agents_are_isolated) {
  scripted s;
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(4));
  BOOST_REQUIRE(!r.ec);
  for (const auto& req : t.model.seen()) {
    if (conclave::test::kind_of(req) != conclave::test::request_kind::agent) continue;
    BOOST_CHECK_EQUAL(req.messages.size(), 2u);  // shared base context + its own sub-question
    const std::string mine = conclave::test::last_user(req);
    for (const auto& other : r.report.sub_questions) {
      if (other == mine) continue;
      for (const auto& msg : req.messages) {
        BOOST_CHECK(msg.text().find(other) == std::string::npos);
      }
    }
    for (const auto& a : r.report.agents) {  // and never another agent's answer
      for (const auto& msg : req.messages)
        BOOST_CHECK(msg.text().find(a.answer) == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(synthesis_sees_decisions_only_and_bounded) {
  scripted s;
  s.agent = [](int i) {
    return fake_reply{
        1ms, i == 0 ? std::string(10'000, 'x') : "short decision " + std::to_string(i), {}, 1};
  };
  rig t(s);
  auto opts = quick_options(3);
  opts.max_decision_chars = 100;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  std::optional<chat_request> synthesis;
  for (const auto& req : t.model.seen()) {
    if (conclave::test::kind_of(req) == conclave::test::request_kind::synthesis) synthesis = req;
  }
  BOOST_REQUIRE(synthesis);
  const std::string input = conclave::test::last_user(*synthesis);
  BOOST_CHECK(input.find("short decision 1") != std::string::npos);
  BOOST_CHECK(input.find("[cut: 9900 more characters]") != std::string::npos);
  BOOST_CHECK(input.find(std::string(101, 'x')) == std::string::npos);
  BOOST_CHECK(input.find("expert agents working in parallel") == std::string::npos);  // no dialogue
  BOOST_CHECK_LT(r.report.synthesis_input_chars, 2000u);
}

BOOST_AUTO_TEST_CASE(events_in_order) {
  scripted s;
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE(!r.ec);
  const auto& ev = r.events;
  BOOST_REQUIRE(!ev.empty());
  BOOST_CHECK(ev.front().kind == event_kind::decomposed);
  BOOST_CHECK_EQUAL(ev.front().count, 3u);
  BOOST_CHECK(ev.back().kind == event_kind::finished);
  std::size_t synthesis_at = 0;
  for (std::size_t k = 0; k < ev.size(); ++k) {
    if (ev[k].kind == event_kind::synthesis_started) synthesis_at = k;
  }
  for (std::size_t agent = 0; agent < 3; ++agent) {
    std::vector<event_kind> seq;
    std::size_t last_at = 0;
    for (std::size_t k = 0; k < ev.size(); ++k) {
      if (ev[k].agent == agent) {
        seq.push_back(ev[k].kind);
        last_at = k;
      }
    }
    BOOST_REQUIRE_GE(seq.size(), 4u);
    BOOST_CHECK(seq.front() == event_kind::queued);
    BOOST_CHECK(seq[1] == event_kind::started);
    for (std::size_t k = 2; k + 1 < seq.size(); ++k) BOOST_CHECK(seq[k] == event_kind::progress);
    BOOST_CHECK(seq.back() == event_kind::completed);
    BOOST_CHECK_LT(last_at, synthesis_at);  // synthesis starts after every agent is done
  }
  for (std::size_t k = 1; k < ev.size(); ++k) BOOST_CHECK_LE(ev[k - 1].at, ev[k].at);
}

BOOST_AUTO_TEST_CASE(cancelling_the_ask_cancels_every_agent) {
  scripted s;
  s.agent = [](int) { return fake_reply{30s, "never", {}, 1}; };
  rig t(s);
  asio::cancellation_signal cancel;
  auto opts = quick_options(4);
  opts.max_concurrency = 2;  // two run, two wait for a slot
  std::size_t started = 0;
  opts.observers.push_back([&](const event& ev, const progress_map&) {
    if (ev.kind == event_kind::started && ++started == 2) {
      asio::post(t.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  const auto r = ask(t.io, t.eng, "Q?", opts, cancel.slot(), 5s);
  BOOST_CHECK(r.ec == error::cancelled);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 4u);
  std::size_t never_started = 0;
  for (const auto& a : r.report.agents) {
    BOOST_CHECK(a.status == agent_status::cancelled);
    BOOST_CHECK(a.error == error::cancelled);
    never_started += a.attempts == 0;
  }
  BOOST_CHECK_EQUAL(never_started, 2u);
  BOOST_CHECK_EQUAL(agents_calls(t.model), 2u);
  conclave::test::expect_no_leftover_work(t.io);
}

BOOST_AUTO_TEST_CASE(the_concurrency_cap_queues_the_rest_and_queueing_counts_against_the_deadline) {
  scripted s;
  s.agent = [](int) { return fake_reply{100ms, "capped", {}, 1}; };
  rig t(s);
  auto opts = quick_options(6);
  opts.max_concurrency = 2;
  opts.agent_timeout = 250ms;  // rounds end at ~100, ~200, ~300 ms: the third round is too late
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK_EQUAL(t.model.peak_in_flight(), 2);
  BOOST_CHECK_EQUAL(r.report.count(agent_status::ok), 4u);
  BOOST_CHECK_EQUAL(r.report.count(agent_status::timed_out), 2u);
  for (const auto& a : r.report.agents) {
    if (a.status == agent_status::timed_out) BOOST_CHECK_GT(a.queued, 150ms);
  }
}

BOOST_AUTO_TEST_CASE(unusable_decomposition_falls_back_to_one_agent) {
  scripted s;
  s.decomposition = [](int) { return fake_reply{1ms, "I would rather not split this.", {}, 1}; };
  s.agent = [](int) { return fake_reply{1ms, "whole answer", {}, 1}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "The whole question?", quick_options(5));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.decomposition_fallback);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 1u);
  BOOST_CHECK_EQUAL(r.report.agents[0].sub_question, "The whole question?");
  BOOST_CHECK(r.events.front().kind == event_kind::decomposed);
  BOOST_CHECK(r.events.front().text.find("one agent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failed_decomposition_call_falls_back_too) {
  scripted s;
  s.decomposition = [](int) { return fake_reply{1ms, "", error::overloaded, 1}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.decomposition_fallback);
  BOOST_CHECK(r.report.decomposition_note.find("overloaded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failed_synthesis_degrades_to_the_decisions) {
  scripted s;
  s.synthesis = [](const std::string&) { return fake_reply{1ms, "", error::provider_error, 1}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(2));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.degraded);
  BOOST_CHECK(r.report.answer.starts_with("Synthesis failed"));
  BOOST_CHECK(r.report.answer.find("Decision of part 0") != std::string::npos);
  BOOST_CHECK(r.report.answer.find("Decision of part 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(accounting_counts_every_call) {
  scripted s;
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE(!r.ec);
  usage sum = r.report.decomposition_tokens;
  sum += r.report.synthesis_tokens;
  for (const auto& a : r.report.agents) {
    BOOST_CHECK_GT(a.tokens.prompt_tokens, 0);
    BOOST_CHECK_GT(a.tokens.completion_tokens, 0);
    BOOST_CHECK_EQUAL(a.attempts, 1);
    BOOST_CHECK_GT(a.latency.count(), 0);
    sum += a.tokens;
  }
  BOOST_CHECK_GT(r.report.decomposition_tokens.total(), 0);
  BOOST_CHECK_GT(r.report.synthesis_tokens.total(), 0);
  BOOST_CHECK_EQUAL(r.report.total_tokens().total(), sum.total());
  BOOST_CHECK_EQUAL(r.events.back().tokens.total(), sum.total());
  BOOST_CHECK_GE(r.report.wall, r.report.fan_out_wall);
}

BOOST_AUTO_TEST_CASE(works_with_every_kind_of_completion_token) {
  scripted s;
  rig t(s);

  // use_awaitable
  auto coro = [&]() -> asio::awaitable<std::size_t> {
    auto [ec, r] =
        co_await async_ask(t.eng, "Q?", quick_options(2), asio::as_tuple(asio::use_awaitable));
    co_return ec ? 0 : r.agents.size();
  };
  BOOST_CHECK_EQUAL(conclave::test::run(t.io, coro()), 2u);

  // deferred, launched later
  auto op = async_ask(t.eng, "Q?", quick_options(3), asio::deferred);
  std::size_t got = 0;
  std::move(op)(
      [&](boost::system::error_code ec, run_report r) { got = ec ? 0 : r.agents.size(); });
  BOOST_REQUIRE(conclave::test::pump_until(t.io, [&] { return got != 0; }));
  BOOST_CHECK_EQUAL(got, 3u);

  // use_future, with the io_context run on another thread
  t.io.restart();
  auto work = asio::make_work_guard(t.io);
  std::thread runner([&] { t.io.run(); });
  auto fut = async_ask(t.eng, "Q?", quick_options(2), asio::use_future);
  BOOST_REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  BOOST_CHECK_EQUAL(fut.get().agents.size(), 2u);
  work.reset();
  runner.join();
}

BOOST_AUTO_TEST_CASE(transient_failures_are_retried_with_events_and_accounting) {
  scripted s;
  s.agent_attempt = [](int i, int attempt) {
    if (i == 1 && attempt <= 2) return fake_reply{1ms, "", error::overloaded, 1};
    return fake_reply{1ms, "fine " + std::to_string(i), {}, 2};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(!r.report.degraded);
  const auto& a = r.report.agents[1];
  BOOST_CHECK(a.status == agent_status::ok);
  BOOST_CHECK(!a.error);
  BOOST_CHECK_EQUAL(a.attempts, 3);
  BOOST_CHECK_EQUAL(r.report.agents[0].attempts, 1);
  BOOST_CHECK_GT(a.tokens.prompt_tokens, 2 * r.report.agents[0].tokens.prompt_tokens);  // 3 calls
  std::vector<std::pair<event_kind, int>> seq;
  for (const auto& e : r.events) {
    if (e.agent == 1u && e.kind != event_kind::progress) seq.emplace_back(e.kind, e.attempt);
  }
  const std::vector<std::pair<event_kind, int>> expected = {
      {event_kind::queued, 0},   {event_kind::started, 1},  {event_kind::retrying, 2},
      {event_kind::started, 2},  {event_kind::retrying, 3}, {event_kind::started, 3},
      {event_kind::completed, 3}};
  BOOST_CHECK(seq == expected);
}

BOOST_AUTO_TEST_CASE(retry_after_from_the_server_is_waited_for) {
  scripted s;
  s.agent_attempt = [](int, int attempt) {
    if (attempt == 1) return fake_reply{1ms, "", error::rate_limited, 1, 80ms};
    return fake_reply{1ms, "after waiting", {}, 1};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(1));
  BOOST_REQUIRE(!r.ec);
  std::chrono::microseconds retrying_at{0}, restarted_at{0};
  for (const auto& e : r.events) {
    if (e.kind == event_kind::retrying) {
      retrying_at = e.at;
      BOOST_CHECK(e.text.find("retrying in 80 ms (as the server asked)") != std::string::npos);
    }
    if (e.kind == event_kind::started && e.attempt == 2) restarted_at = e.at;
  }
  BOOST_CHECK_GE(restarted_at - retrying_at, 80ms);  // a lower bound: it waited, at least
}

BOOST_AUTO_TEST_CASE(what_is_not_retryable_is_tried_once) {
  scripted s;
  s.agent = [](int) { return fake_reply{1ms, "", error::bad_request, 1}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(2));
  BOOST_CHECK(r.ec == error::all_agents_failed);
  for (const auto& a : r.report.agents) BOOST_CHECK_EQUAL(a.attempts, 1);
  BOOST_CHECK_EQUAL(agents_calls(t.model), 2u);
}

BOOST_AUTO_TEST_CASE(the_shared_budget_stops_a_retry_storm) {
  scripted s;
  s.agent = [](int) { return fake_reply{1ms, "", error::overloaded, 1}; };
  rig t(s);
  auto opts = quick_options(12);
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(r.ec == error::all_agents_failed);
  // Without the budget: 12 x 3 = 36 calls. With it (10 tokens, retries only above 5), the
  // first failures spend the budget and the rest give up at once.
  const std::size_t calls = agents_calls(t.model);
  BOOST_CHECK_LE(calls, 12u + 5u);
  std::size_t throttled = 0;
  for (const auto& a : r.report.agents) {
    throttled += a.diag.message.find("retry budget") != std::string::npos;
  }
  BOOST_CHECK_GE(throttled, 7u);
}

// The run's shared context is held once, not copied into each agent: every agent request still
// starts with it, once, and ends with the agent's own sub-question.
BOOST_AUTO_TEST_CASE(every_agent_request_starts_with_the_shared_context_once) {
  const auto script = scripted{}.as_script();
  auto seen = std::make_shared<std::vector<std::vector<chat_message>>>();
  rig t([script, seen](const chat_request& r) {
    if (test::kind_of(r) == test::request_kind::agent) seen->push_back(r.messages);
    return script(r);
  });
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE(!r.ec);
  BOOST_REQUIRE_EQUAL(seen->size(), 3u);
  for (const auto& messages : *seen) {
    BOOST_REQUIRE_EQUAL(messages.size(), 2u);
    BOOST_CHECK(messages[0].who == role::system);
    BOOST_CHECK(messages[0].text().find("You are one of 3 expert agents") != std::string::npos);
    BOOST_CHECK(messages[0].text().find("The larger question: Q?") != std::string::npos);
    BOOST_CHECK(messages[1].who == role::user);
    BOOST_CHECK(messages[1].text().find(" of the question?") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(decomposition_and_synthesis_are_retried_too) {
  scripted s;
  auto decompositions = std::make_shared<int>(0);
  auto syntheses = std::make_shared<int>(0);
  const auto normal_decomposition = s.decomposition;
  s.decomposition = [=](int n) {
    return ++*decompositions == 1 ? fake_reply{1ms, "", error::overloaded, 1}
                                  : normal_decomposition(n);
  };
  // The retry is sent the same prompt (made again from the decisions, not kept).
  auto prompts = std::make_shared<std::vector<std::string>>();
  s.synthesis = [=](const std::string& prompt) {
    prompts->push_back(prompt);
    return ++*syntheses == 1 ? fake_reply{1ms, "", error::connection_failed, 1}
                             : fake_reply{1ms, "merged on the second try", {}, 1};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE_EQUAL(prompts->size(), 2u);
  BOOST_CHECK(prompts->at(0).find("Decisions of the agents") != std::string::npos);
  BOOST_CHECK(prompts->at(0) == prompts->at(1));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(!r.report.decomposition_fallback);
  BOOST_CHECK_EQUAL(r.report.agents.size(), 3u);
  BOOST_CHECK_EQUAL(r.report.answer, "merged on the second try");
  BOOST_CHECK(!r.report.degraded);
  BOOST_CHECK_EQUAL(*decompositions, 2);
  BOOST_CHECK_EQUAL(*syntheses, 2);
}

BOOST_AUTO_TEST_CASE(a_decomposition_cut_by_its_deadline_still_counts_its_tokens) {
  scripted s;
  s.decomposition = [](int) { return fake_reply{10s, "[]", {}, 1}; };
  rig t(s);
  auto opts = quick_options(3);
  opts.decomposition_timeout = 100ms;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(r.report.decomposition_fallback);
  BOOST_CHECK(r.report.decomposition_note.find("deadline expired") != std::string::npos);
  BOOST_CHECK_GT(r.report.decomposition_tokens.prompt_tokens, 0);
}

BOOST_AUTO_TEST_CASE(a_retry_never_runs_past_the_agents_deadline) {
  scripted s;
  s.agent = [](int) { return fake_reply{1ms, "", error::rate_limited, 1, 5000ms}; };
  rig t(s);
  auto opts = quick_options(1);
  opts.agent_timeout = 1s;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(r.ec == error::all_agents_failed);
  const auto& a = r.report.agents[0];
  BOOST_CHECK_EQUAL(a.attempts, 1);
  BOOST_CHECK(a.error == error::rate_limited);  // the real failure, not a timeout
  BOOST_CHECK(a.diag.message.find("deadline would pass") != std::string::npos);
  BOOST_CHECK_LT(r.report.wall, 1s);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_ask
