// The whole engine against the mock over loopback: every mock fault mode with its exact
// outcome and events, a rate limit the mock enforces and counts, limits learnt from the
// provider's headers, and a soak with seeded random faults where every call is accounted for.
#include "ask_run.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/test/unit_test.hpp>

#include <map>

namespace integration_test_resilience {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using boost::system::error_code;

namespace {

using conclave::test::ask;

// A mock, a client, and OpenAI models over it named by their default model.
struct rig {
  explicit rig(mock::mock_options m = quick_mock())
      : server(io.get_executor(), m), client(io.get_executor()) {
    server.start();
  }
  ~rig() {
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }
  static mock::mock_options quick_mock() {
    mock::mock_options m;
    m.retry_after = 20ms;
    m.drip_interval = 0ms;
    m.reply_words = 12;
    return m;
  }
  openai::openai_model& model(const std::string& name, std::chrono::milliseconds timeout = 2s) {
    openai::openai_options o;
    o.base_url = server.base_url();
    o.default_model = name;
    o.request_timeout = timeout;
    models.push_back(std::make_unique<openai::openai_model>(client, o));
    return *models.back();
  }
  asio::io_context io;
  mock::mock_server server;
  http::client client;
  std::vector<std::unique_ptr<openai::openai_model>> models;
};

ask_options quick_retries(int agents) {
  ask_options o;
  o.agents = agents;
  o.retry.initial_delay = 5ms;
  o.retry.max_delay = 20ms;
  o.random_seed = 11;
  return o;
}

// Agent 0's events, as (kind, attempt), progress folded into one entry per run of them.
std::vector<std::pair<event_kind, int>> agent_sequence(const std::vector<event>& events) {
  std::vector<std::pair<event_kind, int>> seq;
  for (const auto& e : events) {
    if (e.agent != 0u) continue;
    if (e.kind == event_kind::progress && !seq.empty() && seq.back().first == event_kind::progress)
      continue;
    seq.emplace_back(e.kind, e.kind == event_kind::progress ? 0 : e.attempt);
  }
  return seq;
}

using ek = event_kind;
using steps = std::vector<std::pair<event_kind, int>>;

}  // namespace

BOOST_AUTO_TEST_SUITE(resilience)

BOOST_AUTO_TEST_CASE(every_mock_fault_mode_ends_as_specified_with_its_events) {
  struct row {
    std::string model;
    bool stream;
    error expected;  // error{} : success
    agent_status status;
    steps sequence;
  };
  const steps three_tries_failed = {{ek::queued, 0},  {ek::started, 1},  {ek::retrying, 2},
                                    {ek::started, 2}, {ek::retrying, 3}, {ek::started, 3},
                                    {ek::failed, 3}};
  const steps shown_then_failed = {
      {ek::queued, 0}, {ek::started, 1}, {ek::progress, 0}, {ek::failed, 1}};
  const std::vector<row> rows{
      {"mock-429", true, error::rate_limited, agent_status::failed, three_tries_failed},
      {"mock-500", true, error::provider_error, agent_status::failed, three_tries_failed},
      {"mock-503", true, error::overloaded, agent_status::failed, three_tries_failed},
      {"mock-hang",
       true,
       error::timeout,
       agent_status::timed_out,
       {{ek::queued, 0},
        {ek::started, 1},
        {ek::retrying, 2},
        {ek::started, 2},
        {ek::retrying, 3},
        {ek::started, 3},
        {ek::timed_out, 3}}},
      {"mock-reset", true, error::connection_failed, agent_status::failed, shown_then_failed},
      {"mock-reset", false, error::connection_failed, agent_status::failed, three_tries_failed},
      {"mock-malformed",
       true,
       error::bad_response,
       agent_status::failed,
       {{ek::queued, 0}, {ek::started, 1}, {ek::failed, 1}}},
      {"mock-malformed",
       false,
       error::bad_response,
       agent_status::failed,
       {{ek::queued, 0}, {ek::started, 1}, {ek::failed, 1}}},
      {"mock-truncated", true, error::stream_truncated, agent_status::failed, shown_then_failed},
      {"mock-error-event", true, error::overloaded, agent_status::failed, shown_then_failed},
      {"mock-drip",
       true,
       error{},
       agent_status::ok,
       {{ek::queued, 0}, {ek::started, 1}, {ek::progress, 0}, {ek::completed, 1}}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.model << (r.stream ? " streamed" : " whole")) {
      rig t;
      auto& worker = t.model(r.model, 150ms);
      auto& normal = t.model("mock");
      engine e(t.io.get_executor(), normal, worker, normal);
      auto opts = quick_retries(1);
      opts.stream = r.stream;
      const auto res = ask(t.io, e, "Does the fault show?", opts, 60s);
      const auto& a = res.report.agents.at(0);
      BOOST_CHECK(a.status == r.status);
      if (r.expected == error{}) {
        BOOST_CHECK(!res.ec);
        BOOST_CHECK(!a.answer.empty());
      } else {
        BOOST_CHECK_MESSAGE(a.error == r.expected, a.error.message());
        BOOST_CHECK(res.ec == error::all_agents_failed);
      }
      const auto seq = agent_sequence(res.events);
      BOOST_CHECK_MESSAGE(seq == r.sequence, "event sequence differs (" << seq.size() << " steps)");
      // The mock saw exactly the calls the report counts.
      BOOST_CHECK_EQUAL(t.server.stats().requests,
                        static_cast<std::uint64_t>(a.attempts + res.report.synthesis_attempts));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_fan_out_of_5r_agents_never_exceeds_the_mocks_limit_of_r) {
  constexpr int r_per_window = 4;
  auto m = rig::quick_mock();
  m.rate_limit_requests = r_per_window;
  m.rate_limit_window = 300ms;
  rig t(m);
  rate_limit_options limits;
  limits.requests_per_window = r_per_window;
  limits.window = 300ms;
  limits.margin = 60ms;  // send-to-arrival jitter on a loaded machine
  limited_model limited(t.model("mock"), limits);
  engine e(t.io.get_executor(), limited);
  auto opts = quick_retries(5 * r_per_window);
  opts.max_concurrency = 5 * r_per_window;
  const auto res = ask(t.io, e, "How do rate limits shape a fan-out?", opts, 60s);
  BOOST_REQUIRE(!res.ec);
  BOOST_CHECK_EQUAL(res.report.count(agent_status::ok), static_cast<std::size_t>(5 * r_per_window));
  const auto stats = t.server.stats();
  BOOST_CHECK_EQUAL(stats.rate_limited, 0u);  // never refused: we stayed within the limit
  BOOST_CHECK_LE(stats.peak_window_requests, static_cast<std::uint64_t>(r_per_window));
  BOOST_CHECK_EQUAL(stats.requests, 5u * r_per_window + 2u);  // + decomposition + synthesis
}

BOOST_AUTO_TEST_CASE(limits_learnt_from_headers_and_429s_keep_a_fan_out_alive) {
  // The client is not told the limit: it learns it from x-ratelimit-* and 429s. Without the
  // limiter the same fan-out hammers the endpoint: every retry-after sends the waiting agents
  // back at once, to be refused again. (The retry budget is opened up for both runs, so what
  // is compared is the pressure on the endpoint, not which agents the budget gave up on.)
  auto m = rig::quick_mock();
  m.rate_limit_requests = 4;
  m.rate_limit_window = 200ms;
  auto opts = quick_retries(16);
  opts.retry.max_retries = 12;
  opts.retry_budget.max_tokens = 0;
  opts.max_concurrency = 16;

  rig bare(m);
  engine hammering(bare.io.get_executor(), bare.model("mock"));
  const auto without = ask(bare.io, hammering, "Learn the limit?", opts, 60s);
  const auto lost = without.report.count(agent_status::failed);

  rig t(m);
  rate_limit_options learn;
  learn.max_concurrency = 4;  // a modest start; the cap adapts from here
  learn.window = 200ms;
  learn.margin = 40ms;
  limited_model limited(t.model("mock"), learn);
  engine e(t.io.get_executor(), limited);
  const auto with = ask(t.io, e, "Learn the limit?", opts, 60s);
  BOOST_CHECK(!with.ec);
  BOOST_CHECK_EQUAL(with.report.count(agent_status::ok), 16u);
  BOOST_CHECK_LT(2 * t.server.stats().rate_limited, bare.server.stats().rate_limited);
  BOOST_TEST_MESSAGE("429s without the limiter: " << bare.server.stats().rate_limited << " ("
                                                  << lost << " agents lost); with it: "
                                                  << t.server.stats().rate_limited);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_resilience
