// Limits shared through a real Redis: the scripts' windows, settle, release, cooldown and the
// provider's clamp; NOSCRIPT after a flush; then five instances (each its own Redis
// connection, HTTP client and model) calling one mock under one limit, a 429 that cools every
// instance, and Redis gone (fails closed, the provider is not called).
#include "redis_server.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>
#include <conclave/redis/shared_limit_model.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace redis_test_shared_limits {

namespace asio = boost::asio;
using namespace conclave::redis;
using namespace std::chrono_literals;
using boost::system::error_code;

connection_options options_for(const conclave::test::redis_server& server) {
  connection_options o;
  o.where = *parse_url(server.url());
  return o;
}

template <typename Start>
auto drive(asio::io_context& ioc, Start start) {
  using result_t = typename decltype(start(nullptr))::value_type;
  std::optional<result_t> out;
  start(&out);
  while (!out)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  return *out;
}

struct rig {
  conclave::test::redis_server server;
  asio::io_context ioc;
  connection redis{ioc.get_executor(), options_for(server)};
  shared_limiter limiter{redis};

  grant reserve(const std::string& key, shared_limit limit, std::int64_t tokens) {
    std::optional<grant> out;
    limiter.async_reserve(key, limit, tokens, [&](error_code ec, grant g) {
      BOOST_TEST(!ec, ec.message());
      out = std::move(g);
    });
    run_until(out);
    return *out;
  }
  template <typename Op>
  void done(Op op) {
    std::optional<error_code> out;
    op([&](error_code ec) { out = ec; });
    run_until(out);
    BOOST_TEST(!*out, out->message());
  }
  std::int64_t pttl(const std::string& key) {
    std::optional<std::int64_t> out;
    redis.async_command({"PTTL", key}, [&](error_code, reply r) { out = r.integer; });
    run_until(out);
    return *out;
  }
  // Lets `d` pass (a window's time), driving the io_context.
  void pass(std::chrono::milliseconds d) {
    asio::steady_timer t(ioc, d);
    std::optional<error_code> done;
    t.async_wait([&](error_code ec) { done = ec; });
    run_until(done);
  }
  template <typename T>
  void run_until(const std::optional<T>& v) {
    while (!v)
      if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  }
};

BOOST_AUTO_TEST_SUITE(shared_limiter_scripts)

