// Soak: thousands of agent calls through the whole stack (engine, limits, OpenAI adapter,
// pooled HTTP client) against the mock with seeded random faults, hangs included. Every call
// must be accounted for: the mock's count of requests equals the calls the reports record,
// every agent ends in exactly one terminal state with a reason, and nothing is left running.
//
// Its size comes from the environment (unset or empty: CI's default, in parentheses):
//   CONCLAVE_SOAK_CALLS       calls to make at least, 1..10000000 (2000)
//   CONCLAVE_SOAK_FAULT_RATE  fraction of calls the mock answers with a random fault, 0..1 (0.25)
//   CONCLAVE_SOAK_SEED        the mock's fault seed: same seed, same fault sequence (2026)
// e.g. CONCLAVE_SOAK_CALLS=10000 CONCLAVE_SOAK_FAULT_RATE=0.1 CONCLAVE_SOAK_SEED=7
//      ctest --preset dev -R integration.soak -V
#include "run.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace integration_test_soak {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using boost::system::error_code;

namespace {

struct soak_settings {
  std::uint64_t calls = 2000;
  double fault_rate = 0.25;
  std::uint64_t fault_seed = 2026;
};

// The variable's value, or nothing when it is unset or empty.
std::optional<std::string_view> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string_view(v);
}

// The whole text as a T within [low, high] (NaN is not), else std::invalid_argument naming the
// variable, what it accepts and what it got.
template <typename T>
T parse_env(const char* name, std::string_view text, T low, T high, const char* what) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !(v >= low && v <= high)) {
    throw std::invalid_argument(std::string(name) + " must be " + what + ", got '" +
                                std::string(text) + "'");
  }
  return v;
}

