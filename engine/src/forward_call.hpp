// How a decorator model hands a call to the model it wraps: with a plain completion, which
// holds no coroutine frame while the call is out.
#pragma once

#include <conclave/engine/model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>

#include <utility>

namespace conclave::detail {

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
