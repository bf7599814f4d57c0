#include <conclave/http/error.hpp>
#include <conclave/http/header_values.hpp>
#include <conclave/provider/http_errors.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace conclave::provider {

boost::system::error_code classify_transport(const http::response& r, diagnostics& diag) {
  const auto& ec = r.ec;
  diag.message = r.failure_detail.empty() ? ec.message() : r.failure_detail;
  if (ec == boost::beast::error::timeout || ec == asio::error::timed_out) return error::timeout;
  if (ec == asio::error::operation_aborted) return error::cancelled;
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
      ec == bhttp::error::buffer_overflow) {
    return error::response_too_large;
  }
  if (ec == http::error::unsafe_request) return error::bad_request;  // ours, never sent
  if (ec == http::error::too_many_interim_responses) return error::bad_response;
  if (ec == asio::ssl::error::stream_truncated) return error::connection_failed;
  if (ec.category() == asio::error::get_ssl_category() || ec == http::error::tls_config_invalid) {
    return error::tls_failed;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return error::bad_response;  // the peer did not speak HTTP/1.1 correctly
  }
  return error::connection_failed;
}

error classify_status(unsigned status) {
  switch (status) {
    case 401:
    case 403:
      return error::auth_failed;
    case 408:
      return error::timeout;
    case 409:
      return error::provider_error;
    case 413:
      return error::bad_request;
    case 429:
      return error::rate_limited;
    case 503:
    case 529:
      return error::overloaded;
    default:
      break;
  }
  return status >= 500 ? error::provider_error : error::bad_request;
}

void read_retry_headers(const http::header_fields& headers, diagnostics& diag,
                        std::chrono::system_clock::time_point now) {
  if (auto it = headers.find("retry-after-ms"); it != headers.end()) {
    diag.retry_after = http::parse_retry_after_ms(it->value());
  }
  if (!diag.retry_after) {
    if (auto it = headers.find(bhttp::field::retry_after); it != headers.end()) {
      diag.retry_after = http::parse_retry_after(it->value(), now);
    }
  }
  if (auto it = headers.find("x-should-retry"); it != headers.end()) {
    if (it->value() == "true") diag.should_retry = true;
    if (it->value() == "false") diag.should_retry = false;
  }
  for (const char* name : {"x-request-id", "request-id"}) {
    if (auto it = headers.find(name); it != headers.end()) {
      diag.request_id = std::string(it->value());
      break;
    }
  }
}

std::int64_t estimate_tokens(std::string_view text) noexcept {
  return estimate_tokens(text.size());
}

std::int64_t estimate_tokens(std::size_t bytes) noexcept {
  return static_cast<std::int64_t>((bytes + 3) / 4);
}

}  // namespace conclave::provider
