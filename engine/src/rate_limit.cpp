#include <conclave/engine/rate_limit.hpp>

#include <algorithm>
#include <cmath>

namespace conclave {

sliding_window::sliding_window(std::int64_t limit, clock::duration length)
    : limit_(std::max<std::int64_t>(1, limit)), length_(length) {}

sliding_window::clock::time_point sliding_window::earliest(clock::time_point not_before,
                                                           std::int64_t amount) const {
  amount = std::clamp<std::int64_t>(amount, 0, limit_);
  // First come, first served: nobody starts before an earlier reservation.
  clock::time_point t = entries_.empty() ? not_before : std::max(not_before, entries_.back().at);
  std::size_t first = 0;  // the oldest entry inside (t - length, t]
  while (first < entries_.size() && entries_[first].at <= t - length_) ++first;
  std::int64_t sum = 0;
  for (std::size_t i = first; i < entries_.size(); ++i) sum += entries_[i].amount;
  // Slide forward to the moment the oldest entry leaves, until the amount fits.
  while (sum + amount > limit_ && first < entries_.size()) {
    t = entries_[first].at + length_;
    while (first < entries_.size() && entries_[first].at <= t - length_) {
      sum -= entries_[first].amount;
      ++first;
    }
  }
  return t;
}

std::uint64_t sliding_window::add(clock::time_point at, std::int64_t amount) {
  forget_before(at - length_);
  const std::uint64_t id = next_id_++;
  entries_.push_back({id, at, std::clamp<std::int64_t>(amount, 0, limit_)});
  return id;
}

sliding_window::reservation sliding_window::reserve(clock::time_point now, std::int64_t amount) {
  const auto at = earliest(now, amount);
  return {add(at, amount), at};
}

void sliding_window::adjust(std::uint64_t id, std::int64_t amount) {
  for (auto& e : entries_) {
    if (e.id == id) {
      e.amount = std::clamp<std::int64_t>(amount, 0, limit_);
      return;
    }
  }
  // Already out of every window that matters: nothing to correct.
}

std::int64_t sliding_window::in_window(clock::time_point now) const {
  std::int64_t sum = 0;
  for (const auto& e : entries_) {
    if (e.at > now - length_ && e.at <= now) sum += e.amount;
  }
  return sum;
}

void sliding_window::forget_before(clock::time_point cutoff) {
  // Reservations are made in start order, so expired ones are at the front.
  while (!entries_.empty() && entries_.front().at <= cutoff) entries_.pop_front();
}

rate_limiter::rate_limiter(rate_limit_options opts) : opts_(std::move(opts)) {
  const auto span = opts_.window + opts_.margin;
  if (opts_.requests_per_window > 0) requests_.emplace(opts_.requests_per_window, span);
  if (opts_.tokens_per_window > 0) tokens_.emplace(opts_.tokens_per_window, span);
  opts_.min_concurrency = std::clamp(opts_.min_concurrency, 1, std::max(1, opts_.max_concurrency));
  cap_ = std::max(0, opts_.max_concurrency);
  circulating_ = initial_permits();
}

int rate_limiter::initial_permits() const noexcept { return std::max(0, opts_.max_concurrency); }

bool rate_limiter::on_permit_returned() noexcept {
  if (circulating_ > static_cast<int>(std::floor(cap_))) {
    --circulating_;  // the cap shrank: retire this permit
    return false;
  }
  return true;
}

int rate_limiter::permits_to_mint() noexcept {
  const int wanted = static_cast<int>(std::floor(cap_)) - circulating_;
  if (wanted <= 0) return 0;
  circulating_ += wanted;
  return wanted;
}

rate_limiter::ticket rate_limiter::schedule(clock::time_point now, std::int64_t estimated_tokens) {
  clock::time_point t = std::max(now, cooldown_until_);
  // Both windows must agree on one start time; each answer is monotone, so this settles.
  for (;;) {
    const auto by_requests = requests_ ? requests_->earliest(t, 1) : t;
    const auto by_tokens = tokens_ ? tokens_->earliest(by_requests, estimated_tokens) : by_requests;
    if (by_tokens == t) break;
    t = by_tokens;
  }
  ticket out;
  out.at = t;
  if (requests_) out.request_id = requests_->add(t, 1);
  if (tokens_) out.token_id = tokens_->add(t, estimated_tokens);
  return out;
}

void rate_limiter::on_outcome(clock::time_point now, const ticket& t, call_outcome outcome,
                              const usage& used,
                              std::optional<std::chrono::milliseconds> retry_after,
                              const rate_limit_info& limits) {
  if (tokens_) tokens_->adjust(t.token_id, used.total());
  const bool capped = opts_.max_concurrency > 0 && opts_.adaptive;
  if (outcome == call_outcome::rate_limited) {
    auto pause = retry_after && retry_after->count() > 0 ? *retry_after : opts_.default_cooldown;
    cool_down(now + std::min(pause, opts_.max_cooldown));
    if (capped) cap_ = std::max<double>(opts_.min_concurrency, cap_ / 2.0);
  } else if (outcome == call_outcome::ok && capped) {
    // Additive increase: about one more slot per cap's worth of successes.
    cap_ = std::min<double>(opts_.max_concurrency, cap_ + 1.0 / std::max(1.0, cap_));
  }
  // The server says a budget is spent: everyone waits for its reset, not just this call.
  using std::chrono::milliseconds;
  if (limits.remaining_requests && *limits.remaining_requests <= 0 && limits.reset_requests) {
    cool_down(now + std::min(*limits.reset_requests, opts_.max_cooldown));
  }
  if (limits.remaining_tokens && *limits.remaining_tokens <= 0 && limits.reset_tokens) {
    cool_down(now + std::min(*limits.reset_tokens, opts_.max_cooldown));
  }
}

void rate_limiter::on_abandoned(const ticket& t) {
  if (requests_) requests_->adjust(t.request_id, 0);
  if (tokens_) tokens_->adjust(t.token_id, 0);
}

std::int64_t estimate_request_tokens(const chat_request& req,
                                     std::int64_t default_completion_tokens) noexcept {
  std::int64_t n = 0;
  for (const auto& m : req.messages) n += static_cast<std::int64_t>(m.size() / 4) + 3;
  return n + (req.max_tokens ? *req.max_tokens : default_completion_tokens);
}

std::int64_t rate_limiter::estimate_tokens(const chat_request& req) const {
  return estimate_request_tokens(req, opts_.default_completion_tokens);
}

void rate_limiter::cool_down(clock::time_point until) {
  cooldown_until_ = std::max(cooldown_until_, until);
}

}  // namespace conclave
