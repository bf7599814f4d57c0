// The providers `conclave` knows, in one table: the prefix model references use, where each
// one's key and endpoint come from, its defaults, and how its model is built. Adding a
// provider is one entry here; backend.cpp decides which ones a run needs.
#pragma once

#include <conclave/engine/limited_model.hpp>
#include <conclave/engine/model.hpp>
#include <conclave/provider/codec.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::http {
class client;
}

namespace conclave::cli {

/// One provider's endpoint as a run uses it.
struct provider_config {
  std::string api_key;        ///< empty: no credentials sent
  std::string base_url;       ///< the endpoint, e.g. "https://api.openai.com/v1"
  std::string default_model;  ///< for requests that name no model
  std::chrono::milliseconds request_timeout{600'000};  ///< one call, connect to last byte
};

struct provider_entry {
  std::string name;              ///< the prefix of model references: "anthropic:claude-..."
  std::string key_env;           ///< "OPENAI_API_KEY"; empty: the provider takes no key
  std::string base_url_env;      ///< "OPENAI_BASE_URL"; empty: none
  std::string default_base_url;  ///< empty: the built-in mock's
  std::string default_model;     ///< for requests that name no model
  const provider::codec* wire = nullptr;  ///< its wire format (a static codec)
  /// The base URL is the origin's root, the API version in the paths ("{base}/v1/messages",
  /// as Anthropic's SDKs take ANTHROPIC_BASE_URL); the mock's ".../v1" is cut to its root.
  bool base_url_is_root = false;
  /// Which model names share one set of rate limits (limited_model); unset: each name.
  limited_model::limit_key limit_key;
};

/// Every provider, in the order a default is picked when several are configured
/// (openai, anthropic, mock).
const std::vector<provider_entry>& provider_registry();

/// The entry called `name`, or null.
const provider_entry* find_provider(std::string_view name);

/// The providers' names, ", "-separated: for messages and help.
std::string provider_names();

/// The one place a provider's model is built: the HTTP shell over `e`'s wire, on a shared
/// client (which must outlive it). Throws std::invalid_argument (a bad URL or setting).
std::unique_ptr<model> make_model(http::client& client, const provider_entry& e,
                                  const provider_config& c);

/// `url` (a mock's ".../v1") as `e` takes its base URL.
std::string base_url_for(const provider_entry& e, std::string url);

}  // namespace conclave::cli
