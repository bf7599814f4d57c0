// The Redis connection against a real redis-server on loopback (started and stopped by PID):
// reply kinds, binary safety, pipelining order, deadlines, a refused connect, a restart with
// reconnect, cancellation, AUTH, and the pending bound.
#include "redis_server.hpp"

#include <conclave/redis/connection.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

namespace redis_test_connection {

namespace asio = boost::asio;
using conclave::redis::connection;
using conclave::redis::connection_options;
using conclave::redis::reply;
namespace rerr = conclave::redis;

struct result {
  boost::system::error_code ec;
  reply value;
};

connection_options options_for(const conclave::test::redis_server& server) {
  connection_options o;
  o.where = *conclave::redis::parse_url(server.url());
  return o;
}

/// Issues one command and drives the io_context until it completes.
result run(asio::io_context& ioc, connection& c, std::vector<std::string> args) {
  std::optional<result> out;
  c.async_command(std::move(args), [&](boost::system::error_code ec, reply r) {
    out = result{ec, std::move(r)};
  });
  while (!out)
    if (ioc.run_one() == 0) BOOST_FAIL("the io_context ran out of work before the reply");
  return *out;
}

BOOST_AUTO_TEST_SUITE(redis_connection)

BOOST_AUTO_TEST_CASE(each_reply_kind_comes_back_as_a_value) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  connection c(ioc.get_executor(), options_for(server));

  auto set = run(ioc, c, {"SET", "k", std::string("a\0b\r\nc", 6)});
  BOOST_TEST(!set.ec);
  BOOST_TEST((set.value.type == reply::kind::status));
  BOOST_TEST(set.value.text == "OK");

  auto get = run(ioc, c, {"GET", "k"});
  BOOST_TEST((get.value.type == reply::kind::string));
  BOOST_TEST(get.value.text == std::string("a\0b\r\nc", 6));  // binary-safe both ways

  BOOST_TEST(run(ioc, c, {"GET", "missing"}).value.is_nil());
  auto incr = run(ioc, c, {"INCRBY", "n", "41"});
  BOOST_TEST(incr.value.integer == 41);
  BOOST_TEST(*incr.value.as_integer() == 41);

  run(ioc, c, {"RPUSH", "l", "x", "y"});
  auto range = run(ioc, c, {"LRANGE", "l", "0", "-1"});
  BOOST_TEST((range.value.type == reply::kind::array));
  BOOST_TEST_REQUIRE(range.value.elements.size() == 2u);
  BOOST_TEST(range.value.elements[1].text == "y");

  auto wrong = run(ioc, c, {"INCR", "l"});
  BOOST_TEST((wrong.ec == rerr::error::server_error));
  BOOST_TEST(wrong.value.text.starts_with("WRONGTYPE"));

  auto unknown = run(ioc, c, {"NO-SUCH-COMMAND"});
  BOOST_TEST((unknown.ec == rerr::error::server_error));
  BOOST_TEST((run(ioc, c, {}).ec == rerr::error::server_error));  // empty: refused, not sent
  auto subscribe = run(ioc, c, {"subscribe", "ch"});              // would answer more than once
  BOOST_TEST((subscribe.ec == rerr::error::server_error));
  BOOST_TEST(subscribe.value.text.find("not supported") != std::string::npos);
  BOOST_TEST(run(ioc, c, {"PING"}).value.text == "PONG");  // and the connection is as it was
  BOOST_TEST(c.stats().connects == 1u);
}

BOOST_AUTO_TEST_CASE(commands_issued_back_to_back_are_pipelined_in_order) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  connection c(ioc.get_executor(), options_for(server));
  constexpr int n = 2000;
  std::vector<std::int64_t> seen;
  for (int i = 0; i < n; ++i)
    c.async_command({"INCR", "counter"}, [&](boost::system::error_code ec, reply r) {
      BOOST_TEST(!ec);
      seen.push_back(r.integer);
    });
  while (seen.size() < n)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  for (int i = 0; i < n; ++i) BOOST_TEST_REQUIRE(seen[i] == i + 1);
  BOOST_TEST(c.stats().connects == 1u);  // one connection carried them all
}

BOOST_AUTO_TEST_CASE(a_refused_connect_is_named_and_fails_the_command_at_once) {
  std::uint16_t port = 0;
  {
    conclave::test::redis_server server;  // take a port, then free it
    port = server.port();
  }
  asio::io_context ioc;
  connection_options o;
  o.where.port = port;
  connection c(ioc.get_executor(), o);
  auto r = run(ioc, c, {"PING"});
  BOOST_TEST((r.ec == rerr::error::connect_failed));
  BOOST_TEST(r.value.text.find("refused") != std::string::npos, r.value.text);
  BOOST_TEST(r.value.text.find(std::to_string(port)) != std::string::npos, r.value.text);
}

