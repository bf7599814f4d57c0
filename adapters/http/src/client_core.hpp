// What every request of one client shares: its options, its connection pool and its TLS
// context. Internal to adapters/http.
#pragma once

#include "connection.hpp"
#include "pool.hpp"

#include <conclave/http/client.hpp>

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

  client_options opts;
  std::shared_ptr<pool> connections;
  std::once_flag tls_made;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::string tls_error;  // why `tls` could not be made
};

}  // namespace conclave::http::detail
