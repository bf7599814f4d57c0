// One plain command to a test's redis-server on a fresh connection: the test's own view of
// (and hand in) the keys the code under test keeps.
#pragma once

#include "redis_server.hpp"

#include <conclave/redis/connection.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace conclave::test {

/// The reply to `args` (a failure fails the test).
inline redis::reply redis_command(const redis_server& s, std::vector<std::string> args) {
  boost::asio::io_context ioc;
  redis::connection_options o;
  o.where.port = s.port();
  redis::connection c(ioc.get_executor(), o);
  redis::reply out;
  c.async_command(std::move(args), [&](boost::system::error_code ec, redis::reply r) {
    BOOST_TEST(!ec, r.text);
    out = std::move(r);
    c.close();
  });
  ioc.run();
  return out;
}

}  // namespace conclave::test
