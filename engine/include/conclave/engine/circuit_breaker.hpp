// A circuit breaker for one endpoint, as pure logic (time comes in as an argument): after
// `failure_threshold` failures in a row that say the endpoint is unwell (connection, timeout,
// 5xx, overload), calls fail fast for `cool_off`; then `half_open_probes` calls test it, and
// one success closes the breaker again while a failure opens it for another cool-off.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>

namespace conclave {

struct breaker_options {
  int failure_threshold = 5;  ///< consecutive unhealthy failures that open it; 0: never opens
  std::chrono::milliseconds cool_off{30'000};  ///< how long it stays open
  int half_open_probes = 1;  ///< calls let through at once to test a cooled-off endpoint
};

enum class breaker_state { closed, open, half_open };
const char* to_string(breaker_state s) noexcept;

class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;

  explicit circuit_breaker(breaker_options opts = {}) : opts_(opts) {}

  /// May a call go out now? Open: no (until the cool-off ends, when it turns half-open and
  /// admits up to `half_open_probes` calls). Every admitted call must be followed by
  /// on_result().
  bool admit(clock::time_point now) noexcept;

  /// The admitted call ended with `ec` (success, or which failure).
  void on_result(clock::time_point now, const boost::system::error_code& ec) noexcept;

  /// Whether a failure says the endpoint is unwell (not the request, not a rate limit).
  static bool is_health_failure(const boost::system::error_code& ec) noexcept;

  breaker_state state() const noexcept { return state_; }
  /// While open: when it will let a probe through.
  clock::time_point open_until() const noexcept { return open_until_; }
  int consecutive_failures() const noexcept { return failures_; }
  int times_opened() const noexcept { return times_opened_; }

 private:
  void open(clock::time_point now) noexcept;

  breaker_options opts_;
  breaker_state state_ = breaker_state::closed;
  int failures_ = 0;
  int probes_out_ = 0;
  int times_opened_ = 0;
  clock::time_point open_until_{};
};

}  // namespace conclave
