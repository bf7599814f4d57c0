// router_model over in-process fake providers: calls routed by reference with the bare name
// forwarded, cancellation passing through, and runs whose agents, phases and fallback chains
// cross providers.
#include "ask_fixture.hpp"
#include "model_call.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/router_model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/test/unit_test.hpp>

namespace engine_test_router {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::ask;
using conclave::test::complete;
using conclave::test::fake_model;
using conclave::test::fake_reply;
using conclave::test::kind_of;
using conclave::test::quick_options;
using conclave::test::request_kind;
using conclave::test::scripted;

namespace {

chat_request asking(std::string model) {
  chat_request r;
  r.messages = {{role::user, "hello"}};
  r.model = std::move(model);
  return r;
}

// The usual script, with each reply naming the provider and model it came from.
fake_model::script signed_by(
    std::string provider,
    std::function<bool(const chat_request&)> fails = [](const chat_request&) { return false; }) {
  auto base = scripted{}.as_script();
  return [base, provider, fails](const chat_request& r) {
    fake_reply reply = base(r);
    if (fails(r)) return fake_reply{1ms, "", error::bad_request};
    if (kind_of(r) == request_kind::agent) reply.content = provider + "/" + r.model;
    reply.model = r.model.empty() ? provider + "-default" : r.model;
    return reply;
  };
}

std::vector<std::string> models_of(const fake_model& m, request_kind kind) {
  std::vector<std::string> out;
  for (const auto& r : m.seen()) {
    if (kind_of(r) == kind) out.push_back(r.model);
  }
  return out;
}

// Two fake providers behind one router, "p1" the default.
struct two_providers {
  explicit two_providers(
      alias_table aliases = {},
      std::function<bool(const chat_request&)> p1_fails = [](const chat_request&) { return false; })
      : p1(io.get_executor(), signed_by("p1", std::move(p1_fails))),
        p2(io.get_executor(), signed_by("p2")),
        router({{"p1", p1}, {"p2", p2}}, "p1", std::move(aliases)),
        eng(io.get_executor(), router) {}
  asio::io_context io;
  fake_model p1;
  fake_model p2;
  router_model router;
  engine eng;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(router)

BOOST_AUTO_TEST_CASE(calls_go_to_the_provider_of_their_prefix_with_the_bare_name) {
  two_providers t;
  auto to_p2 = complete(t.io, t.router, asking("p2:m"));
  BOOST_REQUIRE(!to_p2.ec);
  BOOST_CHECK_EQUAL(to_p2.response.model, "m");  // as the provider named it
  auto bare = complete(t.io, t.router, asking("gpt-4o"));
  auto none = complete(t.io, t.router, asking(""));
  BOOST_CHECK_EQUAL(none.response.model, "p1-default");  // empty stays empty: its default
  BOOST_CHECK((models_of(t.p2, request_kind::agent) == std::vector<std::string>{"m"}));
  BOOST_CHECK((models_of(t.p1, request_kind::agent) == std::vector<std::string>{"gpt-4o", ""}));
  BOOST_CHECK_EQUAL(t.router.describe(), "router(p1, p2)");
  BOOST_CHECK_EQUAL(t.router.describe("p2:m"), "p2:m");
  BOOST_CHECK_EQUAL(t.router.describe(""), "p1");
  const model& as_model = t.router;
  BOOST_CHECK_EQUAL(as_model.describe_model("gpt-4o"), "p1:gpt-4o");
}

BOOST_AUTO_TEST_CASE(ollama_style_names_stay_whole_on_the_default_provider) {
  two_providers t;
  for (const char* name : {"llama3:8b", "qwen2.5:7b", "p3:unknown"}) {
    BOOST_REQUIRE(!complete(t.io, t.router, asking(name)).ec);
  }
  BOOST_CHECK((models_of(t.p1, request_kind::agent) ==
               std::vector<std::string>{"llama3:8b", "qwen2.5:7b", "p3:unknown"}));
  BOOST_CHECK(t.p2.seen().empty());
  BOOST_REQUIRE(!complete(t.io, t.router, asking("p2:llama3:8b")).ec);
  BOOST_CHECK((models_of(t.p2, request_kind::agent) == std::vector<std::string>{"llama3:8b"}));
}

BOOST_AUTO_TEST_CASE(aliases_and_their_chains_reach_the_target) {
  two_providers t({{"planner", "p2:big"}, {"smart", "planner"}, {"cheap", "small"}});
  BOOST_REQUIRE(!complete(t.io, t.router, asking("smart")).ec);
  BOOST_REQUIRE(!complete(t.io, t.router, asking("cheap")).ec);
  BOOST_CHECK((models_of(t.p2, request_kind::agent) == std::vector<std::string>{"big"}));
  BOOST_CHECK((models_of(t.p1, request_kind::agent) == std::vector<std::string>{"small"}));
  auto where = t.router.resolve("smart");
  BOOST_CHECK_EQUAL(where.provider, "p2");
  BOOST_CHECK_EQUAL(where.model, "big");
  BOOST_CHECK_EQUAL(&where.target, static_cast<model*>(&t.p2));
  BOOST_CHECK_EQUAL(t.router.describe("smart"), "p2:big");
}

BOOST_AUTO_TEST_CASE(bad_tables_are_refused_at_construction) {
  asio::io_context io;
  fake_model m(io.get_executor(), scripted{}.as_script());
  BOOST_CHECK_THROW(router_model({{"p1", m}}, "p1", {{"a", "b"}, {"b", "a"}}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(router_model({{"p1", m}}, "p1", {{"a", "p9:x"}}), std::invalid_argument);
  BOOST_CHECK_THROW(router_model({{"p1", m}}, "p2"), std::invalid_argument);
  BOOST_CHECK_THROW(router_model({{"p1", m}, {"p1", m}}, "p1"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(cancelling_the_routers_call_cancels_the_providers) {
  asio::io_context io;
  fake_model slow(io.get_executor(), [](const chat_request&) { return fake_reply{30s, "late"}; });
  fake_model other(io.get_executor(), scripted{}.as_script());
  router_model router({{"other", other}, {"slow", slow}}, "other");
  asio::cancellation_signal cancel;
  bool finished = false;
  boost::system::error_code result;
  router.async_complete(
      asking("slow:m"), {},
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, chat_response) {
        result = ec;
        finished = true;
      }));
  // Once the call is waiting on the fake's timer, the cancel must reach that timer.
  BOOST_REQUIRE(conclave::test::pump_until(io, [&] { return slow.peak_in_flight() == 1; }));
  const auto at = std::chrono::steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(
      io, [&] { return finished; }, 5s));
  // The fake's own timer was cancelled: only the inner call answers `cancelled` this soon.
  BOOST_CHECK(result == error::cancelled);
  BOOST_CHECK_LT(std::chrono::steady_clock::now() - at, 5s);
  io.restart();
  io.poll();
  BOOST_CHECK(io.stopped());  // nothing left behind
}

BOOST_AUTO_TEST_CASE(a_fallback_chain_crosses_providers) {
  // p1 refuses every agent call for good (400); the chain moves to p2.
  two_providers t({}, [](const chat_request& r) { return kind_of(r) == request_kind::agent; });
  auto opts = quick_options(3);
  opts.model = "p1:m";
  opts.fallback_models = {"p2:m"};
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  for (const auto& a : r.report.agents) {
    BOOST_TEST_CONTEXT("agent " << a.index) {
      BOOST_CHECK(a.status == agent_status::ok);
      BOOST_CHECK_EQUAL(a.answer, "p2/m");
      BOOST_CHECK((a.models_tried == std::vector<std::string>{"p1:m", "p2:m"}));
      BOOST_CHECK_EQUAL(a.model_ref, "p2:m");
      BOOST_CHECK_EQUAL(a.model, "m");
    }
  }
  BOOST_CHECK_EQUAL(models_of(t.p1, request_kind::agent).size(), 3u);
  BOOST_CHECK_EQUAL(r.report.decomposition_model_ref, "p1:m");
}

BOOST_AUTO_TEST_CASE(each_provider_keeps_its_own_breaker) {
  // p1 behind a breaker that opens at once: its failures never touch p2's calls.
  asio::io_context io;
  fake_model p1(io.get_executor(), [](const chat_request&) {
    return fake_reply{1ms, "", error::connection_failed};
  });
  fake_model p2(io.get_executor(), signed_by("p2"));
  breaker_options bo;
  bo.failure_threshold = 1;
  bo.cool_off = 10s;
  breaker_model guard1(p1, bo), guard2(p2, bo);
  router_model router({{"p1", guard1}, {"p2", guard2}}, "p2");
  BOOST_CHECK(complete(io, router, asking("p1:x")).ec == error::connection_failed);
  BOOST_CHECK(complete(io, router, asking("p1:x")).ec == error::circuit_open);
  BOOST_CHECK(!complete(io, router, asking("p2:x")).ec);
  BOOST_CHECK(guard1.state("x") == breaker_state::open);
  BOOST_CHECK(guard2.state("x") == breaker_state::closed);
}

BOOST_AUTO_TEST_CASE(agents_take_the_agent_models_in_turn_and_phases_their_own) {
  two_providers t(alias_table{{"planner", "p2:plan"}});
  auto opts = quick_options(5);
  opts.model = "base";
  opts.decomposition_model = "planner";
  opts.synthesis_model = "p2:merge";
  opts.agent_models = {"p1:a", "p2:b"};
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  const std::vector<std::string> expected{"p1:a", "p2:b", "p1:a", "p2:b", "p1:a"};
  for (const auto& a : r.report.agents) {
    BOOST_CHECK_EQUAL(a.model_ref, expected[a.index]);
    BOOST_CHECK_EQUAL(a.answer, expected[a.index].substr(0, 2) + "/" + expected[a.index].substr(3));
  }
  BOOST_CHECK_EQUAL(r.report.decomposition_model_ref, "p2:plan");
  BOOST_CHECK_EQUAL(r.report.decomposition_model, "plan");
  BOOST_CHECK_EQUAL(r.report.synthesis_model_ref, "p2:merge");
  BOOST_CHECK((models_of(t.p2, request_kind::decomposition) == std::vector<std::string>{"plan"}));
  BOOST_CHECK((models_of(t.p2, request_kind::synthesis) == std::vector<std::string>{"merge"}));
  BOOST_CHECK(models_of(t.p1, request_kind::decomposition).empty());
  // The started events name the model each agent called.
  for (const auto& ev : r.events) {
    if (ev.kind == event_kind::started) BOOST_CHECK_EQUAL(ev.model, expected[*ev.agent]);
  }
}

BOOST_AUTO_TEST_CASE(without_agent_models_agents_use_the_runs_model) {
  two_providers t;
  auto opts = quick_options(2);
  opts.model = "p2:everything";
  auto r = ask(t.io, t.eng, "Q?", opts);
  BOOST_REQUIRE(!r.ec);
  for (const auto& a : r.report.agents) BOOST_CHECK_EQUAL(a.model_ref, "p2:everything");
  BOOST_CHECK_EQUAL(r.report.synthesis_model_ref, "p2:everything");
  BOOST_CHECK(t.p1.seen().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_router
