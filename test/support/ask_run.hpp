// Runs one ask on a test's io_context to completion (bounded), collecting every event.
#pragma once

#include "run.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/progress.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::test {

struct ask_result {
  boost::system::error_code ec;
  run_report report;
  std::vector<event> events;
};

/// Runs one ask on `io` to completion (bounded), collecting every event; `cancel` (when
/// connected) is the ask's cancellation slot.
inline ask_result ask(boost::asio::io_context& io, engine& e, const std::string& question,
                      ask_options opts, boost::asio::cancellation_slot cancel,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto result = std::make_shared<ask_result>();
  opts.observers.push_back(
      [result](const event& ev, const progress_map&) { result->events.push_back(ev); });
  bool done = false;
  async_ask(e, question, std::move(opts),
            boost::asio::bind_cancellation_slot(
                cancel, [&, result](boost::system::error_code ec, run_report r) {
                  result->ec = ec;
                  result->report = std::move(r);
                  done = true;
                }));
  BOOST_REQUIRE_MESSAGE(pump_until(
                            io, [&] { return done; }, limit),
                        "the ask did not finish");
  return *result;
}

inline ask_result ask(boost::asio::io_context& io, engine& e, const std::string& question,
                      ask_options opts,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  return ask(io, e, question, std::move(opts), boost::asio::cancellation_slot(), limit);
}

}  // namespace conclave::test
