#include <conclave/engine/model_routes.hpp>

#include <algorithm>
#include <stdexcept>

namespace conclave {
namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::string to_string(const model_route& r) {
  return r.model.empty() ? r.provider : r.provider + ":" + r.model;
}

model_routes::model_routes(std::vector<std::string> providers, std::string default_provider,
                           alias_table aliases)
    : providers_(std::move(providers)), default_(std::move(default_provider)) {
  if (providers_.empty()) throw std::invalid_argument("model routes: no providers");
  for (std::size_t i = 0; i < providers_.size(); ++i) {
    const auto& p = providers_[i];
    if (p.empty() || p.find(':') != std::string::npos) {
      throw std::invalid_argument("model routes: provider name " + quoted(p) +
                                  " must be non-empty and hold no ':'");
    }
    if (std::find(providers_.begin(), providers_.begin() + static_cast<std::ptrdiff_t>(i), p) !=
        providers_.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("model routes: provider " + quoted(p) + " is listed twice");
    }
  }
  if (!is_provider(default_)) {
    throw std::invalid_argument("model routes: the default provider " + quoted(default_) +
                                " is not one of " + listed(providers_));
  }
  for (const auto& [name, target] : aliases) {
    if (name.empty()) throw std::invalid_argument("an alias has an empty name");
    // Follow the chain by name; the names seen so far catch a cycle.
    std::vector<std::string> chain{name};
    std::string_view ref = target;
    for (auto next = aliases.find(ref); next != aliases.end(); next = aliases.find(ref)) {
      if (std::find(chain.begin(), chain.end(), next->first) != chain.end()) {
        std::string path;
        for (const auto& c : chain) path += c + " -> ";
        throw std::invalid_argument("alias cycle " + path + next->first);
      }
      if (static_cast<int>(chain.size()) >= max_alias_depth) {
        throw std::invalid_argument("alias " + quoted(name) + " goes through more than " +
                                    std::to_string(max_alias_depth) + " aliases");
      }
      chain.push_back(next->first);
      ref = next->second;
    }
    if (ref.empty()) {
      throw std::invalid_argument("alias " + quoted(chain.back()) + " has no target");
    }
    if (const auto colon = ref.find(':');
        colon != std::string_view::npos && !is_provider(ref.substr(0, colon))) {
      throw std::invalid_argument("alias " + quoted(chain.back()) + " names provider " +
                                  quoted(ref.substr(0, colon)) + ", which is not one of " +
                                  listed(providers_) +
                                  " (for a model name that holds ':', name its provider: " +
                                  quoted(default_ + ":" + std::string(ref)) + ")");
    }
    aliases_.emplace(name, split(ref));
  }
}

bool model_routes::is_provider(std::string_view name) const noexcept {
  return std::find(providers_.begin(), providers_.end(), name) != providers_.end();
}

model_route model_routes::split(std::string_view ref) const {
  if (const auto colon = ref.find(':');
      colon != std::string_view::npos && is_provider(ref.substr(0, colon))) {
    return {std::string(ref.substr(0, colon)), std::string(ref.substr(colon + 1))};
  }
  return {default_, std::string(ref)};
}

model_route model_routes::resolve(std::string_view ref) const {
  if (auto a = aliases_.find(ref); a != aliases_.end()) return a->second;
  return split(ref);
}

}  // namespace conclave
