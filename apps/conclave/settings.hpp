// What `conclave ask` was asked to do: flags, then environment, then a JSON config file.
#pragma once

#include <conclave/engine/budget.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace conclave::cli {

struct ask_settings {
  std::string question;
  std::string provider;      ///< "openai", "mock", or empty: openai if a key is set, else mock
  std::string model;         ///< empty: the provider's default
  std::string base_url;      ///< empty: OPENAI_BASE_URL, else the provider's default
  std::string api_key;       ///< OPENAI_API_KEY; never printed
  std::string ca_file;       ///< extra trusted CA (PEM) for https endpoints
  double timeout_s = 300;    ///< the whole run (decomposition, agents, synthesis)
  int agents = 4;            ///< sub-questions, one agent each; 1: no decomposition
  int concurrency = 16;      ///< agents calling the model at once
  bool json = false;         ///< the run report as one JSON object on stdout
  bool events_jsonl = false; ///< every event as a JSON line on stdout
  bool stream = true;        ///< agents stream their replies (live progress)
  std::vector<std::string> fallback_models;  ///< tried in order when the model fails for good
  std::int64_t rpm = 0;      ///< requests per minute the provider allows; 0: learn from it
  std::int64_t tpm = 0;      ///< tokens per minute the provider allows; 0: learn from it
  budget_options budget;     ///< max tokens / max cost (with prices) for the run
  int breaker_failures = 5;  ///< consecutive failures that open a model's circuit; 0: never
  double breaker_cool_off_s = 30;  ///< how long an open circuit fails fast
};

/// Thrown for a bad command line or config file; main prints it with the usage hint.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses `ask` arguments (after the word "ask"), the environment and the config file
/// (--config F, else $CONCLAVE_CONFIG, else ~/.config/conclave/config.json if present).
/// Flags win over the config file; the config file wins over built-in defaults.
ask_settings parse_ask(const std::vector<std::string>& args);

extern const char* const ask_usage;

}  // namespace conclave::cli
