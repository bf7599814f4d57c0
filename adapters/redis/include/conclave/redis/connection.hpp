// One Redis connection on the host's io_context. hiredis (0.14) writes commands and parses
// replies; Asio waits on its socket (hiredis's event hooks arm async_wait), so there are no
// threads of its own and no blocking call. Beyond hiredis, it adds what a service needs:
//   - connect and command deadlines (hiredis 0.14 has none);
//   - reconnect with exponential backoff after any break, for as long as it is open;
//   - commands issued while it reconnects wait for the next attempt (within their deadline);
//   - pipelining for free: commands issued back to back are written together, replies come
//     back in order.
// A command whose connection breaks after it was sent fails with `disconnected` (it may have
// run: only the caller knows whether it is safe to repeat). A command that passes its deadline
// fails with `timeout`, and the connection is reopened (a hung or half-open peer would keep
// every later command waiting too).
//
// Loopback or a private network only: no TLS (see endpoint).
//
// Thread safety: every member may be called from any thread; the state lives on an internal
// strand of the given executor.
#pragma once

#include <conclave/redis/reply.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace conclave::redis {

struct connection_options {
  endpoint where;                                   ///< the server (parse_url reads a URL)
  std::chrono::milliseconds connect_timeout{2000};  ///< name lookup, TCP connect, AUTH, SELECT
  std::chrono::milliseconds command_timeout{2000};  ///< from issue to reply, per command
  std::chrono::milliseconds backoff_initial{50};    ///< first wait before reconnecting
  std::chrono::milliseconds backoff_max{2000};      ///< waits double up to this
  std::size_t max_pending = 10'000;                 ///< commands issued and not answered, at most
};

struct connection_stats {
  std::uint64_t connects = 0;  ///< connections made (the first and every reconnect)
  std::uint64_t connect_failures = 0;
  std::uint64_t commands = 0;  ///< commands completed, well or not
  std::uint64_t timeouts = 0;  ///< commands that passed their deadline
  bool connected = false;
};

class connection {
 public:
  using command_signature = void(boost::system::error_code, reply);

  /// Connects on first use. Nothing happens on the network before a command is issued.
  connection(boost::asio::any_io_executor ex, connection_options opts);
  /// Closes (see close()). Destroy it before its io_context, and only once the operations of
  /// the objects built on it (shared_limiter, task_queue) have completed or will never run.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Sends one command ({"SET", "k", "v"}; arguments are binary-safe) and completes with its
  /// reply. An error reply completes with server_error and the reply holding the server's
  /// words; a failure of the connection with its error code and a reply of kind error saying
  /// what happened. Terminal cancellation (the handler's slot) completes it at once with
  /// operation_aborted; the reply, when it comes, is dropped.
  template <typename CompletionToken>
  auto async_command(std::vector<std::string> args, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, command_signature>(
        [this](auto handler, std::vector<std::string> a) {
          start_command(std::move(a),
                        boost::asio::any_completion_handler<command_signature>(std::move(handler)));
        },
        token, std::move(args));
  }

  /// Stops for good, from any thread: commands not yet sent (and any issued later) complete
  /// with `closed`; those already sent get their reply (or their deadline), then the socket
  /// closes and no reconnect follows, so the io_context runs out of work. The destructor
  /// does this.
  void close();

  /// The executor given at construction: where completions run when their handler has none.
  boost::asio::any_io_executor get_executor() const noexcept;

  connection_stats stats() const;
  const connection_options& options() const noexcept;

  struct impl;

 private:
  void start_command(std::vector<std::string> args,
                     boost::asio::any_completion_handler<command_signature> handler);
  std::shared_ptr<impl> impl_;
};

}  // namespace conclave::redis
