// The HTTP client's upkeep hook: evict_idle() closes idle connections past the idle timeout
// and forgets origins with nothing open or waiting, so a host that talks to many origins keeps
// bounded memory; a connection in use (and its origin) is kept.
#include "run.hpp"

#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/test/unit_test.hpp>

namespace integration_test_pool_upkeep {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::run;

namespace {

http::request_message chat(const http::base_url& base, const std::string& model) {
  http::request_message m{bhttp::verb::post, base.target("chat/completions"), 11};
  m.set(bhttp::field::content_type, "application/json");
  m.body() = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"Hi"}]})";
  return m;
}

struct mock_and_client {
  explicit mock_and_client(http::client_options copts)
      : server(io.get_executor(), mock::mock_options{}) {
    server.start();
    base = *http::parse_base_url(server.base_url());
    client = std::make_unique<http::client>(io.get_executor(), std::move(copts));
  }
  ~mock_and_client() {
    server.stop();
    client.reset();
    conclave::test::expect_no_leftover_work(io);
  }
  http::response call(const std::string& model) {
    return run(io,
               client->request(base.where, chat(base, model), http::client::clock::now() + 10s));
  }

  asio::io_context io;
  mock::mock_server server;
  http::base_url base;
  std::unique_ptr<http::client> client;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(pool_upkeep)

BOOST_AUTO_TEST_CASE(many_origins_are_forgotten_once_nothing_is_open) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: every loopback address refuses this port now
  http::client client(io.get_executor());
  for (int i = 1; i <= 200; ++i) {
    http::origin where{false, "127.0.0." + std::to_string(i), port};
    http::request_message m{bhttp::verb::get, "/", 11};
    auto r = run(io, client.request(where, m, http::client::clock::now() + 5s));
    BOOST_REQUIRE(r.ec);
  }
  const auto first = run(io, client.evict_idle());
  BOOST_CHECK_EQUAL(first.origins_forgotten, 200u);
  BOOST_CHECK_EQUAL(first.origins_kept, 0u);
  BOOST_CHECK_EQUAL(first.connections_closed, 0u);
  const auto second = run(io, client.evict_idle());
  BOOST_CHECK_EQUAL(second.origins_forgotten, 0u);
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_fresh_idle_connection_is_kept_and_an_old_one_closed) {
  {
    mock_and_client keeps(http::client_options{});  // idle timeout 30 s
    BOOST_REQUIRE(!keeps.call("mock").ec);
    const auto e = run(keeps.io, keeps.client->evict_idle());
    BOOST_CHECK_EQUAL(e.connections_closed, 0u);
    BOOST_CHECK_EQUAL(e.origins_kept, 1u);
    BOOST_CHECK(keeps.call("mock").reused_connection);
  }
  http::client_options c;
  c.idle_timeout = 0ms;  // any idle time is too long
  mock_and_client closes(c);
  BOOST_REQUIRE(!closes.call("mock").ec);
  const auto e = run(closes.io, closes.client->evict_idle());
  BOOST_CHECK_EQUAL(e.connections_closed, 1u);
  BOOST_CHECK_EQUAL(e.origins_forgotten, 1u);
  BOOST_CHECK_EQUAL(e.origins_kept, 0u);
  // The server sees the connection closed; the next call opens a new one.
  auto again = closes.call("mock");
  BOOST_CHECK(!again.ec);
  BOOST_CHECK(!again.reused_connection);
}

BOOST_AUTO_TEST_CASE(a_connection_in_use_keeps_its_origin) {
  http::client_options c;
  c.idle_timeout = 0ms;
  mock_and_client lb(c);
  asio::cancellation_signal cancel;
  bool finished = false;
  asio::co_spawn(lb.io, lb.client->request(lb.base.where, chat(lb.base, "mock-hang")),
                 asio::bind_cancellation_slot(
                     cancel.slot(), [&](std::exception_ptr, http::response) { finished = true; }));
  BOOST_REQUIRE(
      conclave::test::pump_until(lb.io, [&] { return lb.server.stats().in_flight == 1; }));
  const auto during = run(lb.io, lb.client->evict_idle());
  BOOST_CHECK_EQUAL(during.connections_closed, 0u);
  BOOST_CHECK_EQUAL(during.origins_kept, 1u);
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(lb.io, [&] { return finished; }));
  const auto after = run(lb.io, lb.client->evict_idle());
  BOOST_CHECK_EQUAL(after.origins_forgotten, 1u);  // its slot came back closed
  BOOST_CHECK_EQUAL(after.origins_kept, 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_pool_upkeep
