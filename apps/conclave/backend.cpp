#include "backend.hpp"

#include "providers.hpp"

#include <conclave/engine/text.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace conclave::cli {
namespace {

const provider_env* env_of(const ask_settings& s, std::string_view provider) {
  auto it = std::find_if(s.endpoints.begin(), s.endpoints.end(),
                         [&](const provider_env& e) { return e.name == provider; });
  return it == s.endpoints.end() ? nullptr : &*it;
}

// A provider is configured by its environment: a key or a base URL.
bool has_env(const ask_settings& s, std::string_view provider) {
  const provider_env* e = env_of(s, provider);
  return e && (!e->api_key.empty() || !e->base_url.empty());
}

// Which provider takes bare names: the chosen one, else the first configured (in registry
// order), else openai when only a --base-url says where (an Ollama or vLLM server), else mock.
std::string default_provider(const ask_settings& s) {
  if (!s.provider.empty()) return s.provider;
  for (const auto& e : provider_registry()) {
    if (has_env(s, e.name)) return e.name;
  }
  return s.base_url.empty() ? "mock" : "openai";
}

// "OPENAI_API_KEY or ANTHROPIC_API_KEY": the variables that configure a real provider.
std::string key_variables() {
  std::string out;
  for (const auto& e : provider_registry()) {
    if (!e.key_env.empty()) out += (out.empty() ? "" : " or ") + e.key_env;
  }
  return out;
}

// "set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL)".
std::string how_to_configure(const provider_entry& e) {
  return "set " + e.key_env + (e.base_url_env.empty() ? "" : " (or " + e.base_url_env + ")");
}

// Every model reference the settings hold, beside the flag that set it (for messages).
std::vector<std::pair<std::string, std::string>> references(const ask_settings& s) {
  std::vector<std::pair<std::string, std::string>> out{
      {"-m", s.model}, {"--decompose-model", s.decompose_model}, {"--synth-model", s.synth_model}};
  for (const auto& m : s.agent_models) out.emplace_back("--agent-models", m);
  for (const auto& m : s.fallback_models) out.emplace_back("--fallback-model", m);
  return out;
}

std::unique_ptr<http::client> make_client(boost::asio::any_io_executor ex, const ask_settings& s,
                                          long open_file_limit, backend& b) {
  http::client_options copts;
  copts.tls.ca_file = s.ca_file;
  // As many connections as agents call at once (the client's default, 256, held a
  // 2,048-agent run to 256 calls in flight), within the open-file limit.
  std::size_t connections =
      static_cast<std::size_t>(s.max_connections > 0 ? s.max_connections : s.concurrency);
  if (open_file_limit > 0) {
    const auto room = static_cast<std::size_t>(std::max(16L, open_file_limit - 64));
    if (connections > room) {
      b.warnings.push_back("the open-file limit (" + std::to_string(open_file_limit) +
                           ") holds connections to " + std::to_string(room));
      connections = room;
    }
  }
  copts.max_connections_per_origin = connections;
  return std::make_unique<http::client>(ex, copts);
}

// One provider's model behind its own limits and breakers.
provider_chain guarded(const provider_entry& e, http::client& client, const provider_config& c,
                       const ask_settings& s, redis::shared_limiter* shared) {
  provider_chain p;
  p.name = e.name;
  try {
    p.llm = make_model(client, e, c);
  } catch (const std::invalid_argument& x) {
    throw usage_error(e.name + ": " + x.what());
  }
  // Limits shared on Redis sit next to the provider, so a call reserves its place just
  // before it starts; keyed by organisation, provider and model family.
  if (shared) {
    auto family = e.limit_key;
    p.shared = std::make_unique<redis::shared_limit_model>(
        *p.llm, *shared, redis::shared_limit{s.rpm, s.tpm, std::chrono::milliseconds(60'000)},
        [org = s.redis_org, provider = e.name, family,
         fallback = c.default_model](std::string_view name) {
          const std::string_view model = name.empty() ? std::string_view(fallback) : name;
          return org + ":" + provider + ":" + (family ? family(model) : std::string(model));
        });
  }
  rate_limit_options limits;
  limits.max_concurrency = s.concurrency;  // the most a run asks for; 429s shrink it
  limits.requests_per_window = s.rpm;
  limits.tokens_per_window = s.tpm;
  // A request naming no model uses the provider's default: keyed by it, so it shares the
  // limits of requests naming that model (or its family) explicitly.
  limited_model::limit_key key;
  if (e.limit_key) {
    key = [family = e.limit_key, fallback = c.default_model](std::string_view name) {
      return family(name.empty() ? std::string_view(fallback) : name);
    };
  }
  p.limited = std::make_unique<limited_model>(p.shared ? static_cast<model&>(*p.shared) : *p.llm,
                                              limits, std::move(key));
  breaker_options breaker;
  breaker.failure_threshold = s.breaker_failures;
  breaker.cool_off = std::chrono::milliseconds(to_milliseconds(s.breaker_cool_off_s));
  p.guarded = std::make_unique<breaker_model>(*p.limited, breaker);
  return p;
}

// Whether any real provider is configured: otherwise the mock answers every reference.
bool any_configured(const ask_settings& s, const std::string& provider) {
  bool any = provider != "mock" && !s.base_url.empty();
  for (const auto& e : provider_registry()) any = any || has_env(s, e.name);
  return any;
}

}  // namespace

endpoint_choice default_endpoint(const ask_settings& s) {
  endpoint_choice c;
  c.provider = default_provider(s);
  const provider_entry* e = find_provider(c.provider);
  const provider_env* env = env_of(s, c.provider);
  // The same order as make_backend's: mock mode, --base-url, the variable, the provider's own.
  if (!any_configured(s, c.provider)) {
    c.base_url = s.base_url;
  } else if (!s.base_url.empty()) {
    c.base_url = s.base_url;
  } else if (env && !env->base_url.empty()) {
    c.base_url = env->base_url;
  } else if (e) {
    c.base_url = e->default_base_url;
  }
  return c;
}

backend make_backend(boost::asio::any_io_executor ex, const ask_settings& s, long open_file_limit) {
  backend b;
  b.client = make_client(ex, s, open_file_limit, b);
  b.provider = default_provider(s);
  const provider_entry& chosen = *find_provider(b.provider);
  // No real provider: the mock answers every provider's references, each on its own wire.
  const bool mock_mode = !any_configured(s, b.provider);
  if (b.provider != "mock" && !has_env(s, b.provider) && s.base_url.empty()) {
    throw usage_error("--provider " + b.provider + " needs " + chosen.key_env + " (or " +
                      chosen.base_url_env + ", or --base-url); or use --provider mock");
  }

  if (!s.redis_url.empty()) {
    redis::connection_options ro;
    ro.where = *redis::parse_url(s.redis_url);  // checked when the flag was read
    b.redis = std::make_unique<redis::connection>(ex, ro);
    b.shared_limits = std::make_unique<redis::shared_limiter>(*b.redis);
  }

  std::vector<std::string> names;
  for (const auto& e : provider_registry()) names.push_back(e.name);
  const model_routes routes = [&] {
    try {
      return model_routes(names, b.provider, s.aliases);
    } catch (const std::invalid_argument& x) {
      throw usage_error(std::string("aliases: ") + x.what());
    }
  }();
  // The providers this run calls: the default first, then each one a reference leads to.
  std::vector<std::string> needed{b.provider};
  for (const auto& [flag, ref] : references(s)) {
    const std::string provider = routes.resolve(ref).provider;
    if (std::find(needed.begin(), needed.end(), provider) != needed.end()) continue;
    if (!mock_mode && provider != "mock" && !has_env(s, provider)) {
      throw usage_error(flag + " '" + text::for_terminal(text::quote(ref, 80), false) +
                        "' needs the " + provider + " provider, which is not configured: " +
                        how_to_configure(*find_provider(provider)));
    }
    needed.push_back(provider);
  }

  auto builtin_url = [&] {
    if (!b.builtin_mock) {
      mock::mock_options mopts;
      mopts.latency = std::chrono::milliseconds(150);  // enough to see the answer stream in
      mopts.stream_interval = std::chrono::milliseconds(15);
      b.builtin_mock = std::make_unique<mock::mock_server>(ex, mopts);
      b.builtin_mock->start();
    }
    return b.builtin_mock->base_url();
  };
  // In mock mode a --base-url (with --provider mock) is an external conclave-mock.
  const std::string mock_url = mock_mode && !s.base_url.empty() ? s.base_url : "";
  for (const auto& name : needed) {
    const provider_entry& e = *find_provider(name);
    const provider_env* env = env_of(s, name);
    provider_config c;
    c.request_timeout = std::chrono::milliseconds(to_milliseconds(s.timeout_s));
    c.api_key = env ? env->api_key : "";
    c.default_model = mock_mode ? "mock" : e.default_model;
    if (mock_mode) {
      c.base_url = base_url_for(e, mock_url.empty() ? builtin_url() : mock_url);
    } else if (name == b.provider && !s.base_url.empty()) {
      c.base_url = s.base_url;
    } else if (env && !env->base_url.empty()) {
      c.base_url = env->base_url;
    } else {
      c.base_url = e.default_base_url.empty() ? base_url_for(e, builtin_url()) : e.default_base_url;
    }
    b.providers.push_back(guarded(e, *b.client, c, s, b.shared_limits.get()));
  }

  if (mock_mode) {
    b.note = mock_url.empty() ? "no " + key_variables() +
                                    " set: answering with the built-in mock model (canned "
                                    "text, not a real LLM)"
                              : "answering with the mock model at " + mock_url;
  } else if (b.builtin_mock) {
    b.note = b.provider == "mock" ? "answering with the built-in mock model (canned text, not a "
                                    "real LLM)"
                                  : "the built-in mock model (canned text, not a real LLM) "
                                    "answers the mock: references";
  } else if (b.provider == "mock") {
    b.note = "answering with the mock model at " + s.base_url;
  }

  // The router sees the aliases flat ("name" -> "provider:model"), only those it can reach:
  // an unused alias to a provider this run does not build is no error.
  alias_table reachable;
  for (const auto& [name, route] : routes.aliases()) {
    if (std::find(needed.begin(), needed.end(), route.provider) != needed.end())
      reachable[name] = route.provider + ":" + route.model;
  }
  std::vector<router_model::provider> table;
  for (auto& p : b.providers) table.push_back({p.name, *p.guarded});
  b.router = std::make_unique<router_model>(std::move(table), b.provider, std::move(reachable));
  return b;
}

std::string models_used(const run_report& r) {
  std::vector<std::string> seen;
  auto note = [&](const std::string& ref) {
    if (!ref.empty() && std::find(seen.begin(), seen.end(), ref) == seen.end()) seen.push_back(ref);
  };
  if (r.decomposition_attempts > 0) note(r.decomposition_model_ref);
  for (const auto& a : r.agents) note(a.model_ref);
  if (r.synthesis_attempts > 0) note(r.synthesis_model_ref);
  constexpr std::size_t shown = 4;
  std::string out;
  for (std::size_t i = 0; i < std::min(shown, seen.size()); ++i) out += (i ? ", " : "") + seen[i];
  if (seen.size() > shown) out += " and " + std::to_string(seen.size() - shown) + " more";
  return out;
}

}  // namespace conclave::cli
