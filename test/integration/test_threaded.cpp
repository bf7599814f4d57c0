// The client, pool, model and mock on one io_context run by 4 threads, each call on its own
// strand (DESIGN: "Strands for agents"). Run under the tsan preset, this proves the shared
// state (pool, mock registry, counters) is touched safely.
#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace integration_test_threaded {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using namespace conclave;

namespace {

constexpr int threads = 4;

// Runs `io` on `threads` threads until `all_done` is ready (bounded), then stops `server` and
// lets the threads run out of work by themselves: a leaked operation would hang the join (and
// CTest's timeout would report it).
bool run_threaded(asio::io_context& io, std::future<void>& all_done, mock::mock_server& server) {
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&io] { io.run(); });
  const bool finished = all_done.wait_for(60s) == std::future_status::ready;
  if (!finished) io.stop();
  server.stop();
  work.reset();
  for (auto& t : pool) t.join();
  return finished;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(threaded)

BOOST_AUTO_TEST_CASE(many_requests_on_strands_over_four_threads) {
  asio::io_context io(threads);
  mock::mock_options m;
  m.latency = 2ms;
  mock::mock_server server(io.get_executor(), m);
  server.start();
  http::client_options c;
  c.max_connections_per_origin = 8;
  http::client client(io.get_executor(), c);
  const auto base = *http::parse_base_url(server.base_url());

  constexpr int calls = 300;
  std::atomic<int> ok{0}, done{0};
  std::promise<void> all;
  auto all_done = all.get_future();
  for (int i = 0; i < calls; ++i) {
    http::request_message req{bhttp::verb::post, base.target("chat/completions"), 11};
    req.body() = R"({"model":"mock","messages":[{"role":"user","content":"thread )" +
                 std::to_string(i) + R"("}]})";
    asio::co_spawn(asio::make_strand(io),
                   client.request(base.where, std::move(req), http::client::clock::now() + 30s),
                   [&](std::exception_ptr e, http::response r) {
                     if (!e && !r.ec && r.status == 200) ++ok;
                     if (++done == calls) all.set_value();
                   });
  }
  BOOST_REQUIRE(run_threaded(io, all_done, server));
  BOOST_CHECK_EQUAL(ok.load(), calls);
  BOOST_CHECK_LE(server.stats().connections_accepted, 8u);
  BOOST_CHECK_EQUAL(server.stats().completions, static_cast<std::uint64_t>(calls));
}

BOOST_AUTO_TEST_CASE(model_calls_with_faults_and_cancellation_over_four_threads) {
  asio::io_context io(threads);
  mock::mock_server server(io.get_executor());
  server.start();
  http::client client(io.get_executor());
  openai::openai_options o;
  o.base_url = server.base_url();
  o.request_timeout = 300ms;  // the hanging ones time out
  openai::openai_model llm(client, o);

  const char* models[] = {"mock", "mock-429", "mock-reset", "mock-hang", "mock-truncated"};
  constexpr int calls = 100;
  std::atomic<int> done{0}, answered{0}, timed_out{0}, other{0};
  std::promise<void> all;
  auto all_done = all.get_future();
  for (int i = 0; i < calls; ++i) {
    chat_request req;
    req.model = models[i % 5];
    req.stream = i % 2 == 0;
    req.messages = {{role::user, "q" + std::to_string(i)}};
    auto strand = asio::make_strand(io);
    llm.async_complete(
        req, nullptr, asio::bind_executor(strand, [&](boost::system::error_code ec, chat_response) {
          if (!ec)
            ++answered;
          else if (ec == error::timeout)
            ++timed_out;
          else
            ++other;
          if (++done == calls) all.set_value();
        }));
  }
  BOOST_REQUIRE(run_threaded(io, all_done, server));
  BOOST_CHECK_EQUAL(answered.load(), calls / 5);
  BOOST_CHECK_EQUAL(timed_out.load(), calls / 5);
  BOOST_CHECK_EQUAL(other.load(), 3 * calls / 5);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_threaded