soak_settings settings_from_env() {
  soak_settings s;
  if (auto t = env("CONCLAVE_SOAK_CALLS")) {
    s.calls = parse_env<std::uint64_t>("CONCLAVE_SOAK_CALLS", *t, 1, 10'000'000,
                                       "a whole number of calls from 1 to 10000000");
  }
  if (auto t = env("CONCLAVE_SOAK_FAULT_RATE")) {
    s.fault_rate = parse_env<double>("CONCLAVE_SOAK_FAULT_RATE", *t, 0.0, 1.0,
                                     "a fraction from 0 to 1 (e.g. 0.1)");
  }
  if (auto t = env("CONCLAVE_SOAK_SEED")) {
    s.fault_seed = parse_env<std::uint64_t>("CONCLAVE_SOAK_SEED", *t, 0,
                                            std::numeric_limits<std::uint64_t>::max(),
                                            "a whole number from 0 to 18446744073709551615");
  }
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(soak)

BOOST_AUTO_TEST_CASE(random_faults_lose_no_call) {
  soak_settings settings;
  try {
    settings = settings_from_env();
  } catch (const std::invalid_argument& e) {
    BOOST_FAIL(e.what());
  }
  // Runs until at least this many calls were made: a run whose decomposition draws a fault
  // falls back to one agent, so the number of runs needed varies with the faults' order. The
  // cap is three times the runs that would do with no faults (60 for CI's 2,000 calls).
  const std::uint64_t wanted_calls = settings.calls;
  constexpr int agents = 100;
  const int max_runs =
      static_cast<int>(std::max<std::uint64_t>(60, 3 * ((wanted_calls + agents - 1) / agents)));
  std::ostringstream rate;  // as written (0.1), not at Boost.Test's full precision
  rate << settings.fault_rate;
  BOOST_TEST_MESSAGE("soak: calls>=" << wanted_calls << " fault_rate=" << rate.str()
                                     << " fault_seed=" << settings.fault_seed
                                     << " max_runs=" << max_runs);
  asio::io_context io;
  mock::mock_options m;
  m.latency = 1ms;
  m.jitter = 2ms;
  m.retry_after = 10ms;
  m.reply_words = 16;
  m.fault_rate = settings.fault_rate;
  m.fault_seed = settings.fault_seed;
  m.random_hangs = true;
  mock::mock_server server(io.get_executor(), m);
  server.start();
  http::client client(io.get_executor());
  openai::openai_options o;
  o.base_url = server.base_url();
  o.default_model = "mock";
  o.request_timeout = 250ms;  // a hang costs this much
  openai::openai_model llm(client, o);
  rate_limit_options limits;
  limits.max_concurrency = 48;
  limits.default_cooldown = 10ms;
  limited_model limited(llm, limits);
  engine e(io.get_executor(), limited);

  std::uint64_t calls = 0, retries = 0, terminal_events = 0;
  std::map<std::string, std::uint64_t> agent_outcomes, run_outcomes;
  std::size_t agent_entries = 0;
  int runs = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int run = 0; calls < wanted_calls && run < max_runs; ++run, ++runs) {
    ask_options opts;
    opts.agents = agents;
    opts.max_concurrency = 50;
    opts.retry.initial_delay = 2ms;
    opts.retry.max_delay = 10ms;
    opts.random_seed = static_cast<std::uint64_t>(run + 1);
    opts.agent_timeout = 5s;
    opts.deadline = 30s;
    opts.synthesis_reserve = 3s;
    auto terminals = std::make_shared<std::vector<int>>(agents + 1, 0);
    opts.observers.push_back([terminals](const event& ev, const progress_map&) {
      if (!ev.agent) return;
      switch (ev.kind) {
        case event_kind::completed:
        case event_kind::failed:
        case event_kind::timed_out:
        case event_kind::cancelled:
          ++(*terminals)[std::min<std::size_t>(*ev.agent, terminals->size() - 1)];
          break;
        default:
          break;
      }
    });
    bool done = false;
    error_code ec;
    run_report report;
    async_ask(e, "Soak question number " + std::to_string(run) + "?", opts,
              [&](error_code c, run_report r) {
                ec = c;
                report = std::move(r);
                done = true;
              });
    BOOST_REQUIRE_MESSAGE(conclave::test::pump_until(
                              io, [&] { return done; }, 120s),
                          "run " << run << " hung");
    ++run_outcomes[ec ? error_id(ec) : (report.degraded ? "degraded" : "ok")];
    calls += static_cast<std::uint64_t>(report.decomposition_attempts + report.synthesis_attempts);
    retries += static_cast<std::uint64_t>(std::max(0, report.decomposition_attempts - 1) +
                                          std::max(0, report.synthesis_attempts - 1));
    agent_entries += report.agents.size();
    for (std::size_t i = 0; i < report.agents.size(); ++i) {
      const auto& a = report.agents[i];
      calls += static_cast<std::uint64_t>(a.attempts);
      retries += static_cast<std::uint64_t>(std::max(0, a.attempts - 1));
      ++agent_outcomes[a.status == agent_status::ok ? "ok" : error_id(a.error)];
      BOOST_CHECK_MESSAGE(a.status == agent_status::ok || a.error, "agent without a reason");
      BOOST_CHECK_EQUAL((*terminals)[std::min<std::size_t>(i, agents)], 1);
      terminal_events += static_cast<std::uint64_t>((*terminals)[std::min<std::size_t>(i, agents)]);
    }
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
  const auto stats = server.stats();
  server.stop();
  conclave::test::expect_no_leftover_work(io);

  const std::int64_t unaccounted =
      static_cast<std::int64_t>(stats.requests) - static_cast<std::int64_t>(calls);
  BOOST_CHECK_EQUAL(unaccounted, 0);
  BOOST_CHECK_EQUAL(terminal_events, agent_entries);
  BOOST_CHECK_GE(calls, wanted_calls);
  if (settings.fault_rate > 0) BOOST_CHECK_GT(stats.faults_injected, 0u);

  std::string faults, outcomes, runs_text;
  std::ostringstream wall_text;
  wall_text << std::fixed << std::setprecision(1) << wall.count();
  for (const auto& [k, n] : stats.faults_by_kind) faults += " " + k + "=" + std::to_string(n);
  for (const auto& [k, n] : agent_outcomes) outcomes += " " + k + "=" + std::to_string(n);
  for (const auto& [k, n] : run_outcomes) runs_text += " " + k + "=" + std::to_string(n);
  BOOST_TEST_MESSAGE("soak: runs="
                     << runs << " agents=" << agent_entries << " calls=" << calls
                     << " mock_requests=" << stats.requests << " unaccounted=" << unaccounted
                     << " retries=" << retries << " faults_injected=" << stats.faults_injected
                     << " faults:" << faults << " | agent outcomes:" << outcomes
                     << " | runs:" << runs_text << " | wall=" << wall_text.str() << " s");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_soak
