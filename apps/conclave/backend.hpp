// The model `conclave` talks to: a real OpenAI-compatible endpoint, or the built-in mock
// (an in-process mock server on a loopback port, so even the default path runs real HTTP).
#pragma once

#include "settings.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/limited_model.hpp>
#include <conclave/engine/model.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::cli {

/// The provider model behind its guards: circuit breakers (outermost, so failing fast costs
/// no rate-limit place), then rate limits (RPM/TPM when given, a cooldown and an adaptive
/// concurrency cap learnt from 429s and x-ratelimit-* headers either way).
struct backend {
  std::unique_ptr<http::client> client;
  std::unique_ptr<mock::mock_server> builtin_mock;  ///< set when answering with the mock
  std::unique_ptr<model> llm;                       ///< the provider itself
  std::unique_ptr<limited_model> limited;           ///< llm behind rate limits
  std::unique_ptr<breaker_model> guarded;           ///< limited behind circuit breakers
  /// What the engine calls.
  model& entry() const { return *guarded; }
  std::string provider;               ///< "openai" or "mock"
  std::string note;                   ///< said to the user, loudly: e.g. that the mock answers
  std::vector<std::string> warnings;  ///< said to the user before the run
};

/// Throws usage_error when the settings cannot work (openai without a key, a bad URL).
/// `open_file_limit` (-1: unknown) bounds the connection pool.
backend make_backend(boost::asio::any_io_executor ex, const ask_settings& s, long open_file_limit);

}  // namespace conclave::cli
