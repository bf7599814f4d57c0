// What every request of one client shares: its options, its connection pool and its TLS
// context, and how a new connection is opened. Internal to adapters/http.
#pragma once

#include "connection.hpp"
#include "pool.hpp"

#include <conclave/http/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace conclave::http::detail {

struct client_core {
  client_core(boost::asio::any_io_executor ex, client_options o);

  /// Made on the first https connection: loading the system CA store costs tens of
  /// milliseconds of start-up that a plain-http client should not pay. Thread-safe; null (and
  /// `tls_error` says why) when it cannot be made.
  boost::asio::ssl::context* tls_context();

  /// A new connection to `where` (DNS, connect, TLS) in `out`, or the error and, in `detail`,
  /// plain words on it. `phase` names the step in progress, for a deadline's message.
  /// Cancellation: terminal, through the awaiting coroutine.
  boost::asio::awaitable<boost::system::error_code> open(const origin& where,
                                                         std::unique_ptr<connection>& out,
                                                         std::string& detail, std::string& phase);

  client_options opts;
  std::shared_ptr<pool> connections;
  std::once_flag tls_made;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::string tls_error;  // why `tls` could not be made
};

}  // namespace conclave::http::detail
