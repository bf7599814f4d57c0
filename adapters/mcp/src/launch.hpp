// The template front's bridge to a coroutine body (private): run an awaitable on an executor
// and complete an Asio handler with what it returned, on the handler's own executor, with the
// handler's cancellation slot reaching the coroutine.
#pragma once

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <string>

namespace conclave::mcp::detail {

/// `deliver(handler, exception_ptr, result)` completes the handler.
template <typename Executor, typename Result, typename Handler, typename Deliver>
void launch(const Executor& where, boost::asio::awaitable<Result> op, Handler h, Deliver deliver) {
  auto slot = boost::asio::get_associated_cancellation_slot(h);
  auto ex = boost::asio::get_associated_executor(h, where);
  boost::asio::co_spawn(
      where, std::move(op),
      boost::asio::bind_cancellation_slot(
          slot, boost::asio::bind_executor(
                    ex, [h = std::move(h), deliver](std::exception_ptr e, Result r) mutable {
                      deliver(std::move(h), e, std::move(r));
                    })));
}

/// The words of an exception (programmer errors that escaped a coroutine).
inline std::string what_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace conclave::mcp::detail
