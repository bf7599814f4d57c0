// Model references resolved to a provider and the name that provider knows, with no model
// attached: "anthropic:claude-sonnet-4-5", a bare "gpt-4o-mini" (the default provider), or an
// alias ("planner"). Pure, so a host can learn which providers its references need before it
// builds any; router_model routes calls by it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace conclave {

/// Where a model reference leads.
struct model_route {
  std::string provider;  ///< one of the table's provider names
  std::string model;     ///< the name that provider knows; empty: the provider's default
  bool operator==(const model_route&) const = default;
};

/// "provider:model", or "provider" alone for the provider's default model.
std::string to_string(const model_route& r);

using alias_table = std::map<std::string, std::string, std::less<>>;

/// The rules, in order:
///  1. a reference that is exactly an alias's name resolves as the alias's target (an alias
///     may name another alias, at most `max_alias_depth` deep);
///  2. "p:m" with `p` (the text before the first ':') a provider's name goes to `p` as "m"
///     ("openai:llama3:8b" is openai's "llama3:8b"; "openai:" is openai's default model);
///  3. anything else, the empty reference included, goes to the default provider as it is.
///     So Ollama names ("llama3:8b", "qwen2.5:7b") are bare names; and a prefix that merely
///     looks like a provider ("mistral:large" when no provider is called mistral) is passed on
///     whole as a bare name, for the default provider to accept or refuse.
///
/// Thread safety: const after construction; resolve from any thread.
class model_routes {
 public:
  /// Aliases followed in one resolution at most (a -> b -> c -> d -> e).
  static constexpr int max_alias_depth = 4;

  /// `providers` are the names references may start with; `default_provider` (one of them)
  /// takes bare names. Aliases map a name to a reference, resolved here once. Throws
  /// std::invalid_argument, naming what is wrong: no providers, an empty or repeated provider
  /// name (or one holding ':'), an unknown default, an empty alias name or target, an alias
  /// cycle or chain deeper than max_alias_depth, or an alias target "p:m" whose `p` is not a
  /// provider (in an alias that is a slip, not an Ollama name: write "openai:llama3:8b" for
  /// an alias to a name that holds a ':').
  model_routes(std::vector<std::string> providers, std::string default_provider,
               alias_table aliases = {});

  /// Where `ref` leads (never throws: rule 3 takes anything).
  model_route resolve(std::string_view ref) const;
  /// to_string(resolve(ref)): "anthropic:claude-sonnet-4-5".
  std::string describe(std::string_view ref) const { return to_string(resolve(ref)); }

  bool is_provider(std::string_view name) const noexcept;
  /// The providers, in the order given.
  const std::vector<std::string>& providers() const noexcept { return providers_; }
  const std::string& default_provider() const noexcept { return default_; }
  /// Every alias's name with its resolved route.
  const std::map<std::string, model_route, std::less<>>& aliases() const noexcept {
    return aliases_;
  }

 private:
  model_route split(std::string_view ref) const;  // rules 2 and 3

  std::vector<std::string> providers_;
  std::string default_;
  std::map<std::string, model_route, std::less<>> aliases_;
};

}  // namespace conclave
