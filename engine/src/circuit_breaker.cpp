#include <conclave/engine/circuit_breaker.hpp>
#include <conclave/engine/error.hpp>

#include <algorithm>

namespace conclave {

const char* to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  return "unknown";
}

bool circuit_breaker::admit(clock::time_point now) noexcept {
  if (state_ == breaker_state::open) {
    if (now < open_until_) return false;
    state_ = breaker_state::half_open;
    probes_out_ = 0;
  }
  if (state_ == breaker_state::half_open) {
    if (probes_out_ >= std::max(1, opts_.half_open_probes)) return false;
    ++probes_out_;
  }
  return true;
}

void circuit_breaker::on_result(clock::time_point now,
                                const boost::system::error_code& ec) noexcept {
  if (state_ == breaker_state::half_open && probes_out_ > 0) --probes_out_;
  if (!ec) {
    failures_ = 0;
    state_ = breaker_state::closed;
    return;
  }
  if (!is_health_failure(ec)) {
    // Says nothing about the endpoint's health; a probe that ends so frees its place.
    return;
  }
  ++failures_;
  if (state_ == breaker_state::half_open ||
      (opts_.failure_threshold > 0 && failures_ >= opts_.failure_threshold)) {
    open(now);
  }
}

bool circuit_breaker::is_health_failure(const boost::system::error_code& ec) noexcept {
  return ec == error::connection_failed || ec == error::timeout || ec == error::tls_failed ||
         ec == error::overloaded || ec == error::provider_error;
}

void circuit_breaker::open(clock::time_point now) noexcept {
  if (state_ != breaker_state::open) ++times_opened_;
  state_ = breaker_state::open;
  open_until_ = now + opts_.cool_off;
  probes_out_ = 0;
}

}  // namespace conclave
