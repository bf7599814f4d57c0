// How a decorator model runs a call: as a coroutine (spawn_call), or handing it to the model
// it wraps with a plain completion (forward_call), which holds no coroutine frame while the
// call is out.
#pragma once

#include <conclave/engine/error.hpp>
#include <conclave/engine/model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include <string>
#include <tuple>

namespace conclave::detail {

using call_outcome_tuple = std::tuple<boost::system::error_code, chat_response>;

/// Runs a model call's coroutine on `ex` and completes `handler` with its result, the
/// handler's cancellation slot wired to the coroutine. An exception (a bug below) still
/// completes the handler, as internal_error: a call is never lost.
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

/// Sends `req` to `inner` and completes `handler` with its outcome once `after(ec, reply)`
/// has seen it (the decorator's bookkeeping; it must not throw). The handler's cancellation
/// slot reaches the inner call, which completes on `ex`. A coroutine here instead held a
/// frame of about 2 KiB for as long as the call was out, per decorator.
template <typename After>
void forward_call(model& inner, boost::asio::any_io_executor ex, chat_request req,
                  delta_handler on_delta, model::completion_handler handler, After after) {
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  inner.async_complete(
      std::move(req), std::move(on_delta),
      boost::asio::bind_cancellation_slot(
          slot, boost::asio::bind_executor(
                    std::move(ex), [h = std::move(handler), after = std::move(after)](
                                       boost::system::error_code ec, chat_response r) mutable {
                      after(ec, r);
                      std::move(h)(ec, std::move(r));
                    })));
}

}  // namespace conclave::detail
