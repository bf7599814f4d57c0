// The Redis connection and the shared limiter on an io_context run by four threads, issued to
// from eight: every command completes once, on its caller's strand, with its own reply (run
// under TSan in CI: the connection's state lives on its internal strand).
#include "redis_server.hpp"

#include <conclave/redis/shared_limiter.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

namespace redis_test_threads {

namespace asio = boost::asio;
using namespace conclave::redis;
using boost::system::error_code;

BOOST_AUTO_TEST_SUITE(redis_threads)

BOOST_AUTO_TEST_CASE(commands_from_many_threads_each_complete_once_with_their_reply) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  connection_options o;
  o.where = *parse_url(server.url());
  connection c(ioc.get_executor(), o);
  shared_limiter limiter(c);
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) runners.emplace_back([&] { ioc.run(); });

  constexpr int issuers = 8, each = 250, limit = 1000;
  std::atomic<int> echoed_right{0}, granted{0}, refused{0}, errors{0};
  std::latch done(issuers * each * 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < issuers; ++t) {
    threads.emplace_back([&, t] {
      auto strand = asio::make_strand(ioc);  // each issuer's handlers on its own strand
      for (int i = 0; i < each; ++i) {
        const std::string word = std::to_string(t) + ":" + std::to_string(i);
        c.async_command({"ECHO", word},
                        asio::bind_executor(strand, [&, word, strand](error_code ec, reply r) {
                          BOOST_ASSERT(strand.running_in_this_thread());
                          if (ec) ++errors;
                          if (r.text == word) ++echoed_right;
                          done.count_down();
                        }));
        limiter.async_reserve("threads", shared_limit{limit, 0, std::chrono::minutes(1)}, 1,
                              asio::bind_executor(strand, [&](error_code ec, grant g) {
                                if (ec) ++errors;
                                (g.granted ? granted : refused)++;
                                done.count_down();
                              }));
      }
    });
  }
  for (auto& t : threads) t.join();
  done.wait();
  work.reset();
  c.close();
  for (auto& r : runners) r.join();
  BOOST_TEST(errors == 0);
  BOOST_TEST(echoed_right == issuers * each);
  BOOST_TEST(granted == limit);  // 2000 asked, exactly the limit granted
  BOOST_TEST(refused == issuers * each - limit);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_threads
