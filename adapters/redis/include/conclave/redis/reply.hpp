// What a Redis command gives back, where the server is, and the adapter's own errors. Plain
// values: no hiredis type leaks out of the library.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace conclave::redis {

enum class error {
  bad_url = 1,       ///< a redis:// URL that cannot be read
  connect_failed,    ///< the TCP connect (or the name lookup) failed
  connect_timeout,   ///< the connect did not finish within connect_timeout
  auth_failed,       ///< the server refused AUTH or SELECT
  disconnected,      ///< the connection broke with the command sent: it may or may not have run
  timeout,           ///< no reply within command_timeout (the connection is then reopened)
  server_error,      ///< the server answered with an error reply (its words in reply.text)
  too_many_pending,  ///< max_pending commands are waiting already
  closed,            ///< the connection was closed by its owner
  unexpected_reply,  ///< a reply of a shape the caller did not expect (a script's, say)
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// One reply, recursively. On a failed command the completion's reply is of kind `error` and
/// its text says what happened in words (the server's error, or "connection refused...").
struct reply {
  enum class kind { nil, string, status, integer, array, error };
  kind type = kind::nil;
  std::string text;             ///< string, status and error replies
  std::int64_t integer = 0;     ///< integer replies
  std::vector<reply> elements;  ///< array replies

  bool is_nil() const noexcept { return type == kind::nil; }
  /// An integer reply's value, or a string reply holding a decimal integer; else none.
  std::optional<std::int64_t> as_integer() const noexcept;
};

/// Where the server is. Only for loopback or a private network: hiredis 0.14 speaks neither TLS
/// nor anything but plain RESP2.
struct endpoint {
  std::string host = "127.0.0.1";  ///< an IP address, or a name looked up asynchronously
  std::uint16_t port = 6379;
  std::string username;  ///< ACL user (Redis 6+); empty: AUTH with the password alone
  std::string password;  ///< empty: no AUTH
  int db = 0;            ///< SELECTed on each connect when not 0
};

/// Reads "redis://[[user]:password@]host[:port][/db]" (percent-escapes decoded). On failure:
/// none, and `why` (when given) says what is wrong, never echoing the password.
std::optional<endpoint> parse_url(std::string_view url, std::string* why = nullptr);

/// "redis://host:port/db": for logs; the password is never shown.
std::string describe(const endpoint& e);

}  // namespace conclave::redis

namespace boost::system {
template <>
struct is_error_code_enum<conclave::redis::error> : std::true_type {};
}  // namespace boost::system
