// The seam between the engine and a provider: one chat call, asynchronous, cancellable.
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <exception>
#include <functional>
#include <string>
#include <string_view>

namespace conclave {

/// Receives each piece of a streamed reply as it arrives: text, reasoning or a tool-call
/// fragment (called on the call's executor, in order; the views live only during the call).
using delta_handler = std::function<void(const chat_delta& delta)>;

/// A model endpoint. Implementations: adapters/openai, adapters/anthropic, and test fakes.
///
/// Thread safety: async_complete may be called concurrently from several threads; an
/// implementation protects its shared state itself.
class model {
 public:
  using completion_signature = void(boost::system::error_code, chat_response);
  using completion_handler = boost::asio::any_completion_handler<completion_signature>;

  virtual ~model() = default;

  /// "provider:model", for reports and events.
  virtual std::string describe() const = 0;

  /// The model a request naming `requested` reaches, for reports and events: a router says
  /// "provider:model" (aliases and its default provider resolved); decorators ask their inner
  /// model; by default, `requested` itself (empty: the model's default, unnamed).
  virtual std::string describe_model(std::string_view requested) const {
    return std::string(requested);
  }

  /// Where calls run when the completion handler has no associated executor.
  virtual boost::asio::any_io_executor get_executor() const = 0;

  /// Sends one chat request. Completes with (error_code, chat_response): on success the reply;
  /// on failure a conclave::error and the response's `diag` (status, provider message,
  /// retry-after) — and its `tokens`, so a failed or cut call still counts what it spent.
  /// `on_delta`, if set and `req.stream` is true, sees each piece of the streamed reply.
  ///
  /// The call runs on the handler's associated executor (a strand, for a multi-threaded
  /// io_context), else on get_executor().
  ///
  /// Cancellation: the handler's cancellation slot; terminal cancellation aborts the call and
  /// completes with error::cancelled. (Partial and total promise "no side effects", which a
  /// request already on the wire cannot give, so they are not honoured.)
  template <typename CompletionToken>
  auto async_complete(chat_request req, delta_handler on_delta, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, completion_signature>(
        [this](auto handler, chat_request r, delta_handler d) {
          boost::asio::any_io_executor ex =
              boost::asio::get_associated_executor(handler, get_executor());
          completion_handler h(std::move(handler));
          try {
            do_complete(ex, std::move(r), std::move(d), std::move(h));
          } catch (...) {
            // A bug below must not escape into the caller's io_context.run(): the call
            // completes with internal_error instead (unless the handler was already taken).
            if (h) complete_after_throw(ex, std::move(h), std::current_exception());
          }
        },
        token, std::move(req), std::move(on_delta));
  }

 protected:
  /// `ex` is where the call should run and complete. An implementation takes the handler
  /// (moves from it) when it takes the call on; should it throw before, the call completes
  /// with error::internal_error.
  virtual void do_complete(boost::asio::any_io_executor ex, chat_request req,
                           delta_handler on_delta, completion_handler&& handler) = 0;

  /// The reply for a call a bug ended (with error::internal_error): the exception's words.
  static chat_response internal_error_reply(std::exception_ptr what);

 private:
  /// Completes `h` on `ex` with error::internal_error and the exception's words.
  static void complete_after_throw(boost::asio::any_io_executor ex, completion_handler h,
                                   std::exception_ptr what);
};

}  // namespace conclave
