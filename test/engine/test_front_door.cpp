// What a user sees when things go wrong, at the engine: a rejected key ends the run once, a
// long server wait says "rate limited" instead of "deadline expired", decomposition keeps to
// its own time, cut / refused / empty answers are marked, one agent needs no synthesis, and
// synthesis streams.
#include "ask_fixture.hpp"
#include "model_call.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

namespace engine_test_front_door {  // file-local names stay apart in unity batches

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

std::size_t calls_of(const fake_model& m, conclave::test::request_kind kind) {
  std::size_t n = 0;
  for (const auto& r : m.seen()) n += conclave::test::kind_of(r) == kind;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(front_door)

BOOST_AUTO_TEST_CASE(a_rejected_key_at_decomposition_ends_the_run_without_agents) {
  scripted s;
  s.decomposition = [](int) { return fake_reply{1ms, "", error::auth_failed}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(4));
  BOOST_CHECK(r.ec == error::auth_failed);
  BOOST_CHECK(r.report.agents.empty());
  BOOST_CHECK_EQUAL(t.model.seen().size(), 1u);  // no agent repeats the doomed call
  BOOST_CHECK_EQUAL(r.report.stop_note, "scripted failure");
  BOOST_CHECK_EQUAL(r.report.decomposition_attempts, 1);  // auth is never retried
}

BOOST_AUTO_TEST_CASE(a_rejected_key_at_an_agent_stops_every_later_call) {
  scripted s;
  s.agent = [](int) { return fake_reply{2ms, "", error::auth_failed}; };
  rig t(s);
  auto opts = quick_options(4);
  opts.max_concurrency = 1;  // one at a time: the first refusal stops the rest
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(r.ec == error::auth_failed);
  BOOST_CHECK_EQUAL(calls_of(t.model, conclave::test::request_kind::agent), 1u);
  BOOST_CHECK_EQUAL(calls_of(t.model, conclave::test::request_kind::synthesis), 0u);
  BOOST_REQUIRE_EQUAL(r.report.agents.size(), 4u);
  for (const auto& a : r.report.agents) BOOST_CHECK(a.error == error::auth_failed);
  BOOST_CHECK_EQUAL(r.report.agents[1].attempts, 0);
}

BOOST_AUTO_TEST_CASE(a_server_wait_of_an_hour_fails_at_once_as_rate_limited) {
  scripted s;
  s.agent = [](int) { return fake_reply{1ms, "", error::rate_limited, 1, 3'600'000ms}; };
  rig t(s);
  auto opts = quick_options(1);
  opts.agent_timeout = 5s;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_CHECK(r.ec == error::all_agents_failed);
  const auto& a = r.report.agents[0];
  BOOST_CHECK(a.error == error::rate_limited);
  BOOST_CHECK_EQUAL(a.attempts, 1);
  BOOST_REQUIRE(a.diag.retry_after);
  BOOST_CHECK_EQUAL(a.diag.retry_after->count(), 3'600'000);
  BOOST_CHECK(a.diag.message.find("asked to wait 3600 s") != std::string::npos);
  BOOST_CHECK_LT(r.report.wall, 4s);  // not the agent's deadline
}

BOOST_AUTO_TEST_CASE(a_timeout_keeps_the_last_provider_error) {
  scripted s;
  s.agent_attempt = [](int, int attempt) {
    return attempt == 1 ? fake_reply{1ms, "", error::overloaded, 1, 10ms}
                        : fake_reply{10s, "too late"};
  };
  rig t(s);
  auto opts = quick_options(1);
  opts.agent_timeout = 300ms;
  auto r = ask(t.io, t.eng, "Q?", opts);
  const auto& a = r.report.agents[0];
  BOOST_CHECK(a.status == agent_status::timed_out);
  BOOST_CHECK(a.error == error::timeout);
  BOOST_CHECK_MESSAGE(
      a.diag.message.find("last error: provider overloaded: scripted failure") != std::string::npos,
      a.diag.message);
}

BOOST_AUTO_TEST_CASE(a_rate_limit_wait_past_the_deadline_fails_at_once) {
  asio::io_context io;
  fake_model inner(io.get_executor(), [](const chat_request& r) {
    return r.messages.back().text() == "first" ? fake_reply{1ms, "", error::rate_limited, 1, 30s}
                                               : fake_reply{1ms, "ok"};
  });
  rate_limit_options o;
  o.margin = 0ms;
  limited_model limited(inner, o);
  chat_request first;
  first.messages = {{role::user, "first"}};
  auto one = conclave::test::complete(io, limited, first);
  BOOST_CHECK(one.ec == error::rate_limited);

  // Everyone now waits out the 30 s cooldown; a call due in 1 s hears so at once.
  chat_request second;
  second.messages = {{role::user, "second"}};
  second.deadline = std::chrono::steady_clock::now() + 1s;
  const auto t0 = std::chrono::steady_clock::now();
  auto two = conclave::test::complete(io, limited, second);
  BOOST_CHECK(two.ec == error::rate_limited);
  BOOST_CHECK_LT(std::chrono::steady_clock::now() - t0, 900ms);
  BOOST_REQUIRE(two.response.diag.retry_after);
  BOOST_CHECK_GT(two.response.diag.retry_after->count(), 20'000);
  BOOST_CHECK(two.response.diag.message.find("past this call's deadline") != std::string::npos);
  BOOST_CHECK_EQUAL(inner.seen().size(), 1u);  // the second never reached the model

  // A call whose deadline is already gone is a timeout, whatever the limits say.
  chat_request late;
  late.messages = {{role::user, "late"}};
  late.deadline = std::chrono::steady_clock::now() - 1ms;
  auto three = conclave::test::complete(io, limited, late);
  BOOST_CHECK(three.ec == error::timeout);
}

BOOST_AUTO_TEST_CASE(a_decomposer_that_never_answers_leaves_the_agents_their_time) {
  scripted s;
  s.decomposition = [](int) { return fake_reply{60s, "[]"}; };
  rig t(s);
  auto opts = quick_options(3);
  opts.agent_timeout = 30s;
  opts.decomposition_timeout = 150ms;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.decomposition_fallback);
  BOOST_CHECK(r.report.decomposition_note.find("did not finish within its 0.1 s") !=
              std::string::npos);
  BOOST_CHECK_EQUAL(r.report.agents.size(), 1u);
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);
  BOOST_CHECK_LT(r.report.wall, 5s);
}

BOOST_AUTO_TEST_CASE(the_default_decomposition_time_is_a_share_of_the_run) {
  scripted s;
  s.decomposition = [](int) { return fake_reply{60s, "[]"}; };
  rig t(s);
  auto opts = quick_options(3);
  opts.deadline = 800ms;  // a quarter: 200 ms for decomposition
  opts.synthesis_reserve = 0ms;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.decomposition_fallback);
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);  // time was left for it
}

