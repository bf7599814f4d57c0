// Runs a model call's coroutine on `ex` and completes a model::completion_handler with its
// result, the handler's cancellation slot wired to the coroutine. An exception (a bug below)
// still completes the handler, as internal_error: a call is never lost.
#pragma once

#include <conclave/engine/error.hpp>
#include <conclave/engine/model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>

#include <string>
#include <tuple>

namespace conclave::detail {

using call_outcome_tuple = std::tuple<boost::system::error_code, chat_response>;

inline void spawn_call(boost::asio::any_io_executor ex,
                       boost::asio::awaitable<call_outcome_tuple> call,
                       model::completion_handler handler, const char* who) {
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  boost::asio::co_spawn(
      ex, std::move(call),
      boost::asio::bind_cancellation_slot(
          slot,
          [h = std::move(handler), who](std::exception_ptr bug, call_outcome_tuple r) mutable {
            if (bug) {
              std::get<0>(r) = error::internal_error;
              std::get<1>(r).diag.message = std::string("internal error in ") + who;
            }
            std::move(h)(std::get<0>(r), std::move(std::get<1>(r)));
          }));
}

}  // namespace conclave::detail
