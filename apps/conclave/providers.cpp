#include "providers.hpp"

#include "settings.hpp"

#include <conclave/openai/openai_model.hpp>

#include <algorithm>

namespace conclave::cli {

std::unique_ptr<model> make_openai_model(http::client& client, const provider_config& c) {
  openai::openai_options o;
  o.base_url = c.base_url;
  o.api_key = c.api_key;
  o.default_model = c.default_model;
  o.request_timeout = c.request_timeout;
  return std::make_unique<openai::openai_model>(client, std::move(o));
}

const std::vector<provider_entry>& provider_registry() {
  static const std::vector<provider_entry> registry{
      {"openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1", "gpt-4o-mini",
       make_openai_model},
      {"anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "https://api.anthropic.com/v1",
       "claude-sonnet-4-5",
       // TODO(merge): build the Anthropic model here (anthropic::anthropic_model over `client`
       // with the config's key, base URL, default model and timeout).
       [](http::client&, const provider_config&) -> std::unique_ptr<model> {
         throw usage_error("anthropic support is not built yet");
       }},
      // The built-in mock on the OpenAI wire: always there, never needs a key.
      {"mock", "", "", "", "mock", make_openai_model},
  };
  return registry;
}

const provider_entry* find_provider(std::string_view name) {
  const auto& r = provider_registry();
  auto it = std::find_if(r.begin(), r.end(), [&](const auto& e) { return e.name == name; });
  return it == r.end() ? nullptr : &*it;
}

std::string provider_names() {
  std::string out;
  for (const auto& e : provider_registry()) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

}  // namespace conclave::cli
