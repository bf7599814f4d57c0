// conclave's error codes: every expected failure of a model call or a run is one of these,
// carried as a boost::system::error_code. Context (HTTP status, provider message, retry-after)
// travels beside the code in `diagnostics` (see chat.hpp), never inside it.
#pragma once

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace conclave {

enum class error {
  timeout = 1,           ///< a deadline (request, agent or run) expired
  cancelled,             ///< the caller cancelled the operation
  connection_failed,     ///< could not connect, or the connection broke before a reply
  tls_failed,            ///< TLS handshake or certificate verification failed
  rate_limited,          ///< HTTP 429 from the provider (see diagnostics.retry_after)
  overloaded,            ///< the provider is overloaded (503/529, or an overload event mid-stream)
  provider_error,        ///< the provider failed on its side (5xx, or an error event mid-stream)
  bad_request,           ///< the provider rejected the request (400, 404, 409, 422...)
  auth_failed,           ///< missing or wrong API key (401, 403)
  bad_response,          ///< the reply was not what the wire format promises (malformed JSON/SSE)
  stream_truncated,      ///< a stream ended before its terminator ([DONE] / message_stop)
  response_too_large,    ///< the reply exceeded the configured size limit
  queue_full,            ///< the task queue refused work: it is at capacity
  invalid_plan,          ///< a plan is malformed (cycle, unknown dependency, duplicate id)
  decomposition_failed,  ///< the decomposition reply held no usable sub-questions
  all_agents_failed,     ///< no agent produced a decision, so there is nothing to synthesize
  budget_exhausted,      ///< the run's token or cost budget is spent
  circuit_open,          ///< the endpoint's circuit breaker is open: failing fast
  empty_answer,          ///< the model finished without saying anything
  internal_error,        ///< a bug in conclave (an exception escaped); never retried
  loop_limit,  ///< an agent's tool loop hit a limit (turns, tool calls, a stall): partial answer
  dependency_failed,  ///< a plan's subtask never ran: one it depends on failed or was skipped
};

/// The error a to_string() identifier names ("timeout" -> error::timeout); an empty code for
/// an identifier that is not conclave's (reading back a report or an event line).
boost::system::error_code error_from_id(std::string_view id) noexcept;

/// A stable identifier for machine-readable output: "timeout", "rate_limited"...
const char* to_string(error e) noexcept;

/// The identifier of any error code: to_string() for conclave's, else "category:value".
std::string error_id(const boost::system::error_code& ec);

/// The category behind conclave::error; its name() is "conclave".
const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// True when the SDKs' policy would try this failure again (connection, timeout, 408/409/429, 5xx).
bool is_retryable(boost::system::error_code ec) noexcept;

}  // namespace conclave

namespace boost::system {
template <>
struct is_error_code_enum<conclave::error> : std::true_type {};
}  // namespace boost::system
