// Rate limits for one model endpoint, as pure logic (time comes in as an argument): sliding
// windows for requests and tokens per minute, a shared cooldown learnt from 429s and the
// provider's x-ratelimit-* headers, and an adaptive concurrency cap (AIMD: halved on a 429,
// grown back by one per cap's worth of successes). limited_model (limited_model.hpp) is the
// asynchronous shell that makes calls wait on it.
#pragma once

#include <conclave/engine/chat.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace conclave {

struct rate_limit_options {
  int max_concurrency = 0;  ///< calls in flight at once; 0: no cap
  int min_concurrency = 1;  ///< the adaptive cap never shrinks below this
  bool adaptive = true;     ///< 429s halve the cap, successes grow it back to max_concurrency
  std::int64_t requests_per_window = 0;      ///< RPM-style cap on call starts; 0: none
  std::int64_t tokens_per_window = 0;        ///< TPM-style cap on tokens; 0: none
  std::chrono::milliseconds window{60'000};  ///< the window both caps count over
  /// Added to the window on our side: a request starts at our clock but is counted at the
  /// server's, a little later; the margin keeps jitter from pushing one over the limit.
  std::chrono::milliseconds margin{250};
  std::chrono::milliseconds default_cooldown{1000};  ///< after a 429 that names no delay
  std::chrono::milliseconds max_cooldown{60'000};    ///< a longer retry-after is capped here
  /// Completion tokens assumed for a request with no max_tokens, until its usage is known.
  std::int64_t default_completion_tokens = 512;
};

/// A sliding-window log with reservations: each reservation gets the earliest start time, no
/// earlier than the previous one (first come, first served), at which the amounts started
/// within any span of `length` stay within `limit`. Amounts can be corrected once known.
class sliding_window {
 public:
  using clock = std::chrono::steady_clock;

  sliding_window(std::int64_t limit, clock::duration length);

  struct reservation {
    std::uint64_t id = 0;
    clock::time_point at;  ///< when the caller may start
  };

  /// The earliest start, no earlier than `not_before` nor the last reservation, at which
  /// `amount` (clamped to the limit, so an oversized request still runs alone) fits.
  clock::time_point earliest(clock::time_point not_before, std::int64_t amount) const;
  /// Records `amount` starting at `at` (which must come from earliest()).
  std::uint64_t add(clock::time_point at, std::int64_t amount);
  /// earliest() then add().
  reservation reserve(clock::time_point now, std::int64_t amount);
  /// Replaces a reservation's amount with what was really used (usage known after the call).
  void adjust(std::uint64_t id, std::int64_t amount);
  /// Sum of amounts started in (now - length, now].
  std::int64_t in_window(clock::time_point now) const;

 private:
  struct entry {
    std::uint64_t id;
    clock::time_point at;
    std::int64_t amount;
  };
  void forget_before(clock::time_point cutoff);

  std::int64_t limit_;
  clock::duration length_;
  std::deque<entry> entries_;  // by start time, oldest first
  std::uint64_t next_id_ = 1;
};

/// Tokens to reserve for `req` before its usage is known: about 4 characters a token plus 3 a
/// message, and its max_tokens (else `default_completion_tokens`). Every limiter uses it, so
/// one in this process and one shared on Redis count a call alike.
std::int64_t estimate_request_tokens(const chat_request& req,
                                     std::int64_t default_completion_tokens) noexcept;

/// How a call ended, as far as rate limiting cares.
enum class call_outcome { ok, rate_limited, other_failure, cancelled };

/// The whole limit state of one endpoint (one provider model). Not thread-safe: its owner
/// serializes access.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit rate_limiter(rate_limit_options opts);

  const rate_limit_options& options() const noexcept { return opts_; }

  // -- concurrency: permits in circulation follow the adaptive cap --
  /// Permits to hand out at start (the cap; 0 when there is no cap).
  int initial_permits() const noexcept;
  /// A call gave its permit back: true when it should go back into circulation, false when
  /// the cap has shrunk below the permits in circulation (the permit is retired).
  bool on_permit_returned() noexcept;
  /// New permits to put into circulation now that the cap may have grown.
  int permits_to_mint() noexcept;
  double concurrency_cap() const noexcept { return cap_; }
  int permits_in_circulation() const noexcept { return circulating_; }

  // -- windows and cooldown --
  struct ticket {
    std::uint64_t request_id = 0;
    std::uint64_t token_id = 0;
    clock::time_point at;  ///< when the call may start
  };
  /// Reserves room for a call expected to use `estimated_tokens`; starts no earlier than the
  /// cooldown's end.
  ticket schedule(clock::time_point now, std::int64_t estimated_tokens);
  clock::time_point cooldown_until() const noexcept { return cooldown_until_; }

  /// What the call taught us: its outcome, the tokens it really used, the server's
  /// retry-after and rate-limit headers.
  void on_outcome(clock::time_point now, const ticket& t, call_outcome outcome, const usage& used,
                  std::optional<std::chrono::milliseconds> retry_after,
                  const rate_limit_info& limits);

  /// The call never started (cancelled while it waited): its reservations count for nothing.
  void on_abandoned(const ticket& t);

  /// Tokens to reserve for a request before its usage is known.
  std::int64_t estimate_tokens(const chat_request& req) const;

 private:
  void cool_down(clock::time_point until);

  rate_limit_options opts_;
  std::optional<sliding_window> requests_;
  std::optional<sliding_window> tokens_;
  clock::time_point cooldown_until_{};
  double cap_ = 0.0;
  int circulating_ = 0;
};

}  // namespace conclave
