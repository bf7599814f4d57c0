// Run-level budgets and the fallback model chain, against the in-process fake model.
#include "ask_fixture.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>

#include <boost/test/unit_test.hpp>

namespace engine_test_budget_fallback {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::ask;
using conclave::test::fake_model;
using conclave::test::fake_reply;
using conclave::test::kind_of;
using conclave::test::request_kind;
using conclave::test::scripted;

namespace {

ask_options quick(int agents) {
  ask_options o;
  o.agents = agents;
  o.retry.initial_delay = 2ms;
  o.retry.max_delay = 5ms;
  o.random_seed = 7;
  return o;
}

// Decomposition and synthesis answer normally; agents per `agent(model name, part)`.
fake_model::script by_model(std::function<fake_reply(const std::string&, int)> agent) {
  scripted normal;
  auto base = normal.as_script();
  return [base, agent](const chat_request& r) {
    if (kind_of(r) != request_kind::agent) return base(r);
    const auto& q = conclave::test::last_user(r);
    return agent(r.model, std::stoi(q.substr(q.find("Part ") + 5)));
  };
}

std::vector<std::string> agent_models_seen(const fake_model& m) {
  std::vector<std::string> out;
  for (const auto& r : m.seen()) {
    if (kind_of(r) == request_kind::agent) out.push_back(r.model);
  }
  return out;
}

// Six agents, two at a time, capped just above decomposition + one agent's tokens (measured
// on an uncapped run of the same script first).
ask_options capped_after_one_agent(asio::io_context& io, const fake_model::script& script) {
  fake_model probe_model(io.get_executor(), script);
  engine probe_engine(io.get_executor(), probe_model);
  auto opts = quick(6);
  opts.max_concurrency = 2;
  const auto probe = ask(io, probe_engine, "Q?", opts);
  BOOST_REQUIRE(!probe.ec);
  opts.budget.max_tokens =
      probe.report.decomposition_tokens.total() + probe.report.agents[0].tokens.total() + 1;
  return opts;
}

// Decomposition is cheap, agent i takes 10 ms x (i + 1).
fake_model::script staggered() {
  return by_model([](const std::string&, int i) {
    return fake_reply{
        std::chrono::milliseconds(10 * (i + 1)), "Decision of part " + std::to_string(i), {}, 1};
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(budget_and_fallback)

BOOST_AUTO_TEST_CASE(an_agent_moves_down_the_chain_when_its_model_gives_up) {
  asio::io_context io;
  fake_model m(io.get_executor(), by_model([](const std::string& model, int i) {
                 if (model == "primary") return fake_reply{1ms, "", error::overloaded};
                 if (model == "second") return fake_reply{1ms, "", error::bad_request};
                 return fake_reply{1ms, "from " + model + " " + std::to_string(i)};
               }));
  engine e(io.get_executor(), m);
  auto opts = quick(2);
  opts.model = "primary";
  opts.fallback_models = {"second", "third", "never"};
  auto r = ask(io, e, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  for (const auto& a : r.report.agents) {
    BOOST_CHECK(a.status == agent_status::ok);
    BOOST_CHECK_EQUAL(a.answer, "from third " + std::to_string(a.index));
    BOOST_CHECK_EQUAL(a.attempts, 3 + 1 + 1);  // primary with 2 retries, second once, third
    BOOST_CHECK((a.models_tried == std::vector<std::string>{"primary", "second", "third"}));
  }
  std::vector<std::string> moves;
  for (const auto& ev : r.events) {
    if (ev.agent == 0u && ev.kind == event_kind::retrying) moves.push_back(ev.text);
  }
  BOOST_REQUIRE_EQUAL(moves.size(), 4u);
  BOOST_CHECK(moves[2].find("moving to fallback model second") != std::string::npos);
  BOOST_CHECK(moves[3].find("moving to fallback model third") != std::string::npos);
  for (const auto& name : agent_models_seen(m)) BOOST_CHECK_NE(name, "never");
}

BOOST_AUTO_TEST_CASE(an_open_circuit_sends_agents_to_the_fallback_at_once) {
  asio::io_context io;
  fake_model m(io.get_executor(), by_model([](const std::string& model, int) {
                 if (model == "down") return fake_reply{1ms, "", error::connection_failed};
                 return fake_reply{1ms, "backup answer"};
               }));
  breaker_options bo;
  bo.failure_threshold = 2;
  bo.cool_off = 10s;
  breaker_model guarded(m, bo);
  engine e(io.get_executor(), guarded);
  auto opts = quick(6);
  opts.max_concurrency = 1;  // one at a time, so the breaker's state is seen by the next
  opts.model = "down";
  opts.fallback_models = {"backup"};
  auto r = ask(io, e, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK_EQUAL(r.report.count(agent_status::ok), 6u);
  // Two failures open the breaker; every later "down" call fails fast without reaching it.
  std::size_t reached_down = 0;
  for (const auto& name : agent_models_seen(m)) reached_down += name == "down";
  BOOST_CHECK_EQUAL(reached_down, 2u);
  BOOST_CHECK_GE(guarded.fast_failures(), 4u);
}

BOOST_AUTO_TEST_CASE(a_stream_already_shown_is_not_replayed_on_a_fallback) {
  asio::io_context io;
  fake_model m(io.get_executor(), by_model([](const std::string& model, int) {
                 fake_reply broken{4ms, "partial text here", error::provider_error, 4};
                 broken.pieces_before_error =
                     2;  // two pieces reach the consumer, then the call fails
                 if (model == "primary") return broken;
                 return fake_reply{1ms, "fallback"};
               }));
  engine e(io.get_executor(), m);
  auto opts = quick(2);
  opts.model = "primary";
  opts.fallback_models = {"backup"};
  auto r = ask(io, e, "Q?", opts);
  BOOST_CHECK(r.ec == error::all_agents_failed);
  for (const auto& a : r.report.agents) {
    BOOST_CHECK(a.error == error::provider_error);
    BOOST_CHECK_EQUAL(a.attempts, 1);
    BOOST_CHECK_EQUAL(a.models_tried.size(), 1u);
    BOOST_CHECK(a.diag.message.find("part of the stream was already delivered") !=
                std::string::npos);
  }
  for (const auto& name : agent_models_seen(m)) BOOST_CHECK_EQUAL(name, "primary");
}

BOOST_AUTO_TEST_CASE(token_budget_lets_running_agents_finish_and_starts_nothing_new) {
  asio::io_context io;
  const auto opts = capped_after_one_agent(io, staggered());

  fake_model m(io.get_executor(), staggered());
  engine e(io.get_executor(), m);
  auto r = ask(io, e, "Q?", opts);
  // Agent 0 ends at 10 ms (under the cap) and agent 2 takes its slot; agent 1 ends at 20 ms
  // and reaches the cap. Agent 2 still finishes; 3, 4 and 5 never call.
  BOOST_REQUIRE(!r.ec);
  for (std::size_t i : {0u, 1u, 2u}) BOOST_CHECK(r.report.agents[i].status == agent_status::ok);
  for (std::size_t i : {3u, 4u, 5u}) {
    const auto& a = r.report.agents[i];
    BOOST_CHECK(a.status == agent_status::failed);
    BOOST_CHECK(a.error == error::budget_exhausted);
    BOOST_CHECK_EQUAL(a.attempts, 0);
    BOOST_CHECK(a.diag.message.starts_with("token budget reached"));
  }
  BOOST_CHECK_EQUAL(agent_models_seen(m).size(), 3u);
  BOOST_CHECK(r.report.budget_exhausted);
  BOOST_CHECK(r.report.budget_note.find("running agents finished") != std::string::npos);
  BOOST_CHECK(r.report.degraded);  // no synthesis call: the decisions are listed instead
  BOOST_CHECK_EQUAL(r.report.synthesis_attempts, 0);
  BOOST_CHECK(r.report.answer.find("Decision of part 2") != std::string::npos);
  // One budget event; after it, no agent starts.
  int budget_events = 0;
  bool started_after = false;
  for (const auto& ev : r.events) {
    if (ev.kind == event_kind::budget_exhausted) ++budget_events;
    if (budget_events > 0 && ev.kind == event_kind::started) started_after = true;
  }
  BOOST_CHECK_EQUAL(budget_events, 1);
  BOOST_CHECK(!started_after);
  BOOST_CHECK_EQUAL(r.report.total_tokens().total(),
                    r.report.decomposition_tokens.total() + r.report.agents[0].tokens.total() +
                        r.report.agents[1].tokens.total() + r.report.agents[2].tokens.total());
}

BOOST_AUTO_TEST_CASE(token_budget_can_stop_running_agents_and_still_counts_their_tokens) {
  asio::io_context io;
  auto opts = capped_after_one_agent(io, staggered());
  opts.budget.cancel_running = true;

  fake_model m(io.get_executor(), staggered());
  engine e(io.get_executor(), m);
  auto r = ask(io, e, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  BOOST_CHECK(r.report.agents[0].status == agent_status::ok);
  BOOST_CHECK(r.report.agents[1].status == agent_status::ok);
  const auto& cut = r.report.agents[2];  // running when agent 1 reached the cap
  BOOST_CHECK(cut.status == agent_status::failed);
  BOOST_CHECK(cut.error == error::budget_exhausted);
  BOOST_CHECK_EQUAL(cut.attempts, 1);
  BOOST_CHECK(cut.diag.message.find("stopped while running") != std::string::npos);
  BOOST_CHECK_GT(cut.tokens.prompt_tokens, 0);  // the cut call's prompt still counts
  BOOST_CHECK(r.report.budget_note.find("running agents were stopped") != std::string::npos);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(budget_spent_by_decomposition_means_no_agent_runs) {
  asio::io_context io;
  fake_model m(io.get_executor(), staggered());
  engine e(io.get_executor(), m);
  auto opts = quick(3);
  opts.budget.max_tokens = 1;
  auto r = ask(io, e, "Q?", opts);
  BOOST_CHECK(r.ec == error::budget_exhausted);
  BOOST_CHECK_EQUAL(r.report.agents.size(), 3u);
  for (const auto& a : r.report.agents) BOOST_CHECK(a.error == error::budget_exhausted);
  BOOST_CHECK(agent_models_seen(m).empty());
}

BOOST_AUTO_TEST_CASE(cost_budget_prices_each_call) {
  asio::io_context io;
  fake_model m(io.get_executor(), staggered());
  engine e(io.get_executor(), m);
  auto opts = quick(4);
  opts.max_concurrency = 1;
  opts.budget.prices["fake"] = {1'000'000.0, 0.0};  // a unit per prompt token
  auto r0 = ask(io, e, "Q?", opts);
  BOOST_CHECK_EQUAL(r0.report.cost, static_cast<double>(r0.report.total_tokens().prompt_tokens));
  opts.budget.max_cost = r0.report.cost / 2;
  auto r = ask(io, e, "Q?", opts);
  BOOST_CHECK(r.report.budget_exhausted);
  BOOST_CHECK(r.report.budget_note.starts_with("cost budget reached"));
  BOOST_CHECK_GE(r.report.count(agent_status::failed), 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_budget_fallback
