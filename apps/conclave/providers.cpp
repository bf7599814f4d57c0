#include "providers.hpp"

#include "settings.hpp"

#include <conclave/anthropic/anthropic_model.hpp>
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

std::unique_ptr<model> make_anthropic_model(http::client& client, const provider_config& c) {
  anthropic::anthropic_options o;
  o.base_url = c.base_url;
  o.api_key = c.api_key;
  o.default_model = c.default_model;
  o.request_timeout = c.request_timeout;
  return std::make_unique<anthropic::anthropic_model>(client, std::move(o));
}

std::string base_url_for(const provider_entry& e, std::string url) {
  if (e.base_url_is_root && url.ends_with("/v1")) url.resize(url.size() - 3);
  return url;
}

const std::vector<provider_entry>& provider_registry() {
  static const std::vector<provider_entry> registry{
      {"openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1", "gpt-4o-mini",
       make_openai_model},
      {"anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
       std::string(anthropic::default_base_url), "claude-sonnet-4-5", make_anthropic_model,
       /*base_url_is_root=*/true,
       [](std::string_view name) { return anthropic::model_family(name); }},
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
