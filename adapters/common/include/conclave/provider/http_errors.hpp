// What every HTTP-based provider adapter shares: turning transport failures and HTTP statuses
// into conclave errors, and reading the retry hints providers send in headers.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>

#include <chrono>

namespace conclave::provider {

/// A failed exchange (`r.ec` set, no usable HTTP reply) as a conclave error: timeout,
/// cancelled, tls_failed, connection_failed, response_too_large, bad_response, or bad_request
/// (a request the client refused to send). Fills
/// `diag.message` with the transport's words.
boost::system::error_code classify_transport(const http::response& r, diagnostics& diag);

/// An HTTP error status as a conclave error: 401/403 auth_failed, 408 timeout, 429 rate_limited,
/// 503/529 overloaded, other 5xx and 409 provider_error, other 4xx bad_request.
error classify_status(unsigned status);

/// Reads retry-after-ms (preferred), retry-after (seconds or HTTP date, against `now`),
/// x-should-retry and the request id into `diag`.
void read_retry_headers(const http::header_fields& headers, diagnostics& diag,
                        std::chrono::system_clock::time_point now);

/// A rough token count for text no provider counted for us (a cut stream): ~4 bytes a token.
std::int64_t estimate_tokens(std::string_view text) noexcept;
std::int64_t estimate_tokens(std::size_t bytes) noexcept;

}  // namespace conclave::provider
