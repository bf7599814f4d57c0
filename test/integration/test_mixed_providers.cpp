// The engine over one mock speaking both wires, through a router: agents on OpenAI and on
// Anthropic in one run, an OpenAI model that fails for good falling back to an Anthropic one,
// on an io_context run by 4 threads (every agent on its own strand). The mock's per-wire
// counters and the report's per-model spend must tell the same story.
#include <conclave/anthropic/anthropic_model.hpp>
#include <conclave/engine/ask.hpp>
#include <conclave/engine/limited_model.hpp>
#include <conclave/engine/router_model.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

namespace integration_test_mixed_providers {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;

namespace {

constexpr int threads = 4;

}  // namespace

BOOST_AUTO_TEST_SUITE(mixed_providers)

BOOST_AUTO_TEST_CASE(agents_on_both_wires_and_a_fallback_that_crosses_providers) {
  asio::io_context io(threads);
  mock::mock_options m;
  m.latency = 2ms;
  m.stream_interval = 0ms;
  mock::mock_server server(io.get_executor(), m);
  server.start();
  http::client client(io.get_executor());

  openai::openai_options oo;
  oo.base_url = server.base_url();
  oo.default_model = "mock";
  openai::openai_model openai_llm(client, oo);
  anthropic::anthropic_options ao;
  ao.base_url = server.root_url();
  ao.default_model = "mock";
  anthropic::anthropic_model anthropic_llm(client, ao);
  // Each provider keeps its own limits.
  limited_model openai_limited(openai_llm, {});
  limited_model anthropic_limited(anthropic_llm, {});
  router_model router({{"openai", openai_limited}, {"anthropic", anthropic_limited}}, "openai");
  engine e(io.get_executor(), router);

  ask_options o;
  o.agents = 6;
  o.agent_models = {"openai:mock", "anthropic:mock", "openai:mock-500"};
  o.fallback_models = {"anthropic:claude-fallback"};
  o.retry.max_retries = 1;
  o.retry.initial_delay = 1ms;
  o.retry.max_delay = 2ms;
  o.random_seed = 7;

  std::promise<std::pair<boost::system::error_code, run_report>> done;
  auto finished = done.get_future();
  async_ask(e, "Compare tea and coffee", o, [&](boost::system::error_code ec, run_report r) {
    done.set_value({ec, std::move(r)});
  });
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&io] { io.run(); });
  const bool in_time = finished.wait_for(60s) == std::future_status::ready;
  if (!in_time) io.stop();
  server.stop();
  work.reset();
  for (auto& t : pool) t.join();
  BOOST_REQUIRE(in_time);

  auto [ec, report] = finished.get();
  BOOST_REQUIRE_MESSAGE(!ec, ec.message());
  BOOST_REQUIRE_EQUAL(report.agents.size(), 6u);
  for (std::size_t i = 0; i < report.agents.size(); ++i) {
    const auto& a = report.agents[i];
    BOOST_TEST_CONTEXT("agent " << i) {
      BOOST_CHECK(a.status == agent_status::ok);
      if (i % 3 == 2) {  // openai:mock-500 failed for good: the Anthropic fallback answered
        BOOST_CHECK_EQUAL(a.model_ref, "anthropic:claude-fallback");
        BOOST_REQUIRE_EQUAL(a.models_tried.size(), 2u);
        BOOST_CHECK_EQUAL(a.models_tried[0], "openai:mock-500");
        BOOST_CHECK_EQUAL(a.models_tried[1], "anthropic:claude-fallback");
      } else {
        BOOST_CHECK_EQUAL(a.model_ref, o.agent_models[i % 3]);
      }
    }
  }

  // Per model as routed: 2 agents each, the failing model tried twice per agent (one retry),
  // decomposition and synthesis on the default provider's default model.
  const auto calls = [&](const char* ref) {
    auto it = report.by_model.find(ref);
    return it == report.by_model.end() ? 0 : it->second.calls;
  };
  BOOST_CHECK_EQUAL(calls("openai:mock"), 2);
  BOOST_CHECK_EQUAL(calls("anthropic:mock"), 2);
  BOOST_CHECK_EQUAL(calls("openai:mock-500"), 4);
  BOOST_CHECK_EQUAL(calls("anthropic:claude-fallback"), 2);
  BOOST_CHECK_EQUAL(calls("openai"), 2);  // decomposition and synthesis
  BOOST_CHECK_GT(report.by_model.at("anthropic:claude-fallback").tokens.completion_tokens, 0);
  BOOST_CHECK_GT(report.by_model.at("openai:mock-500").tokens.prompt_tokens, 0);  // failed, counted

  // The server saw the same: each call on the wire its provider speaks.
  const auto stats = server.stats();
  BOOST_CHECK_EQUAL(stats.anthropic_calls, 4u);
  BOOST_CHECK_EQUAL(stats.openai_calls, 2u + 4u + 2u);
  int total = 0;
  for (const auto& [ref, spend] : report.by_model) total += spend.calls;
  BOOST_CHECK_EQUAL(static_cast<std::uint64_t>(total), stats.openai_calls + stats.anthropic_calls);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_mixed_providers