BOOST_AUTO_TEST_CASE(a_command_past_its_deadline_times_out_and_the_connection_reopens) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  auto o = options_for(server);
  o.command_timeout = std::chrono::milliseconds(150);
  connection c(ioc.get_executor(), o);
  BOOST_TEST(!run(ioc, c, {"SET", "k", "v"}).ec);
  // BLPOP on an empty list with no timeout: the server holds the reply forever.
  auto blocked = run(ioc, c, {"BLPOP", "empty", "0"});
  BOOST_TEST((blocked.ec == rerr::error::timeout));
  BOOST_TEST(blocked.value.text.find("150 ms") != std::string::npos, blocked.value.text);
  auto after = run(ioc, c, {"GET", "k"});  // on a new connection
  BOOST_TEST(!after.ec);
  BOOST_TEST(after.value.text == "v");
  BOOST_TEST(c.stats().timeouts == 1u);
  BOOST_TEST(c.stats().connects == 2u);

  // A command issued from the failed one's handler, while the old link is still going: it
  // waits for the next link (it once reached a freed hiredis context).
  std::optional<result> retried;
  c.async_command({"BLPOP", "empty", "0"}, [&](boost::system::error_code ec, reply) {
    BOOST_TEST((ec == rerr::error::timeout));
    c.async_command({"GET", "k"}, [&](boost::system::error_code ec2, reply r) {
      retried = result{ec2, std::move(r)};
    });
  });
  while (!retried)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  BOOST_TEST(!retried->ec, retried->value.text);
  BOOST_TEST(retried->value.text == "v");
}

BOOST_AUTO_TEST_CASE(close_lets_the_io_context_run_out_even_after_a_cancelled_command) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  connection c(ioc.get_executor(), options_for(server));
  asio::cancellation_signal cancel;
  bool cancelled = false;
  c.async_command(
      {"BLPOP", "empty", "0"},
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, reply) {
        cancelled = ec == asio::error::operation_aborted;
      }));
  ioc.poll();
  cancel.emit(asio::cancellation_type::terminal);
  c.close();
  ioc.run();  // returns: no one awaits the blocked reply, so the socket closes
  BOOST_TEST(cancelled);
  BOOST_TEST(!c.stats().connected);
}

BOOST_AUTO_TEST_CASE(commands_wait_for_auth_and_select_and_never_run_when_they_fail) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  auto bad_db = options_for(server);
  bad_db.where.db = 99;  // out of range: SELECT fails
  connection c(ioc.get_executor(), bad_db);
  auto r = run(ioc, c, {"INCR", "k"});
  BOOST_TEST((r.ec == rerr::error::auth_failed), r.ec.message());
  BOOST_TEST(r.value.text.find("DB index") != std::string::npos, r.value.text);
  connection db0(ioc.get_executor(), options_for(server));
  BOOST_TEST(run(ioc, db0, {"GET", "k"}).value.is_nil());  // the INCR never ran anywhere
  BOOST_TEST(c.stats().connects == 0u);                    // never ready
  BOOST_TEST(c.stats().connect_failures >= 1u);
}

BOOST_AUTO_TEST_CASE(a_server_restart_mid_run_fails_what_was_waiting_then_reconnects) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  connection c(ioc.get_executor(), options_for(server));
  BOOST_TEST(!run(ioc, c, {"SET", "kept", "1"}).ec);

  // A command in flight when the server goes: it fails, saying so.
  std::optional<result> in_flight;
  c.async_command({"BLPOP", "empty", "0"}, [&](boost::system::error_code ec, reply r) {
    in_flight = result{ec, std::move(r)};
  });
  ioc.poll();            // written
  server.stop(SIGTERM);  // a clean shutdown: the AOF keeps "kept"
  while (!in_flight)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  BOOST_TEST((in_flight->ec == rerr::error::disconnected), in_flight->ec.message());

  // While it is down: a clear failure, not a hang.
  auto down = run(ioc, c, {"GET", "kept"});
  BOOST_TEST((down.ec == rerr::error::connect_failed), down.ec.message());

  server.start();  // same port, same directory
  auto back = run(ioc, c, {"GET", "kept"});
  BOOST_TEST(!back.ec, back.value.text);
  BOOST_TEST(back.value.text == "1");
  BOOST_TEST(c.stats().connects >= 2u);
}

