// The models `conclave` talks to: each provider a run needs (see providers.hpp) behind its own
// guards, and one router over them that the engine sees. With no provider configured, the
// built-in mock (an in-process mock server on a loopback port, so even that path runs real
// HTTP) answers every provider's references, each on its own wire.
#pragma once

#include "settings.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/limited_model.hpp>
#include <conclave/engine/model.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/router_model.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/redis/shared_limit_model.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::cli {

/// One provider's model behind its guards: circuit breakers (outermost, so failing fast costs
/// no rate-limit place), then rate limits (RPM/TPM when given, a cooldown and an adaptive
/// concurrency cap learnt from 429s and x-ratelimit-* headers either way). Each provider has
/// its own, so one provider's trouble never slows another.
struct provider_chain {
  std::string name;            ///< "openai", "anthropic", "mock"
  std::unique_ptr<model> llm;  ///< the provider itself
  /// llm behind the limits shared on Redis (--redis); null without
  std::unique_ptr<redis::shared_limit_model> shared;
  std::unique_ptr<limited_model> limited;  ///< shared (else llm) behind this process's limits
  std::unique_ptr<breaker_model> guarded;  ///< limited behind circuit breakers
};

struct backend {
  std::unique_ptr<http::client> client;
  std::unique_ptr<mock::mock_server> builtin_mock;  ///< set when the built-in mock answers
  std::unique_ptr<redis::connection> redis;         ///< --redis: where limits are shared
  std::unique_ptr<redis::shared_limiter> shared_limits;
  std::vector<provider_chain> providers;  ///< the default first, then as referenced
  std::unique_ptr<router_model> router;   ///< over every provider's guarded model
  /// What the engine calls.
  model& entry() const { return *router; }
  std::string provider;               ///< the default provider: bare model names go there
  std::string note;                   ///< said to the user, loudly: e.g. that the mock answers
  std::vector<std::string> warnings;  ///< said to the user before the run
};

/// Builds the providers the settings' model references need (default provider, -m, the
/// phase and agent models, fallbacks, through aliases). Throws usage_error when the settings
/// cannot work: a bad alias table, a chosen default provider or a referenced one that is not
/// configured while others are (naming its key variable), a bad URL.
/// `open_file_limit` (-1: unknown) bounds the connection pool.
backend make_backend(boost::asio::any_io_executor ex, const ask_settings& s, long open_file_limit);

/// The default provider (bare model names go there) and the base URL it is called at, as the
/// settings and environment resolve them without building anything: make_backend's choice.
/// The URL is empty when the built-in mock answers (its port changes every run). Never a key.
struct endpoint_choice {
  std::string provider;  ///< "openai", "anthropic", "mock"
  std::string base_url;  ///< as configured, or the provider's own; empty: the built-in mock
};
endpoint_choice default_endpoint(const ask_settings& s);

/// The models a run asked for, as "provider:model", each once in order of use (decomposition,
/// agents, synthesis): for the summary line.
std::string models_used(const run_report& r);

}  // namespace conclave::cli
