// Every configured MCP server, started once and offered to agents as conclave tools.
//
//   std::vector<mcp::server_config> servers;
//   std::string why;
//   if (!mcp::load_config("mcp.json", servers, why)) fail(why);
//   mcp::host tools_host(ex);                    // or mcp::host(ex, &http_client)
//   auto [ec, why2] = co_await tools_host.async_start(servers, as_tuple(use_awaitable));
//   if (ec) fail(why2);                          // names the server, with its stderr tail
//   auto tools = tools_host.tools();             // hand to agents
//   ...
//   co_await tools_host.async_shutdown(use_awaitable);
#pragma once

#include <conclave/engine/tool.hpp>
#include <conclave/mcp/client.hpp>
#include <conclave/mcp/config.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace conclave::http {
class client;
}

namespace conclave::mcp {

/// Conclave tools for `tools` of server `c`: each named `<server>__<tool>` (see naming.hpp,
/// `taken` de-duplicates across servers), calling the server's tool by its own name.
std::vector<std::shared_ptr<tool>> make_tools(const std::shared_ptr<client>& c,
                                              const std::vector<remote_tool>& tools,
                                              std::set<std::string>& taken);

struct host_options {
  /// Each server's start (spawn, initialize, tools/list) must finish in this time.
  std::chrono::milliseconds start_timeout{30'000};
};

/// Owns one client per server. Not thread-safe itself: start, read tools() and shut down from
/// one place (the tools it made may be invoked from any thread). The host must outlive its
/// async_start and async_shutdown; tools may outlive the host (after ~host their calls fail
/// with connection_failed).
class host {
 public:
  using start_signature = void(boost::system::error_code, std::string why);

  /// `http` serves the url servers and must outlive the host; null: the host makes its own
  /// (with default options) when a url server is configured.
  explicit host(boost::asio::any_io_executor ex, http::client* http = nullptr,
                host_options opts = {});
  ~host();  ///< kills and reaps every server still running
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  boost::asio::any_io_executor get_executor() const { return ex_; }

  /// Starts every server concurrently (connect, then tools/list). Completes with
  /// (error_code, why) once all are done: on failure, the code of the first failing server
  /// (in config order) and `why` naming each failing server with its reason and stderr tail.
  /// Servers that started stay up and their tools are offered (the caller decides whether
  /// to continue or shut down). Call once. Cancellation: terminal (the starts are abandoned,
  /// completing with error::cancelled).
  template <typename CompletionToken>
  auto async_start(std::vector<server_config> servers, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, start_signature>(
        [this](auto h, std::vector<server_config> s) { start(std::move(s), std::move(h)); }, token,
        std::move(servers));
  }

  /// The tools of every server that started, in config order.
  std::vector<std::shared_ptr<tool>> tools() const { return tools_; }
  /// The clients of the servers that started (e.g. for their pids or info()).
  const std::vector<std::shared_ptr<client>>& clients() const { return clients_; }

  /// Closes every client concurrently (stdio servers get EOF, 2 s, then SIGKILL; all are
  /// reaped). Completes with () and never fails. Tools invoked afterwards fail with
  /// connection_failed.
  template <typename CompletionToken>
  auto async_shutdown(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void()>(
        [this](auto h) { shutdown(std::move(h)); }, token);
  }

 private:
  void start(std::vector<server_config> servers,
             boost::asio::any_completion_handler<start_signature> h);
  void shutdown(boost::asio::any_completion_handler<void()> h);

  boost::asio::any_io_executor ex_;
  http::client* http_;
  std::unique_ptr<http::client> own_http_;
  host_options opts_;
  std::vector<std::shared_ptr<client>> all_;      // every client made, for shutdown and ~host
  std::vector<std::shared_ptr<client>> clients_;  // those that started
  std::vector<std::shared_ptr<tool>> tools_;
};

}  // namespace conclave::mcp
