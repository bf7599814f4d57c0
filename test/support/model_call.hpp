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
  std::string deltas;                              ///< every streamed piece, in order
  int delta_count = 0;                             ///< how many pieces
  std::vector<std::string> tool_fragment_strings;  ///< each fragment as "id|name|arguments"
};

inline call_result complete(boost::asio::io_context& io, model& m, chat_request req) {
  auto out = std::make_shared<call_result>();
  bool finished = false;
  m.async_complete(
      std::move(req),
      [out](const chat_delta& d) {
        if (const auto* t = std::get_if<text_delta>(&d)) {
          out->deltas += t->text;
          ++out->delta_count;
        } else if (const auto* c = std::get_if<tool_call_delta>(&d)) {
          out->tool_fragment_strings.push_back(std::string(c->id) + "|" + std::string(c->name) +
                                               "|" + std::string(c->arguments));
        }
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
