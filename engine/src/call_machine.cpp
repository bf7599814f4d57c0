#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/error.hpp>

namespace conclave {

void call_step::explain(diagnostics& diag) const {
  if (what != kind::done || end != call_end::failed) return;
  if (last.verdict == retry_verdict::not_retryable) return;
  diag.message += (diag.message.empty() ? "(no retry: " : " (no retry: ") + last.reason + ")";
}

call_machine::call_machine(retry_options opts, std::string model,
                           std::vector<std::string> fallbacks, clock::time_point deadline,
                           retry_budget* budget)
    : opts_(std::move(opts)),
      fallbacks_(std::move(fallbacks)),
      tried_{std::move(model)},
      deadline_(deadline),
      budget_(budget) {}

call_step call_machine::next(clock::time_point now, call_refusal refusal) {
  if (refusal != call_refusal::none) {
    call_step s{call_step::kind::done};
    s.end = call_end::refused;
    s.refusal = refusal;
    return s;
  }
  if (!started_on_model_) {
    first_ = now;
    started_on_model_ = true;
  }
  call_step s{call_step::kind::call};
  s.model = tried_.back();
  s.attempt = ++attempts_;
  return s;
}

call_step call_machine::on_reply(clock::time_point now, const boost::system::error_code& ec,
                                 const diagnostics& diag, bool delivered, double random01) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  call_step s{call_step::kind::done};
  if (!ec) {
    if (budget_) budget_->on_success();
    s.end = call_end::succeeded;
    return s;
  }
  if (ec == error::cancelled) {
    s.end = call_end::cancelled;
    return s;
  }
  if (ec == error::auth_failed && diag.http_status != 403) {
    // The credentials are refused (a 403 is often "no access to this model": a fallback may
    // have it, so it goes down the chain like any other failure).
    s.end = call_end::stops_the_run;
    return s;
  }
  // The run's retry budget counts every failure the policy would retry.
  if (budget_ && diag.should_retry.value_or(is_retryable(ec))) budget_->on_failure();
  retry_decision d =
      decide_retry(opts_, retries_, ec, diag, delivered, duration_cast<milliseconds>(now - first_),
                   duration_cast<milliseconds>(deadline_ - now), random01);
  if (d.retry && budget_ && !budget_->allows_retry()) {
    d = {false, {}, "the run's retry budget is spent", retry_verdict::budget_spent};
  }
  if (d.retry) {
    ++retries_;
    s.what = call_step::kind::retry;
    s.delay = d.delay;
    s.note = ec.message() + "; retrying in " + std::to_string(d.delay.count()) + " ms (" +
             d.reason + ")";
    return s;
  }
  if (!delivered && next_fallback_ < fallbacks_.size() && now < deadline_) {
    // This model is done for; the next one starts with a fresh retry count.
    tried_.push_back(fallbacks_[next_fallback_++]);
    retries_ = 0;
    started_on_model_ = false;
    s.what = call_step::kind::retry;
    s.to_fallback = true;
    s.note = ec.message() + " (" + d.reason + "); moving to fallback model " + tried_.back();
    return s;
  }
  s.end = call_end::failed;
  s.last = std::move(d);
  return s;
}

}  // namespace conclave
