// The seam between an agent and a tool it may run: the host's own async functions, an MCP
// server's tools, or the built-ins. Shaped like `model`: a spec, and one async operation in
// Asio style (any completion token, the handler's executor, its cancellation slot).
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace conclave {

/// What a tool gave back: text for the model, and whether it is an error the model should see
/// (a tool that ran and said "no such file" completes with is_error, not with an error_code).
struct tool_output {
  std::string content;
  bool is_error = false;
};

/// A tool an agent may call.
///
/// Thread safety: async_invoke may be called concurrently (agents run on their own strands);
/// an implementation protects its shared state itself.
class tool {
 public:
  using invoke_signature = void(boost::system::error_code, tool_output);
  using invoke_handler = boost::asio::any_completion_handler<invoke_signature>;

  virtual ~tool() = default;

  /// Name, description and JSON Schema of the parameters, as offered to the model. Fixed for
  /// the tool's life.
  virtual const tool_spec& spec() const = 0;

  /// Where the tool runs when the handler has no associated executor.
  virtual boost::asio::any_io_executor get_executor() const = 0;

  /// Runs the tool on `arguments` (JSON text of an object, already checked against the
  /// schema's required fields by the agent). Completes with (error_code, tool_output): an
  /// error_code for a failure of the tool itself (its server died, it timed out); the agent
  /// turns either into an `is_error` result the model sees.
  ///
  /// The call runs on the handler's associated executor (the agent's strand), else on
  /// get_executor(). Cancellation: the handler's cancellation slot (terminal), which the agent
  /// connects to its deadline and the run's cancel.
  template <typename CompletionToken>
  auto async_invoke(std::string arguments, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, invoke_signature>(
        [this](auto handler, std::string args) {
          boost::asio::any_io_executor ex =
              boost::asio::get_associated_executor(handler, get_executor());
          invoke_handler h(std::move(handler));
          try {
            do_invoke(ex, std::move(args), std::move(h));
          } catch (...) {
            if (h) complete_after_throw(ex, std::move(h), std::current_exception());
          }
        },
        token, std::move(arguments));
  }

 protected:
  /// `ex` is where the call should run and complete; take (move from) the handler when the
  /// call is taken on. A throw before that completes the call with error::internal_error.
  virtual void do_invoke(boost::asio::any_io_executor ex, std::string arguments,
                         invoke_handler&& handler) = 0;

 private:
  static void complete_after_throw(boost::asio::any_io_executor ex, invoke_handler h,
                                   std::exception_ptr what);
};

/// A host tool from a coroutine: `body(arguments)` runs co_spawned on the agent's executor,
/// with the agent's cancellation slot (a cancelled tool sees operation_aborted from what it
/// awaits). An exception it throws becomes an `is_error` result with the exception's words.
/// `ex` is the fallback executor for callers without one.
std::shared_ptr<tool> make_tool(
    boost::asio::any_io_executor ex, tool_spec spec,
    std::function<boost::asio::awaitable<tool_output>(std::string arguments)> body);

}  // namespace conclave