BOOST_AUTO_TEST_CASE(terminal_cancellation_completes_the_command_at_once) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  connection c(ioc.get_executor(), options_for(server));
  asio::cancellation_signal cancel;
  std::optional<result> blocked;
  c.async_command(
      {"BLPOP", "empty", "0"},
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, reply r) {
        blocked = result{ec, std::move(r)};
      }));
  ioc.poll();
  cancel.emit(asio::cancellation_type::terminal);
  while (!blocked)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  BOOST_TEST((blocked->ec == asio::error::operation_aborted));
  // The connection still works: the blocked reply is dropped when (if) it comes. Unblock it
  // from a second connection, then check the first one's next reply is its own.
  connection other(ioc.get_executor(), options_for(server));
  BOOST_TEST(!run(ioc, other, {"RPUSH", "empty", "late"}).ec);
  auto mine = run(ioc, c, {"ECHO", "mine"});
  BOOST_TEST(mine.value.text == "mine");
}

BOOST_AUTO_TEST_CASE(a_wrong_password_is_refused_at_connect_and_the_right_one_works) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  {
    connection admin(ioc.get_executor(), options_for(server));
    BOOST_TEST(!run(ioc, admin, {"CONFIG", "SET", "requirepass", "s3cret"}).ec);
  }
  auto wrong = options_for(server);
  wrong.where.password = "nope";
  connection bad(ioc.get_executor(), wrong);
  auto refused = run(ioc, bad, {"PING"});
  BOOST_TEST((refused.ec == rerr::error::auth_failed), refused.ec.message());
  BOOST_TEST(refused.value.text.find("nope") == std::string::npos);  // never echoed

  connection none(ioc.get_executor(), options_for(server));  // no password at all
  auto missing = run(ioc, none, {"PING"});
  BOOST_TEST((missing.ec == rerr::error::server_error));
  BOOST_TEST(missing.value.text.find("wants a password") != std::string::npos, missing.value.text);

  auto right = options_for(server);
  right.where = *conclave::redis::parse_url(
      "redis://:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/2");
  connection good(ioc.get_executor(), right);
  BOOST_TEST(!run(ioc, good, {"SET", "in-db-2", "x"}).ec);
  auto db = run(ioc, good, {"CLIENT", "INFO"});
  BOOST_TEST(db.value.text.find("db=2") != std::string::npos, db.value.text);
}

BOOST_AUTO_TEST_CASE(past_max_pending_a_command_is_refused_not_queued) {
  conclave::test::redis_server server;
  asio::io_context ioc;
  auto o = options_for(server);
  o.max_pending = 2;
  connection c(ioc.get_executor(), o);
  std::vector<boost::system::error_code> codes;
  for (int i = 0; i < 3; ++i)
    c.async_command({"PING"}, [&](boost::system::error_code ec, reply) { codes.push_back(ec); });
  while (codes.size() < 3)
    if (ioc.run_one() == 0) BOOST_FAIL("ran out of work");
  BOOST_TEST((codes[0] == rerr::error::too_many_pending));  // refused at once, before the two
  BOOST_TEST(!codes[1]);
  BOOST_TEST(!codes[2]);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(redis_url)

BOOST_AUTO_TEST_CASE(urls_are_read_and_the_password_never_echoed) {
  auto e = conclave::redis::parse_url("redis://user:p%40ss@10.0.0.7:6380/3");
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(e->host == "10.0.0.7");
  BOOST_TEST(e->port == 6380);
  BOOST_TEST(e->username == "user");
  BOOST_TEST(e->password == "p@ss");
  BOOST_TEST(e->db == 3);
  BOOST_TEST(conclave::redis::describe(*e) == "redis://10.0.0.7:6380/3");
  auto v6 = conclave::redis::parse_url("redis://[::1]");
  BOOST_TEST_REQUIRE(v6.has_value());
  BOOST_TEST(v6->host == "::1");
  BOOST_TEST(v6->port == 6379);

  for (const char* bad : {"rediss://h", "http://h", "redis://", "redis://h:0", "redis://h:99999",
                          "redis://h/x", "redis://h?db=1", "not a url", "redis://user@h"}) {
    std::string why;
    BOOST_TEST(!conclave::redis::parse_url(bad, &why).has_value(), bad);
    BOOST_TEST(!why.empty());
  }
  std::string why;
  conclave::redis::parse_url("redis://:hunter2@h:bad", &why);
  BOOST_TEST(why.find("hunter2") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace redis_test_connection
