#include <conclave/engine/error.hpp>

#include <string>

namespace conclave {
namespace {

class conclave_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conclave"; }

  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::timeout:
        return "deadline expired";
      case error::cancelled:
        return "cancelled";
      case error::connection_failed:
        return "connection failed";
      case error::tls_failed:
        return "TLS handshake or certificate verification failed";
      case error::rate_limited:
        return "rate limited";
      case error::overloaded:
        return "provider overloaded";
      case error::provider_error:
        return "provider error";
      case error::bad_request:
        return "request rejected by the provider";
      case error::auth_failed:
        return "authentication failed (check the API key)";
      case error::bad_response:
        return "malformed response from the provider";
      case error::stream_truncated:
        return "stream ended before its terminator";
      case error::response_too_large:
        return "response exceeded the size limit";
      case error::queue_full:
        return "task queue is full";
      case error::invalid_plan:
        return "invalid plan";
      case error::decomposition_failed:
        return "decomposition produced no sub-questions";
      case error::all_agents_failed:
        return "no agent produced an answer";
      case error::budget_exhausted:
        return "run budget exhausted";
      case error::circuit_open:
        return "circuit breaker open";
      case error::empty_answer:
        return "the model returned an empty answer";
      case error::internal_error:
        return "internal error in conclave";
      case error::loop_limit:
        return "the agent's loop hit a limit";
      case error::dependency_failed:
        return "a subtask it depends on did not succeed";
    }
    return "unknown conclave error " + std::to_string(ev);
  }
};

}  // namespace

const char* to_string(error e) noexcept {
  switch (e) {
    case error::timeout:
      return "timeout";
    case error::cancelled:
      return "cancelled";
    case error::connection_failed:
      return "connection_failed";
    case error::tls_failed:
      return "tls_failed";
    case error::rate_limited:
      return "rate_limited";
    case error::overloaded:
      return "overloaded";
    case error::provider_error:
      return "provider_error";
    case error::bad_request:
      return "bad_request";
    case error::auth_failed:
      return "auth_failed";
    case error::bad_response:
      return "bad_response";
    case error::stream_truncated:
      return "stream_truncated";
    case error::response_too_large:
      return "response_too_large";
    case error::queue_full:
      return "queue_full";
    case error::invalid_plan:
      return "invalid_plan";
    case error::decomposition_failed:
      return "decomposition_failed";
    case error::all_agents_failed:
      return "all_agents_failed";
    case error::budget_exhausted:
      return "budget_exhausted";
    case error::circuit_open:
      return "circuit_open";
    case error::empty_answer:
      return "empty_answer";
    case error::internal_error:
      return "internal_error";
    case error::loop_limit:
      return "loop_limit";
    case error::dependency_failed:
      return "dependency_failed";
  }
  return "unknown";
}

boost::system::error_code error_from_id(std::string_view id) noexcept {
  for (int v = static_cast<int>(error::timeout); v <= static_cast<int>(error::dependency_failed);
       ++v) {
    if (id == to_string(static_cast<error>(v))) return make_error_code(static_cast<error>(v));
  }
  return {};
}

std::string error_id(const boost::system::error_code& ec) {
  if (ec.category() == error_category()) return to_string(static_cast<error>(ec.value()));
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

const boost::system::error_category& error_category() noexcept {
  static const conclave_category category;
  return category;
}

bool is_retryable(boost::system::error_code ec) noexcept {
  if (ec.category() != error_category()) return false;
  switch (static_cast<error>(ec.value())) {
    case error::timeout:
    case error::connection_failed:
    case error::rate_limited:
    case error::overloaded:
    case error::provider_error:
    case error::stream_truncated:
      return true;
    default:
      return false;
  }
}

}  // namespace conclave
