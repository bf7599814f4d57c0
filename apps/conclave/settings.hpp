// What `conclave ask` was asked to do, from built-in defaults, then the JSON config file, then
// the environment, then flags (each wins over the one before; except that the config file's
// base_url wins over the default provider's base-URL variable, e.g. OPENAI_BASE_URL).
#pragma once

#include <conclave/engine/budget.hpp>
#include <conclave/engine/model_routes.hpp>
#include <conclave/engine/plan.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace conclave::cli {

inline constexpr int max_agents = 10'000;
inline constexpr int max_turns_limit = 1'000;
inline constexpr int max_tool_calls_limit = 100'000;
inline constexpr const char* version_text = "conclave 0.1.0";

/// One provider's key and endpoint as the environment gives them (see providers.hpp).
struct provider_env {
  std::string name;          ///< the provider: "openai"
  std::string key_env;       ///< the variable its key comes from: "OPENAI_API_KEY"
  std::string api_key;       ///< its value, trimmed (by validate); never printed
  std::string base_url_env;  ///< "OPENAI_BASE_URL"
  std::string base_url;      ///< its value, trimmed (by validate)
};

struct ask_settings {
  std::string question;  ///< the whole prompt: question, plus piped context when both
  /// The default provider (bare model names go there): "openai", "anthropic", "mock"; empty:
  /// the first with a key or base URL in the environment, else openai with a --base-url, else
  /// mock.
  std::string provider;
  std::string model;            ///< every phase's model reference; empty: the provider's default
  std::string decompose_model;  ///< for the decomposition call; empty: `model`
  std::string synth_model;      ///< for the synthesis call; empty: `model`
  /// The agents' models, taken in turn (--agent-model M is a list of one); empty: `model`.
  std::vector<std::string> agent_models;
  alias_table aliases;   ///< name -> model reference ("planner" -> "anthropic:claude-...")
  std::string base_url;  ///< the default provider's; empty: its base-URL variable, else its own
  std::vector<provider_env> endpoints;  ///< every provider's key and URL from the environment
  std::string ca_file;                  ///< extra trusted CA (PEM) for https endpoints
  std::string system;                   ///< extra system text every agent shares (-s)
  double timeout_s = 300;               ///< the whole run; +inf: no limit
  double agent_timeout_s = 0;           ///< each agent, from when it is queued; 0: the run's
  double decompose_timeout_s = 0;  ///< the decomposition call; 0: a quarter of the run, <= 60 s
  /// Sub-questions, one agent each; 1: no decomposition, no synthesis; 0: the decomposer
  /// chooses, from 1 to `max_agents`.
  int agents = 0;
  int max_agents = 10;                        ///< the most the decomposer may choose (<= 20)
  std::string combine = "synthesize";         ///< synthesize | vote | select
  bool verify = false;                        ///< the verify stage (judge, revise once per round)
  int verify_rounds = 1;                      ///< its rounds, 1-3
  std::optional<conclave::plan> plan_to_run;  ///< conclave run FILE: the plan, validated
  int concurrency = 16;                       ///< agents calling the model at once
  int max_connections = 0;               ///< HTTP connections to the endpoint; 0: `concurrency`
  std::optional<int> max_output_tokens;  ///< per reply
  std::optional<double> temperature;
  bool json = false;           ///< the run report as one JSON object on stdout
  bool events_jsonl = false;   ///< every event as a JSON line on stdout
  bool stream = true;          ///< stream replies (live progress, the answer as it is written)
  bool quiet = false;          ///< no progress display and no summary line
  bool verbose = false;        ///< progress as plain event lines, even on a terminal
  bool show_agents = false;    ///< print every agent's decision after the answer
  std::string save_path;       ///< also write the JSON report here
  std::string color = "auto";  ///< auto | always | never
  std::vector<std::string> fallback_models;  ///< tried in order when the model fails for good
  std::int64_t rpm = 0;  ///< requests per minute the provider allows; 0: learn from it
  std::int64_t tpm = 0;  ///< tokens per minute the provider allows; 0: learn from it
  /// rpm, tpm, 429 cooldowns and the provider's remaining budget shared with every process
  /// on this Redis (redis://host:port[/db]); empty: this process's own limits only.
  std::string redis_url;
  std::string redis_org = "default";  ///< whose limits they are: the first part of their key
  budget_options budget;              ///< the run's token / cost cap (with prices)
  int breaker_failures = 5;        ///< consecutive failures that open a model's circuit; 0: never
  double breaker_cool_off_s = 30;  ///< how long an open circuit fails fast
  std::vector<std::string> warnings;  ///< said on stderr before the run (e.g. unknown config keys)
  std::vector<std::string> tools;     ///< built-in tools the agents get (--tool)
  std::vector<std::string> roots;     ///< directories the file tools may see (--root)
  std::string mcp_path;               ///< MCP servers' config (--mcp FILE), mcpServers shape
  int max_turns = 10;                 ///< model calls per agent when it has tools
  int max_tool_calls = 20;            ///< tool calls per agent
  double tool_timeout_s = 60;         ///< each tool call; +inf: no limit but the agent's
  bool log = true;           ///< append the run to the attempt log (--no-log, "log": false: not)
  std::string log_path;      ///< the attempt log (--log FILE); empty: the per-user default
  bool journal = true;       ///< journal the run, so it can be resumed (--no-journal: not)
  std::string journal_path;  ///< the run journal (--journal FILE); empty: the per-user default
};

/// A bad command line, environment or config file: main prints it and exits with 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A year, in seconds: longer times mean no limit.
inline constexpr double year_seconds = 365.0 * 24 * 3600;

/// Seconds as a duration in milliseconds: +inf (and anything past a year) is "no limit",
/// held as a year so time arithmetic cannot overflow.
std::int64_t to_milliseconds(double seconds) noexcept;

/// A number of seconds from text: positive; "inf", "none" or a huge value mean no limit
/// (+inf). Throws usage_error naming `what` otherwise.
double parse_seconds(const std::string& what, const std::string& text);

/// Applies the JSON config at `path` to `s`. A missing file is an error only when `required`.
/// Unknown keys are not errors: each adds a warning naming it.
void apply_config_file(const std::string& path, bool required, ask_settings& s);

/// `value` with surrounding white space trimmed; throws usage_error naming `what` (never
/// quoting the value: it may be a secret) when a control character remains.
std::string header_safe(const std::string& what, const std::string& value);

/// Makes sure `path` (if any) can be written, creating it; throws usage_error saying why not.
void check_save_path(const std::string& path);

/// Checks what flags cannot check alone (names usable in headers, a price table for a cost
/// budget, the question's encoding). Throws usage_error.
void validate(ask_settings& s, bool needs_question = true);  // serve takes questions later

}  // namespace conclave::cli
