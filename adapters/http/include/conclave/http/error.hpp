// Transport failures that are neither socket nor OpenSSL errors. Everything else the client
// reports is Asio's, Beast's or OpenSSL's own code, unchanged.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace conclave::http {

enum class error {
  tls_config_invalid = 1,      ///< the client's TLS settings are unusable (e.g. CA file unreadable)
  unsafe_request,              ///< a header value or the target holds a control character: not sent
  too_many_interim_responses,  ///< the server sent 1xx interim responses without end
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace conclave::http

namespace boost::system {
template <>
struct is_error_code_enum<conclave::http::error> : std::true_type {};
}  // namespace boost::system
