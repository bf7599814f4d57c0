// One connection to one MCP server (tools only): connect (start the server or reach its URL,
// initialize), list its tools, call them, close. Requests are multiplexed by JSON-RPC id, so
// many agents may call tools on one client at once.
#pragma once

#include <conclave/engine/tool.hpp>
#include <conclave/mcp/config.hpp>
#include <conclave/mcp/protocol.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace conclave::http {
class client;
}

namespace conclave::mcp {

namespace detail {
class transport;
struct waiter;
}  // namespace detail

/// Thread safety: every operation may be started from any thread; the client's state lives
/// on its own strand (get_executor()), where its operations run. Handlers complete on their
/// associated executor (else the client's). Keep the client in a shared_ptr (create()); its
/// operations keep it alive while they run.
class client : public std::enable_shared_from_this<client> {
 public:
  using connect_signature = void(boost::system::error_code, std::string why);
  using list_signature = void(boost::system::error_code, std::vector<remote_tool>, std::string why);
  using call_signature = tool::invoke_signature;  // (error_code, tool_output)
  using close_signature = void();

  /// A client for `config`: stdio when config.command is set, Streamable HTTP (over `http`,
  /// which must then be non-null and outlive the client) when config.url is.
  static std::shared_ptr<client> create(boost::asio::any_io_executor ex, server_config config,
                                        http::client* http = nullptr);
  ~client();  ///< kills and reaps a server still running (synchronously)

  boost::asio::any_io_executor get_executor() const { return strand_; }
  const server_config& config() const noexcept { return config_; }
  /// What initialize returned (after a successful connect).
  const server_info& info() const noexcept { return info_; }
  /// The server's stderr tail (stdio); call from the strand or when no operation runs.
  std::string stderr_tail() const;
  /// The child's pid for stdio (0 before connect and once reaped).
  int pid() const noexcept;

  /// Starts the server (or checks the URL), sends initialize, checks the protocol version and
  /// sends notifications/initialized. Completes with (error_code, why): why names what failed
  /// and carries the server's stderr tail. Cancellation: terminal.
  template <typename CompletionToken>
  auto async_connect(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, connect_signature>(
        [self = shared_from_this()](auto h) { self->start_connect(std::move(h)); }, token);
  }

  /// tools/list, following nextCursor (at most max_tool_pages pages and max_tools tools).
  /// Completes with (error_code, tools, why). Cancellation: terminal.
  template <typename CompletionToken>
  auto async_list_tools(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, list_signature>(
        [self = shared_from_this()](auto h) { self->start_list(std::move(h)); }, token);
  }

  /// tools/call of the server's tool `name` with `arguments` (JSON text of an object).
  /// Completes with (error_code, tool_output): a tool's own failure (isError, or a JSON-RPC
  /// error) is an is_error output with no error_code; an error_code (connection_failed,
  /// bad_response, cancelled...) means the call could not be made, with the reason in the
  /// output's content. Cancellation: terminal; the call is abandoned at once and the server
  /// told (notifications/cancelled, best effort).
  template <typename CompletionToken>
  auto async_call_tool(std::string name, std::string arguments, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, call_signature>(
        [self = shared_from_this()](auto h, std::string n, std::string a) {
          self->start_call(std::move(n), std::move(a), std::move(h));
        },
        token, std::move(name), std::move(arguments));
  }

  /// Fails what is still waiting (cancelled), then ends the connection: stdio closes the
  /// server's stdin, gives it 2 s to exit, then SIGKILL, and reaps it; HTTP deletes the
  /// session. Idempotent; never fails.
  template <typename CompletionToken>
  auto async_close(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, close_signature>(
        [self = shared_from_this()](auto h) { self->start_close(std::move(h)); }, token);
  }

  /// Kills and reaps the server now, synchronously (for destructors and emergencies).
  void kill() noexcept;

  /// Use create(): the client must live in a shared_ptr (public only for make_shared).
  client(boost::asio::any_io_executor ex, server_config config, http::client* http);

 private:
  void start_connect(boost::asio::any_completion_handler<connect_signature> h);
  void start_list(boost::asio::any_completion_handler<list_signature> h);
  void start_call(std::string name, std::string arguments,
                  boost::asio::any_completion_handler<call_signature> h);
  void start_close(boost::asio::any_completion_handler<close_signature> h);

  struct ops;  // the coroutines, in client.cpp
  friend struct ops;

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  server_config config_;
  http::client* http_;
  std::shared_ptr<detail::transport> transport_;
  server_info info_;
  std::map<std::int64_t, std::shared_ptr<detail::waiter>> pending_;
  std::int64_t next_id_ = 1;
  bool connected_ = false;
  bool closed_ = false;
  std::string closed_why_;
};

}  // namespace conclave::mcp
