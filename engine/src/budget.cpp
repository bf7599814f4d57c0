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

run_budget::run_budget(budget_options opts) : opts_(std::move(opts)) {}

bool run_budget::charge(std::string_view model, const usage& used) {
  std::lock_guard lock(mutex_);
  tokens_ = saturating_add(tokens_, std::max<std::int64_t>(0, used.total()));  // untrusted counts
  if (auto p = price_of(opts_, model)) {
    cost_ += (static_cast<double>(used.prompt_tokens) * p->input_per_million +
              static_cast<double>(used.completion_tokens) * p->output_per_million) /
             1e6;
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
