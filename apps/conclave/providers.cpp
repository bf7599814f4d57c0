#include "providers.hpp"

#include <conclave/anthropic/wire.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/wire.hpp>
#include <conclave/provider/http_model.hpp>

#include <algorithm>

namespace conclave::cli {

std::unique_ptr<model> make_model(http::client& client, const provider_entry& e,
                                  const provider_config& c) {
  return std::make_unique<provider::http_model>(
      client, *e.wire,
      provider::http_model_options{.base_url = c.base_url,
                                   .api_key = c.api_key,
                                   .default_model = c.default_model,
                                   .request_timeout = c.request_timeout});
}

std::string base_url_for(const provider_entry& e, std::string url) {
  return e.base_url_is_root ? mock::root_of(std::move(url)) : url;
}

const std::vector<provider_entry>& provider_registry() {
  static const std::vector<provider_entry> registry{
      {"openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1", "gpt-4o-mini",
       &openai::wire()},
      {"anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
       std::string(anthropic::default_base_url), "claude-sonnet-4-5", &anthropic::wire(),
       /*base_url_is_root=*/true,
       [](std::string_view name) { return anthropic::model_family(name); }},
      // The built-in mock on the OpenAI wire: always there, never needs a key.
      {"mock", "", "", "", "mock", &openai::wire()},
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
