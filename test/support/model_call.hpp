// One model call driven to completion on a test's io_context, with its streamed deltas.
#pragma once

#include "run.hpp"

#include <conclave/engine/model.hpp>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace conclave::test {

struct call_result {
  boost::system::error_code ec;
  chat_response response;
  std::string deltas;   ///< every streamed piece, in order
  int delta_count = 0;  ///< how many pieces
};

inline call_result complete(boost::asio::io_context& io, model& m, chat_request req) {
  auto out = std::make_shared<call_result>();
  bool finished = false;
  m.async_complete(
      std::move(req),
      [out](std::string_view d) {
        out->deltas += d;
        ++out->delta_count;
      },
      [&finished, out](boost::system::error_code ec, chat_response r) {
        out->ec = ec;
        out->response = std::move(r);
        finished = true;
      });
  BOOST_REQUIRE(pump_until(io, [&] { return finished; }));
  return *out;
}

}  // namespace conclave::test
