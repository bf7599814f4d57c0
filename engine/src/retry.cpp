#include <conclave/engine/error.hpp>
#include <conclave/engine/retry.hpp>

#include <algorithm>
#include <cmath>

namespace conclave {

retry_decision decide_retry(const retry_options& opts, int retries_done,
                            const boost::system::error_code& ec, const diagnostics& diag,
                            bool output_delivered, std::chrono::milliseconds elapsed,
                            std::chrono::milliseconds time_left, double random01) {
  using std::chrono::milliseconds;
  using v = retry_verdict;
  auto no = [](std::string why, v verdict) {
    return retry_decision{false, {}, std::move(why), verdict};
  };
  if (ec == error::cancelled) return no("cancelled", v::cancelled);
  // The server's word wins over our classification, both ways (as in the SDKs).
  const bool retryable = diag.should_retry ? *diag.should_retry : is_retryable(ec);
  if (!retryable) {
    return diag.should_retry ? no("the server said not to retry", v::server_said_no)
                             : no("not retryable", v::not_retryable);
  }
  if (output_delivered) return no("part of the stream was already delivered", v::output_delivered);
  if (retries_done >= opts.max_retries) {
    return no("gave up after " + std::to_string(retries_done + 1) + " attempts", v::attempts_spent);
  }
  const bool server_delay = diag.retry_after && diag.retry_after->count() > 0;
  if (server_delay && *diag.retry_after > opts.max_server_delay) {
    // A limiter in front of the provider (diag.refused_before_sending) asks, not the server.
    const std::string who = diag.refused_before_sending ? "the rate limit" : "the server";
    return no(who + " asked to wait " + std::to_string(diag.retry_after->count() / 1000) +
                  " s, more than the " + std::to_string(opts.max_server_delay.count() / 1000) +
                  " s we wait",
              v::server_wait_too_long);
  }

  retry_decision d{true, {}, {}, v::retry_backoff};
  if (server_delay) {
    d.delay = *diag.retry_after;
    d.reason = "as the server asked";
    d.verdict = v::retry_server_delay;
  } else {
    const double base = std::min(
        static_cast<double>(opts.initial_delay.count()) * std::pow(2.0, std::min(retries_done, 30)),
        static_cast<double>(opts.max_delay.count()));
    const double cut = 1.0 - std::clamp(opts.jitter, 0.0, 1.0) * std::clamp(random01, 0.0, 1.0);
    d.delay = milliseconds(static_cast<std::int64_t>(base * cut));
    d.reason = "backoff";
  }
  if (elapsed + d.delay > opts.max_total) return no("retry time cap reached", v::time_cap);
  if (d.delay >= time_left) return no("the deadline would pass before a retry", v::deadline);
  return d;
}

retry_budget::retry_budget(double max_tokens, double token_ratio)
    : max_(static_cast<std::int64_t>(max_tokens * scale)),
      ratio_(static_cast<std::int64_t>(token_ratio * scale)),
      milli_tokens_(max_) {}

void retry_budget::on_failure() noexcept {
  auto cur = milli_tokens_.load();
  while (!milli_tokens_.compare_exchange_weak(cur, std::max<std::int64_t>(0, cur - scale))) {
  }
}

void retry_budget::on_success() noexcept {
  auto cur = milli_tokens_.load();
  while (!milli_tokens_.compare_exchange_weak(cur, std::min(max_, cur + ratio_))) {
  }
}

bool retry_budget::allows_retry() const noexcept {
  return max_ <= 0 || milli_tokens_.load() * 2 > max_;
}

double retry_budget::tokens() const noexcept {
  return static_cast<double>(milli_tokens_.load()) / static_cast<double>(scale);
}

}  // namespace conclave
