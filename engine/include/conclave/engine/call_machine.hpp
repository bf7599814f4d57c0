// One logical model call as a machine with no I/O: attempts, retries, the fallback chain, the
// run's refusals (budget spent, run stopped), told what happened and answering with the next
// step. A short coroutine does what it says (call, wait, stop); agents, decomposition and
// synthesis all drive one, so the sequence is written once. Time and randomness come in as
// arguments; tests step it with synthetic time.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/retry.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace conclave {

/// Why the run will not let a call start.
enum class call_refusal {
  none,
  budget_spent,  ///< the run's token / cost budget is spent
  run_stopped,   ///< a failure stopped the whole run (a rejected key)
};

/// How a logical call ended.
enum class call_end {
  succeeded,      ///< the last attempt answered
  failed,         ///< the last attempt failed and nothing more will be tried (see `last`)
  cancelled,      ///< the caller cancelled
  refused,        ///< the run refused a (first or further) attempt (see `refusal`)
  stops_the_run,  ///< the failure is one no other call can get past (401): stop the run
};

struct call_step {
  enum class kind {
    call,   ///< call `model` now (attempt `attempt`, counted over the whole call)
    retry,  ///< wait `delay` (0 when moving to a fallback), then ask next() again; `note` says why
    done,   ///< finished: `end`
  };
  kind what = kind::done;
  std::string model;
  int attempt = 0;
  std::chrono::milliseconds delay{0};
  bool to_fallback = false;
  std::string note;
  call_end end = call_end::failed;
  call_refusal refusal = call_refusal::none;
  retry_decision last;  ///< done after a failure: why not again (verdict and words)

  /// For a call that failed for good: appends "(no retry: why)" to `diag.message`, unless the
  /// failure is simply not one that is retried (then the error says it all).
  void explain(diagnostics& diag) const;
};

class call_machine {
 public:
  using clock = std::chrono::steady_clock;

  /// `fallbacks` are tried in order when `model` fails for good; `budget` (may be null) is the
  /// run's shared retry budget, charged for each retryable failure.
  call_machine(retry_options opts, std::string model, std::vector<std::string> fallbacks,
               clock::time_point deadline, retry_budget* budget);

  /// Before each attempt: call, or done (refused).
  call_step next(clock::time_point now, call_refusal refusal);

  /// After an attempt: done, or retry. `delivered`: part of a stream reached the consumer.
  /// `random01` in [0, 1) draws the backoff jitter.
  call_step on_reply(clock::time_point now, const boost::system::error_code& ec,
                     const diagnostics& diag, bool delivered, double random01);

  int attempts() const noexcept { return attempts_; }
  /// The model names asked, in order ("" is the provider's default).
  const std::vector<std::string>& models_tried() const noexcept { return tried_; }
  const std::string& model() const noexcept { return tried_.back(); }
  /// The fallbacks not yet moved to, in order (an agent's next turn starts where this call
  /// ended: on model(), with these left).
  std::vector<std::string> remaining_fallbacks() const {
    return {fallbacks_.begin() + static_cast<std::ptrdiff_t>(next_fallback_), fallbacks_.end()};
  }

 private:
  retry_options opts_;
  std::vector<std::string> fallbacks_;
  std::size_t next_fallback_ = 0;
  std::vector<std::string> tried_;
  clock::time_point deadline_;
  retry_budget* budget_;
  clock::time_point first_{};  // first attempt on the current model
  bool started_on_model_ = false;
  int retries_ = 0;   // on the current model
  int attempts_ = 0;  // over the whole call
};

}  // namespace conclave