BOOST_AUTO_TEST_CASE(cut_refused_and_empty_answers_are_marked) {
  scripted s;
  s.agent = [](int i) {
    switch (i) {
      case 0:
        return fake_reply{2ms, "half an ans", {}, 1, {}, 0, "length"};
      case 1:
        return fake_reply{2ms, "I can't", {}, 1, {}, 0, "content_filter"};
      case 2:
        return fake_reply{2ms, "", {}, 1, {}, 0, "content_filter"};
      case 3:
        return fake_reply{2ms, "  \n", {}, 1, {}, 0, "stop"};
      default:
        return fake_reply{2ms, "whole"};
    }
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(5));
  BOOST_REQUIRE(!r.ec);
  const auto& a = r.report.agents;
  BOOST_CHECK(a[0].status == agent_status::ok && a[0].stop == stop_reason::length);
  BOOST_CHECK(a[1].status == agent_status::ok && a[1].stop == stop_reason::content_filter);
  BOOST_CHECK(a[2].status == agent_status::failed && a[2].error == error::empty_answer);
  BOOST_CHECK(a[2].diag.message.find("refused") != std::string::npos);
  BOOST_CHECK(a[3].status == agent_status::failed && a[3].error == error::empty_answer);
  BOOST_CHECK(a[4].status == agent_status::ok && a[4].stop == stop_reason::end);
  // Synthesis is told which decisions are cut or filtered.
  BOOST_CHECK(r.report.answer.find("this decision is truncated") != std::string::npos);
  BOOST_CHECK(r.report.answer.find("this decision is refused") != std::string::npos);
  // The completed events carry the mark for the live view.
  int marked = 0;
  for (const auto& e : r.events) {
    if (e.kind == event_kind::completed && e.stop != stop_reason::end) ++marked;
  }
  BOOST_CHECK_EQUAL(marked, 2);
}

BOOST_AUTO_TEST_CASE(one_agent_needs_no_synthesis) {
  scripted s;
  s.agent = [](int) { return fake_reply{2ms, "the direct answer"}; };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(1));
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK_EQUAL(r.report.answer, "the direct answer");
  BOOST_CHECK_EQUAL(r.report.synthesis_attempts, 0);
  BOOST_CHECK_EQUAL(t.model.seen().size(), 1u);
}

BOOST_AUTO_TEST_CASE(synthesis_streams_as_run_level_progress) {
  scripted s;
  s.synthesis = [](const std::string&) {
    return fake_reply{20ms, "merged answer in pieces", {}, 4};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(2));
  BOOST_REQUIRE(!r.ec);
  std::string streamed;
  bool after_synthesis_started = false, before_finished = true;
  for (const auto& e : r.events) {
    if (e.kind == event_kind::synthesis_started) after_synthesis_started = true;
    if (e.kind == event_kind::finished) before_finished = false;
    if (e.kind == event_kind::progress && !e.agent) {
      BOOST_CHECK(after_synthesis_started && before_finished);
      streamed += e.text;
    }
  }
  BOOST_CHECK_EQUAL(streamed, "merged answer in pieces");
  BOOST_CHECK_EQUAL(r.report.answer, streamed);
}

