// A run's spending cap: tokens, and cost given a price table. Every call is charged, failed,
// cut and cancelled ones included; once the cap is reached no new model call starts. Pure
// logic; safe to charge from any thread.
#pragma once

#include <conclave/engine/chat.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace conclave {

struct model_price {
  double input_per_million = 0;   ///< per million prompt tokens (not cached)
  double output_per_million = 0;  ///< per million completion tokens
  /// Per million prompt tokens read from the provider's cache; unset: the input price (never
  /// under the real cost, so a cap holds).
  std::optional<double> cache_read_per_million;
  /// Per million prompt tokens written to the cache; unset: 1.25 x the input price
  /// (Anthropic's five-minute cache write).
  std::optional<double> cache_write_per_million;

  /// The price of `used`, in the prices' currency. Cached tokens are counted within
  /// prompt_tokens (chat.hpp) and priced at their own rates, never twice.
  double cost_of(const usage& used) const noexcept;
};

struct budget_options {
  std::int64_t max_tokens = 0;  ///< the whole run's tokens (prompt + completion); 0: no cap
  double max_cost = 0;          ///< the whole run's cost, in the prices' currency; 0: no cap
  /// Prices by model name; a name matches its longest listed prefix ("gpt-4o-mini" prices
  /// "gpt-4o-mini-2024-07-18"), and "*" prices any model not listed otherwise.
  std::map<std::string, model_price, std::less<>> prices;
  /// When the cap is reached: false lets running agents finish (their calls are charged too),
  /// true stops them at once. Either way no new call starts.
  bool cancel_running = false;
};

/// The price of `model`, by longest prefix, else "*"; nothing when neither is listed.
std::optional<model_price> price_of(const budget_options& opts, std::string_view model);

class run_budget {
 public:
  explicit run_budget(budget_options opts = {});

  /// Charges one call's usage to `model`'s price. Returns true exactly once: on the charge
  /// that reaches the cap.
  bool charge(std::string_view model, const usage& used);

  bool exhausted() const;
  std::int64_t tokens_spent() const;
  double cost_spent() const;
  /// Calls charged with a cost cap set but no price for their model (they count as free).
  std::int64_t unpriced_calls() const;
  /// Which cap was reached and by how much ("token budget reached: 1030 of 1000 tokens").
  std::string why() const;
  const budget_options& options() const noexcept { return opts_; }

 private:
  bool over() const;  // with mutex_ held

  budget_options opts_;
  mutable std::mutex mutex_;  // a few additions; never held across a suspension
  std::int64_t tokens_ = 0;
  double cost_ = 0;
  std::int64_t unpriced_ = 0;
  bool exhausted_ = false;
};

}  // namespace conclave
