// When to try a failed model call again, and how long to wait: the official SDKs' policy
// (openai-python/-node, anthropic), plus a retry budget shared by a whole fan-out so N agents
// failing together cannot turn an outage into a retry storm. Pure logic: time and randomness
// come in as arguments.
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace conclave {

struct retry_options {
  int max_retries = 2;  ///< tries after the first (the SDKs' default); 0 disables retries
  std::chrono::milliseconds initial_delay{500};  ///< backoff before retry n: initial * 2^n ...
  std::chrono::milliseconds max_delay{8000};     ///< ... capped here ...
  double jitter = 0.25;                          ///< ... and cut by up to this fraction at random
  /// A retry-after above this is not waited for: the call fails at once with its error and
  /// the server's retry-after in diagnostics (waiting silently for an hour helps nobody).
  std::chrono::milliseconds max_server_delay{60'000};
  std::chrono::milliseconds max_total{120'000};  ///< no retry starts after this long in retries
};

/// The shared retry budget's size (gRPC's retryThrottling: maxTokens, tokenRatio).
struct retry_budget_options {
  double max_tokens = 10.0;  ///< failures the budget absorbs; <= 0 turns throttling off
  double token_ratio = 0.1;  ///< given back per success
};

/// Why a call is (not) tried again; control flow looks at this, people read `reason`.
enum class retry_verdict {
  retry_backoff,         ///< retry after exponential backoff
  retry_server_delay,    ///< retry after the server's retry-after
  cancelled,             ///< the caller cancelled
  not_retryable,         ///< the failure is not one the SDKs retry
  server_said_no,        ///< x-should-retry: false
  output_delivered,      ///< part of a stream already reached the consumer
  attempts_spent,        ///< max_retries reached
  time_cap,              ///< max_total spent in retries
  deadline,              ///< the wait would pass the caller's deadline
  server_wait_too_long,  ///< the server asked to wait longer than max_server_delay
  budget_spent,          ///< the run's shared retry budget refuses (set by the engine)
};

struct retry_decision {
  bool retry = false;
  std::chrono::milliseconds delay{0};  ///< wait this long first (when retrying)
  std::string reason;                  ///< why not (or, when retrying, where the delay came from)
  retry_verdict verdict = retry_verdict::not_retryable;
};

/// Decides about the call that just failed with `ec`.
/// `retries_done`: retries already made for this call. `output_delivered`: some of a stream
/// reached the consumer (never retried). `elapsed`: since the first attempt began.
/// `time_left`: until the agent's deadline (a retry that cannot finish before it is pointless).
/// `random01`: uniform in [0, 1).
retry_decision decide_retry(const retry_options& opts, int retries_done,
                            const boost::system::error_code& ec, const diagnostics& diag,
                            bool output_delivered, std::chrono::milliseconds elapsed,
                            std::chrono::milliseconds time_left, double random01);

/// gRPC-style retry throttling, shared by every agent of a run: a bucket of `max_tokens`; each
/// retryable failure takes one token, each success gives back `token_ratio`; retries are
/// allowed only while more than half the tokens remain. `max_tokens` <= 0: always allowed.
/// Lock-free; safe from any thread.
class retry_budget {
 public:
  explicit retry_budget(double max_tokens = 10.0, double token_ratio = 0.1);
  explicit retry_budget(const retry_budget_options& o)
      : retry_budget(o.max_tokens, o.token_ratio) {}
  void on_failure() noexcept;
  void on_success() noexcept;
  bool allows_retry() const noexcept;
  double tokens() const noexcept;

 private:
  static constexpr std::int64_t scale = 1000;  // fixed point: thousandths of a token
  const std::int64_t max_;
  const std::int64_t ratio_;
  std::atomic<std::int64_t> milli_tokens_;
};

}  // namespace conclave
