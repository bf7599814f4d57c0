// A mock server on a thread of its own, for a CLI process started by a test to reach.
#pragma once

#include <conclave/mock/mock_server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace conclave::test {

struct background_mock {
  explicit background_mock(conclave::mock::mock_options o = {})
      : server(io.get_executor(), std::move(o)), work(io.get_executor()) {
    server.start();
    thread = std::thread([this] { io.run(); });
  }
  ~background_mock() {
    server.stop();
    work.reset();
    thread.join();
  }
  boost::asio::io_context io;
  conclave::mock::mock_server server;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::thread thread;
};

}  // namespace conclave::test
