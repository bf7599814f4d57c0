// Drives an io_context for a test: run a coroutine to its end (bounded in time, never a
// sleep), pump until a condition holds, and check that nothing is left running afterwards.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>

namespace conclave::test {

/// Runs handlers until `done()` is true or `limit` passes; returns done().
inline bool pump_until(boost::asio::io_context& io, const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    io.restart();
    io.run_one_for(deadline - now);
  }
  return true;
}

/// Runs `op` on `io` to completion and returns its value (rethrowing its exception). Fails the
/// test if it does not finish within `limit`.
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> op,
      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::optional<T> value;
  std::exception_ptr error;
  bool finished = false;
  boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value.emplace(std::move(v));
    finished = true;
  });
  BOOST_REQUIRE_MESSAGE(pump_until(
                            io, [&] { return finished; }, limit),
                        "operation did not finish in time");
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

/// After a test: lets pending handlers finish and checks that the context runs out of work,
/// i.e. no operation was leaked. Stop servers before calling this.
inline void expect_no_leftover_work(boost::asio::io_context& io,
                                    std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  io.restart();
  io.run_for(limit);
  BOOST_CHECK_MESSAGE(io.stopped(), "work was still pending after the test");
}

}  // namespace conclave::test
