#include <conclave/engine/budget.hpp>

#include <algorithm>
#include <cstdio>

namespace conclave {

std::optional<model_price> price_of(const budget_options& opts, std::string_view model) {
  std::optional<model_price> best;
  std::size_t best_length = 0;
  for (const auto& [name, price] : opts.prices) {
    if (name != "*" && model.starts_with(name) && (!best || name.size() > best_length)) {
      best = price;
      best_length = name.size();
    }
  }
  if (best) return best;
  if (auto any = opts.prices.find("*"); any != opts.prices.end()) return any->second;
  return std::nullopt;
}

double model_price::cost_of(const usage& used) const noexcept {
  // Untrusted counts: negative ones cost nothing, and the cached ones never exceed the prompt.
  const auto count = [](std::int64_t n) {
    return static_cast<double>(std::max<std::int64_t>(0, n));
  };
  const double prompt = count(used.prompt_tokens);
  const double read = std::min(count(used.cache_read_tokens), prompt);
  const double written = std::min(count(used.cache_write_tokens), prompt - read);
  const double fresh = prompt - read - written;
  return (fresh * input_per_million + read * cache_read_per_million.value_or(input_per_million) +
          written * cache_write_per_million.value_or(1.25 * input_per_million) +
          count(used.completion_tokens) * output_per_million) /
         1e6;
}

run_budget::run_budget(budget_options opts) : opts_(std::move(opts)) {}

bool run_budget::charge(std::string_view model, const usage& used) {
  std::lock_guard lock(mutex_);
  tokens_ = saturating_add(tokens_, std::max<std::int64_t>(0, used.total()));  // untrusted counts
  if (auto p = price_of(opts_, model)) {
    cost_ += p->cost_of(used);
  } else if (opts_.max_cost > 0 && used.total() > 0) {
    ++unpriced_;
  }
  if (exhausted_ || !over()) return false;
  exhausted_ = true;
  return true;
}

bool run_budget::over() const {
  return (opts_.max_tokens > 0 && tokens_ >= opts_.max_tokens) ||
         (opts_.max_cost > 0 && cost_ >= opts_.max_cost);
}

bool run_budget::exhausted() const {
  std::lock_guard lock(mutex_);
  return exhausted_;
}

std::int64_t run_budget::tokens_spent() const {
  std::lock_guard lock(mutex_);
  return tokens_;
}

double run_budget::cost_spent() const {
  std::lock_guard lock(mutex_);
  return cost_;
}

std::int64_t run_budget::unpriced_calls() const {
  std::lock_guard lock(mutex_);
  return unpriced_;
}

std::string run_budget::why() const {
  std::lock_guard lock(mutex_);
  if (opts_.max_tokens > 0 && tokens_ >= opts_.max_tokens) {
    return "token budget reached: " + std::to_string(tokens_) + " of " +
           std::to_string(opts_.max_tokens) + " tokens";
  }
  if (opts_.max_cost > 0 && cost_ >= opts_.max_cost) {
    char text[96];
    std::snprintf(text, sizeof text, "cost budget reached: %.4f of %.4f", cost_, opts_.max_cost);
    return text;
  }
  return {};
}

}  // namespace conclave