BOOST_AUTO_TEST_CASE(the_request_window_holds_and_a_release_gives_the_request_back) {
  rig r;
  const shared_limit limit{3, 0, 60'000ms};
  std::vector<grant> grants;
  for (int i = 0; i < 3; ++i) grants.push_back(r.reserve("org:mock:m", limit, 10));
  for (const auto& g : grants) BOOST_TEST(g.granted);
  auto fourth = r.reserve("org:mock:m", limit, 10);
  BOOST_TEST(!fourth.granted);
  BOOST_TEST(fourth.wait.count() > 55'000);  // the oldest start leaves the window in ~60 s
  BOOST_TEST(fourth.wait.count() <= 60'001);
  BOOST_TEST(r.reserve("org:mock:other", limit, 10).granted);  // another key, its own window

  r.done([&](auto h) { r.limiter.async_release("org:mock:m", grants[0], h); });
  BOOST_TEST(r.reserve("org:mock:m", limit, 10).granted);
  BOOST_TEST(!r.reserve("org:mock:m", limit, 10).granted);
}

BOOST_AUTO_TEST_CASE(tokens_are_reserved_by_estimate_and_settled_to_what_was_used) {
  rig r;
  const shared_limit limit{0, 1000, 60'000ms};
  auto first = r.reserve("k", limit, 600);
  BOOST_TEST(first.granted);
  BOOST_TEST(first.tokens == 600);
  BOOST_TEST(!r.reserve("k", limit, 600).granted);  // 1200 > 1000
  r.done([&](auto h) { r.limiter.async_settle("k", first, 100, {}, h); });
  BOOST_TEST(r.pttl("conclave:limit:{k}:tokens") > 0);  // settling keeps the window's expiry
  BOOST_TEST(r.reserve("k", limit, 600).granted);       // 100 + 600
  // A release gives the tokens back too.
  auto third = r.reserve("k", limit, 300);
  BOOST_TEST(third.granted);  // 100 + 600 + 300
  BOOST_TEST(!r.reserve("k", limit, 1).granted);
  r.done([&](auto h) { r.limiter.async_release("k", third, h); });
  BOOST_TEST(r.reserve("k", limit, 300).granted);
  // A request larger than the whole cap still runs, alone, counted as the cap.
  auto big = r.reserve("k2", limit, 5000);
  BOOST_TEST(big.granted);
  BOOST_TEST(big.tokens == 1000);
}

BOOST_AUTO_TEST_CASE(what_leaves_the_window_leaves_the_token_count) {
  rig r;
  const shared_limit limit{2, 1000, 150ms};
  BOOST_TEST(r.reserve("k", limit, 600).granted);
  auto refused = r.reserve("k", limit, 600);
  BOOST_TEST(!refused.granted);
  BOOST_TEST(refused.wait.count() <= 151);
  r.pass(200ms);
  BOOST_TEST(r.reserve("k", limit, 600).granted);  // the first 600 left with its window
  BOOST_TEST(r.reserve("k", limit, 400).granted);  // 1000: at the cap, not past it
  BOOST_TEST(!r.reserve("k", limit, 1).granted);   // and two requests: the request cap too
}

BOOST_AUTO_TEST_CASE(with_no_caps_the_windows_are_still_trimmed) {
  rig r;
  const shared_limit none{0, 0, 100ms};
  for (int i = 0; i < 5; ++i) BOOST_TEST(r.reserve("k", none, 10).granted);
  r.pass(150ms);
  BOOST_TEST(r.reserve("k", none, 10).granted);
  std::optional<std::int64_t> members;
  r.redis.async_command({"ZCARD", "conclave:limit:{k}:requests"},
                        [&](error_code, reply v) { members = v.integer; });
  r.run_until(members);
  BOOST_TEST(*members == 1);  // the five older starts left with their window
}

BOOST_AUTO_TEST_CASE(a_cooldown_stops_every_start_and_a_shorter_one_does_not_cut_it) {
  rig r;
  const shared_limit none{};
  r.done([&](auto h) { r.limiter.async_cool_down("k", 5000ms, h); });
  r.done([&](auto h) { r.limiter.async_cool_down("k", 10ms, h); });
  auto g = r.reserve("k", none, 1);
  BOOST_TEST(!g.granted);
  BOOST_TEST(g.wait.count() > 4000);
  // A retry-after past max_cooldown is capped.
  r.done(
      [&](auto h) { r.limiter.async_cool_down("k3", std::chrono::milliseconds(10'000'000), h); });
  BOOST_TEST(r.reserve("k3", none, 1).wait.count() <= 60'000);
}

BOOST_AUTO_TEST_CASE(the_providers_remaining_budget_clamps_every_instance) {
  rig r;
  const shared_limit limit{100, 0, 60'000ms};
  auto g = r.reserve("k", limit, 1);
  conclave::rate_limit_info said;
  said.remaining_requests = 0;
  said.reset_requests = 30'000ms;
  r.done([&](auto h) { r.limiter.async_settle("k", g, 1, said, h); });
  auto next = r.reserve("k", limit, 1);
  BOOST_TEST(!next.granted);  // our window has room for 99 more; the provider has none
  BOOST_TEST(next.wait.count() > 25'000);
}

BOOST_AUTO_TEST_CASE(scripts_lost_by_the_server_are_loaded_again) {
  rig r;
  const shared_limit limit{5, 0, 60'000ms};
  BOOST_TEST(r.reserve("k", limit, 1).granted);
  std::optional<error_code> flushed;
  r.redis.async_command({"SCRIPT", "FLUSH"}, [&](error_code ec, reply) { flushed = ec; });
  r.run_until(flushed);
  BOOST_TEST(r.reserve("k", limit, 1).granted);  // NOSCRIPT, then EVAL
  BOOST_TEST(r.reserve("k", limit, 1).granted);  // cached again: EVALSHA
}

BOOST_AUTO_TEST_SUITE_END()

// -- the model decorator, several instances against one mock --

conclave::rate_limit_options local_limits() {
  conclave::rate_limit_options o;
  o.max_concurrency = 8;
  return o;
}

// One instance as the CLI stacks it: its own limits -> the shared ones -> the provider.
struct instance {
  instance(asio::io_context& ioc, const conclave::test::redis_server& server,
           const std::string& base_url, shared_limit limit)
      : redis(ioc.get_executor(), options_for(server)),
        limiter(redis),
        http(ioc.get_executor()),
        provider(http, conclave::openai::openai_options{base_url, "", "mock", 10'000ms}),
        limited(provider, limiter, limit),
        local(limited, local_limits()) {}
  connection redis;
  shared_limiter limiter;
  conclave::http::client http;
  conclave::openai::openai_model provider;
  shared_limit_model limited;
  conclave::limited_model local;
};

struct call_result {
  error_code ec;
  conclave::chat_response reply;
};

void call(asio::io_context& ioc, conclave::model& m, std::string model_name,
          std::chrono::milliseconds within, std::vector<call_result>& out) {
  conclave::chat_request req;
  req.model = std::move(model_name);
  req.messages.push_back(conclave::chat_message(conclave::role::user, "Say something short."));
  req.max_tokens = 50;
  req.deadline = std::chrono::steady_clock::now() + within;
  (void)ioc;
  m.async_complete(std::move(req), {}, [&out](error_code ec, conclave::chat_response r) {
    out.push_back({ec, std::move(r)});
  });
}

void run_until_count(asio::io_context& ioc, const std::vector<call_result>& out, std::size_t n) {
  while (out.size() < n)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
}

BOOST_AUTO_TEST_SUITE(shared_limit_model_suite)

BOOST_AUTO_TEST_CASE(five_instances_under_a_limit_of_r_per_minute_never_start_more_than_r) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  constexpr std::size_t R = 7;
  conclave::mock::mock_options mo;
  mo.latency = 5ms;
  mo.rate_limit_requests = R;  // the mock enforces it too: any call past R would be a 429
  conclave::mock::mock_server mock(ioc.get_executor(), mo);
  mock.start();
  std::vector<std::unique_ptr<instance>> instances;
  for (int i = 0; i < 5; ++i)
    instances.push_back(
        std::make_unique<instance>(ioc, server, mock.base_url(), shared_limit{R, 0, 60'000ms}));

  std::vector<call_result> results;
  for (int round = 0; round < 6; ++round)
    for (auto& in : instances) call(ioc, in->local, "", 3000ms, results);
  run_until_count(ioc, results, 30);

  std::size_t ok = 0, refused = 0;
  for (const auto& r : results) {
    if (!r.ec) ++ok;
    if (r.ec == conclave::error::rate_limited) {
      ++refused;
      BOOST_TEST(r.reply.diag.message.find("limits shared on Redis") != std::string::npos);
      BOOST_TEST(r.reply.diag.retry_after.has_value());
    }
  }
  BOOST_TEST(ok == R);
  BOOST_TEST(refused == 30 - R);
  const auto stats = mock.stats();
  BOOST_TEST(stats.openai_calls == R);  // the provider saw exactly R calls
  BOOST_TEST(stats.rate_limited == 0u);
  std::uint64_t admitted = 0;
  for (auto& in : instances) admitted += in->limited.stats().admitted;
  BOOST_TEST(admitted == R);
  for (auto& in : instances) {  // a refusal in front is not the provider's 429
    BOOST_TEST(in->local.stats_for("").rate_limited == 0u);
    BOOST_TEST(in->local.stats_for("").concurrency_cap == 8.0);
  }
  mock.stop();
}

BOOST_AUTO_TEST_CASE(a_429_seen_by_one_instance_cools_them_all) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  conclave::mock::mock_options mo;
  mo.retry_after = 20'000ms;
  conclave::mock::mock_server mock(ioc.get_executor(), mo);
  mock.start();
  instance a(ioc, server, mock.base_url(), {});
  instance b(ioc, server, mock.base_url(), {});

  std::vector<call_result> results;
  call(ioc, a.limited, "mock-429", 5000ms, results);
  run_until_count(ioc, results, 1);
  BOOST_TEST((results[0].ec == conclave::error::rate_limited));
  BOOST_TEST(a.limited.stats().rate_limited == 1u);
  const auto calls_before = mock.stats().openai_calls;
  call(ioc, b.limited, "mock-429", 2000ms, results);
  run_until_count(ioc, results, 2);
  BOOST_TEST((results[1].ec == conclave::error::rate_limited));
  BOOST_TEST(results[1].reply.diag.message.find("limits shared on Redis") != std::string::npos,
             results[1].reply.diag.message);
  BOOST_TEST(results[1].reply.diag.retry_after->count() > 15'000);
  BOOST_TEST(mock.stats().openai_calls == calls_before);  // b never reached the provider
  mock.stop();
}

BOOST_AUTO_TEST_CASE(with_redis_gone_a_call_fails_closed_and_the_provider_is_not_called) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  conclave::mock::mock_server mock(ioc.get_executor(), {});
  mock.start();
  instance a(ioc, server, mock.base_url(), shared_limit{100, 0, 60'000ms});
  server.stop(SIGKILL);
  std::vector<call_result> results;
  call(ioc, a.limited, "", 5000ms, results);
  run_until_count(ioc, results, 1);
  // Retryable, as a connection failure is; the call still never reached the provider.
  BOOST_TEST((results[0].ec == conclave::error::connection_failed), results[0].ec.message());
  BOOST_TEST(results[0].reply.diag.message.find("Redis") != std::string::npos);
  BOOST_TEST(mock.stats().openai_calls == 0u);
  BOOST_TEST(a.limited.stats().redis_errors == 1u);
  mock.stop();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_shared_limits