BOOST_AUTO_TEST_CASE(calls_carry_the_run_settings) {
  rig t(scripted{});
  auto opts = quick_options(2);
  opts.model = "worker-m";
  opts.decomposition_model = "planner-m";
  opts.synthesis_model = "writer-m";
  opts.max_output_tokens = 77;
  opts.temperature = 0.25;
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  for (const auto& req : t.model.seen()) {
    const auto kind = conclave::test::kind_of(req);
    const char* expected = kind == conclave::test::request_kind::decomposition ? "planner-m"
                           : kind == conclave::test::request_kind::synthesis   ? "writer-m"
                                                                               : "worker-m";
    BOOST_CHECK_EQUAL(req.model, expected);
    BOOST_CHECK(req.temperature && *req.temperature == 0.25);
    BOOST_CHECK(req.deadline.has_value());
    if (kind != conclave::test::request_kind::decomposition) {
      BOOST_CHECK(req.max_tokens && *req.max_tokens == 77);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_bug_below_is_an_internal_error_not_a_provider_error) {
  scripted s;
  s.agent = [](int i) -> fake_reply {
    if (i == 1) throw std::runtime_error("boom");
    return fake_reply{2ms, "fine"};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_REQUIRE(!r.ec);  // the siblings still answered
  const auto& bad = r.report.agents[1];
  BOOST_CHECK(bad.error == error::internal_error);
  BOOST_CHECK_EQUAL(bad.diag.message, "internal error: boom");
  BOOST_CHECK(!is_retryable(bad.error));
  BOOST_CHECK_EQUAL(r.report.count(agent_status::ok), 2u);
}

BOOST_AUTO_TEST_CASE(an_observer_that_throws_is_dropped_not_fatal) {
  rig t(scripted{});
  auto opts = quick_options(2);
  int calls = 0;
  opts.observers.push_back([&calls](const event&, const progress_map&) {
    ++calls;
    throw std::runtime_error("host bug");
  });
  auto r = ask(t.io, t.eng, "Q?", opts);  // would throw out of io.run() if not caught
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK_EQUAL(calls, 1);
  BOOST_CHECK(r.report.observer_note.find("host bug") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_rejected_key_stops_the_agents_already_running) {
  scripted s;
  s.agent = [](int i) {
    return i == 0 ? fake_reply{2ms, "", error::auth_failed, 1, {}, 0, "stop", "fake", 401}
                  : fake_reply{20s, "slow"};
  };
  rig t(s);
  auto r = ask(t.io, t.eng, "Q?", quick_options(3));
  BOOST_CHECK(r.ec == error::auth_failed);
  BOOST_CHECK_LT(r.report.wall, 5s);  // the slow ones did not run out their 20 s
  for (std::size_t i = 1; i < 3; ++i) {
    BOOST_CHECK(r.report.agents[i].error == error::auth_failed);
    BOOST_CHECK(r.report.agents[i].diag.message.find("stopped") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_403_is_this_models_problem_and_the_fallback_takes_over) {
  scripted s;
  s.agent = [](int) {
    return fake_reply{1ms, "", error::auth_failed, 1, {}, 0, "stop", "fake", 403};
  };
  asio::io_context io;
  fake_model m(io.get_executor(), [base = s.as_script()](const chat_request& r) {
    return r.model == "allowed" ? fake_reply{1ms, "via fallback"} : base(r);
  });
  engine eng(io.get_executor(), m);
  auto opts = quick_options(2);
  opts.model = "no-access";
  opts.fallback_models = {"allowed"};
  auto r = ask(io, eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  for (const auto& a : r.report.agents) {
    BOOST_CHECK(a.status == agent_status::ok);
    BOOST_CHECK_EQUAL(a.models_tried.size(), 2u);
  }
}

BOOST_AUTO_TEST_CASE(cancelling_during_synthesis_is_a_cancelled_run) {
  scripted s;
  s.synthesis = [](const std::string&) { return fake_reply{10s, "never"}; };
  rig t(s);
  asio::cancellation_signal cancel;
  bool done = false;
  boost::system::error_code result;
  auto opts = quick_options(2);
  opts.observers.push_back([&](const event& e, const progress_map&) {
    if (e.kind == event_kind::synthesis_started) {
      asio::post(t.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    }
  });
  async_ask(
      t.eng, "Q?", opts,
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, run_report) {
        result = ec;
        done = true;
      }));
  BOOST_REQUIRE(conclave::test::pump_until(t.io, [&] { return done; }));
  BOOST_CHECK(result == error::cancelled);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_front_door
