// How a client's messages reach one server and come back (private to the library). The client
// owns one transport; every member is called on the client's strand and the callbacks run
// there too.
#pragma once

#include <conclave/mcp/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace conclave::http {
class client;
}

namespace conclave::mcp::detail {

using strand = boost::asio::strand<boost::asio::any_io_executor>;

class transport {
 public:
  /// One JSON-RPC message (or batch) as text.
  using message_fn = std::function<void(std::string_view)>;
  /// The connection ended on its own (the server exited, a read failed): why, in plain words.
  using closed_fn = std::function<void(boost::system::error_code, std::string)>;

  virtual ~transport() = default;

  /// Starts the connection (spawns the server for stdio). False with `why` when it cannot.
  virtual boost::asio::awaitable<boost::system::error_code> open(message_fn on_message,
                                                                 closed_fn on_closed,
                                                                 std::string& why) = 0;

  /// Sends one message. stdio queues the line and returns at once; HTTP POSTs it and hands
  /// the reply's messages to on_message before returning. Honours terminal cancellation.
  virtual boost::asio::awaitable<boost::system::error_code> send(std::string message,
                                                                 std::string& why) = 0;

  /// True when send() returns only after the reply was read (HTTP): a request whose response
  /// is not among it will never get one (we do not resume streams).
  virtual bool replies_within_send() const noexcept { return false; }

  /// After initialize: the version to announce on later requests (HTTP header).
  virtual void set_protocol_version(std::string) {}

  /// Ends the connection politely (stdio: EOF on stdin, a grace period, then SIGKILL, and the
  /// child reaped; HTTP: DELETE of the session). Idempotent.
  virtual boost::asio::awaitable<void> close() = 0;

  /// Last resort for destructors: kill and reap now, synchronously. Idempotent.
  virtual void kill_now() noexcept {}

  /// The server's own words (stdio: the tail of its stderr), for error messages; may be "".
  virtual std::string stderr_tail() const { return {}; }

  /// The child's pid (stdio), 0 otherwise or once reaped.
  virtual int pid() const noexcept { return 0; }
};

std::shared_ptr<transport> make_stdio_transport(strand ex, const server_config& config);
std::shared_ptr<transport> make_http_transport(strand ex, http::client& http,
                                               const server_config& config);

}  // namespace conclave::mcp::detail
