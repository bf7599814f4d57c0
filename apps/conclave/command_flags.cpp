// The commands' flags, declared with CLI11: what each command takes and how --help describes
// it. Texts that need more checking than CLI11's validators give are held in raw_flags.
#include "command_flags.hpp"

#include "ask_command.hpp"
#include "attempt_log.hpp"
#include "cli_numbers.hpp"
#include "input.hpp"
#include "limit_flags.hpp"
#include "plan_command.hpp"
#include "providers.hpp"
#include "resume_command.hpp"
#include "serve_command.hpp"

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string>

namespace conclave::cli {
namespace {

using apps::positive;
using apps::whole_number;

// --log FILE / --no-log, for each command that runs something (a given --log turns a config's
// "log": false back on).
void add_log_flags(CLI::App& cmd, cli::ask_settings& s, bool& no_log) {
  auto* log =
      cmd.add_option("--log", s.log_path,
                     "append the run to FILE (default: $XDG_STATE_HOME/conclave/runs.jsonl, "
                     "else ~/.local/state/conclave/runs.jsonl)")
          ->type_name("FILE")
          ->each([&s](const std::string&) { s.log = true; });
  cmd.add_flag("--no-log", no_log, "do not append the run to the attempt log")->excludes(log);
  cli::add_journal_flags(cmd, s);  // --journal FILE / --no-journal
}

// The question, as `ask` and `plan` take it.
void add_question(CLI::App* cmd, raw_flags& raw) {
  cmd->add_option("question", raw.question,
                  "the question; '-' reads it from stdin (piped text with a question becomes "
                  "context for it)");
  cmd->add_option("-f,--file", raw.question_file, "read the question from FILE")
      ->check(CLI::ExistingFile);
}

// How many agents, and how their decisions become one answer (ask, and plan for N).
void add_shape_flags(CLI::App* cmd, cli::ask_settings& s) {
  cmd->add_option("-n,--agents", s.agents,
                  "sub-questions, one agent each (1: ask directly, no synthesis; default: the "
                  "decomposer chooses, up to --max-agents)")
      ->check(CLI::Range(1, cli::max_agents));
  cmd->add_option("--max-agents", s.max_agents, "the most agents the decomposer may choose")
      ->check(CLI::Range(1, conclave::max_dynamic_agents))
      ->capture_default_str();
}

void add_combine_flags(CLI::App* cmd, cli::ask_settings& s) {
  cmd->add_option("--combine", s.combine,
                  "synthesize (one merge call), vote (majority of short answers; every agent "
                  "takes the whole question) or select (one call picks the most consistent "
                  "answer)")
      ->check(CLI::IsMember({"synthesize", "vote", "select"}));
  cmd->add_flag("--verify", s.verify,
                "a judge grades each decision; one that fails is revised once per round");
  cmd->add_option("--verify-rounds", s.verify_rounds, "judge-and-revise rounds (with --verify)")
      ->check(CLI::Range(1, 3))
      ->capture_default_str();
}

// Removes flags a command would accept only to ignore them.
void drop_flags(CLI::App* cmd, std::initializer_list<const char*> names) {
  for (const char* name : names) cmd->remove_option(cmd->get_option(name));
}

// Every flag of a run, shared by ask, run and plan (one set of variables: one command parses);
// plan and run then drop the ones that mean nothing to them.
void add_run_flags(CLI::App* ask, cli::ask_settings& s, raw_flags& raw) {
  ask->add_option("-m,--model", s.model,
                  "every phase's model (default: the provider's); provider:model picks the "
                  "provider, e.g. anthropic:claude-sonnet-4-5; or an alias from the config");
  ask->add_option("-s,--system", s.system, "system text every agent shares");
  std::vector<std::string> providers;
  for (const auto& e : cli::provider_registry()) providers.push_back(e.name);
  ask->add_option("--provider", s.provider,
                  "the default provider, for bare model names: openai, anthropic or mock "
                  "(default: the first whose key or base URL is set, else the built-in mock)")
      ->check(CLI::IsMember(providers));
  ask->add_option("--base-url", s.base_url,
                  "the default provider's endpoint (default: its *_BASE_URL, else its own)");
  ask->add_option("--concurrency", s.concurrency,
                  "agents calling the model at once; the rest queue")
      ->check(CLI::Range(1, cli::max_agents))
      ->capture_default_str();
  ask->add_option("--max-connections", s.max_connections,
                  "HTTP connections to the endpoint (default: --concurrency)")
      ->check(CLI::Range(1, 100'000));
  ask->add_option("--timeout", raw.timeout,
                  "seconds for the whole run (default 300; inf: no limit)");
  ask->add_option("--agent-timeout", raw.agent_timeout,
                  "seconds for each agent (default: the run's)");
  ask->add_option(
      "--decompose-timeout", raw.decompose_timeout,
      "seconds for the decomposition call (default: a quarter of --timeout, at most 60)");
  ask->add_option("--max-output-tokens,--max-tokens", raw.max_output_tokens,
                  "cap on each reply's tokens")
      ->check(positive<int>("a whole number > 0"));
  ask->add_option("--temperature", raw.temperature, "sampling temperature (0 to 2)")
      ->check(CLI::Range(0.0, 2.0));
  ask->add_option("--decompose-model", s.decompose_model, "model for the decomposition call");
  ask->add_option("--synth-model", s.synth_model, "model for the synthesis call");
  auto* agent_model =
      ask->add_option("--agent-model", raw.agent_model, "model for every agent (default: -m)");
  ask->add_option("--agent-models", raw.agent_models,
                  "models the agents take in turn: agent 1 the first, agent 2 the second... "
                  "(comma-separated, e.g. openai:gpt-4o,anthropic:claude-sonnet-4-5, or repeated)")
      ->allow_extra_args(false)
      ->excludes(agent_model);
  ask->add_option("--fallback-model", s.fallback_models,
                  "when the model fails for good, agents move to this one (repeatable, in order)")
      ->allow_extra_args(false);  // one name per flag: a following question is not a second name
  cli::add_limit_flags(*ask, s);  // --rpm, --tpm, --redis, --redis-org
  ask->add_option("--budget-tokens", s.budget.max_tokens,
                  "the run's token budget: once spent, no new call starts")
      ->check(positive<std::int64_t>("a whole number > 0"));
  ask->add_option("--budget-cost,--max-cost", s.budget.max_cost,
                  "the run's cost budget (needs \"prices\" in the config)")
      ->check(positive<double>("a number > 0"));
  ask->add_flag("--stop-at-budget", s.budget.cancel_running,
                "when a budget is spent, stop running agents too");
  ask->add_flag("--json", s.json, "print the run report as one JSON object");
  ask->add_option("--events", raw.events, "print every event as a JSON line (the report last)")
      ->check(CLI::IsMember({"jsonl"}));
  ask->add_flag(
      "--no-stream", raw.no_stream,
      "wait for whole replies instead of streaming (Anthropic streams on the wire anyway)");
  ask->add_flag("--show-agents", s.show_agents, "print each agent's decision after the answer");
  ask->add_option("--save", s.save_path, "also write the JSON report to FILE");
  auto* quiet = ask->add_flag("-q,--quiet", s.quiet, "no progress display and no summary line");
  ask->add_flag("-v,--verbose", s.verbose, "progress as plain event lines, even on a terminal")
      ->excludes(quiet);
  ask->add_flag("--no-stdin", raw.no_stdin,
                "never read stdin as context for a question (for loops that read stdin)");
  ask->add_option("--color", s.color, "auto, always or never (auto honours NO_COLOR and TERM=dumb)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  ask->add_option("--ca-file", s.ca_file, "trust this CA (PEM) for https endpoints")
      ->check(CLI::ExistingFile);
  ask->add_option("--tool", s.tools,
                  "give the agents a built-in tool: calculator, read_file, list_dir, write_file "
                  "(repeat for several; the file tools need --root, and write_file writes only "
                  "inside it)")
      ->check(CLI::IsMember({"calculator", "read_file", "list_dir", "write_file"}))
      ->delimiter(',')
      ->allow_extra_args(false);
  ask->add_option("--root", s.roots,
                  "a directory the file tools may see, and write_file write in (repeatable)")
      ->check(CLI::ExistingDirectory)
      ->allow_extra_args(false);
  ask->add_option("--mcp", s.mcp_path,
                  "MCP servers' tools for the agents, from FILE: "
                  "{\"mcpServers\": {\"name\": {\"command\", \"args\", \"env\"} | {\"url\"}}}")
      ->check(CLI::ExistingFile);
  ask->add_option("--max-turns", s.max_turns,
                  "model calls per agent when it has tools (default 10)")
      ->check(whole_number(1, cli::max_turns_limit, "TURNS"));
  ask->add_option("--max-tool-calls", s.max_tool_calls, "tool calls per agent (default 20)")
      ->check(whole_number(1, cli::max_tool_calls_limit, "CALLS"));
  ask->add_option("--tool-timeout", raw.tool_timeout, "seconds per tool call (default 60)");
  ask->add_option("--config", raw.config, "JSON defaults (see apps/conclave/config.example.json)");
  add_log_flags(*ask, s, raw.no_log);
  ask->footer(
      "Environment: OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, "
      "CONCLAVE_CONFIG, NO_COLOR, XDG_STATE_HOME (the attempt log).\n"
      "Exit status: 0 answered, 1 failed, 2 usage error, 130 interrupted (Ctrl-C).");
}

}  // namespace

CLI::App* add_log(CLI::App& app, cli::log_command_options& o) {
  auto* log = app.add_subcommand("log", "Recent runs from the attempt log, with their speedups.");
  log->add_option("-n", o.n, "runs to show (the latest)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  log->add_option("--log", o.path,
                  "read FILE (default: the config's \"log\", else the per-user log)")
      ->type_name("FILE");
  log->add_flag("--json", o.json, "the runs as one JSON array, one object per line of the log");
  return log;
}

CLI::App* add_ask(CLI::App& app, cli::ask_settings& s, raw_flags& raw) {
  auto* ask = app.add_subcommand(
      "ask",
      "Heavy mode: one call splits the question into sub-questions (or a plan), agents answer "
      "them in parallel, their decisions become one answer.");
  add_question(ask, raw);
  add_shape_flags(ask, s);
  add_combine_flags(ask, s);
  add_run_flags(ask, s, raw);
  return ask;
}

CLI::App* add_plan(CLI::App& app, cli::ask_settings& s, raw_flags& raw) {
  auto* plan = app.add_subcommand(
      "plan",
      "Print the decomposer's plan for a question as JSON (edit it, then: conclave run FILE).");
  add_question(plan, raw);
  add_shape_flags(plan, s);
  add_combine_flags(plan, s);
  add_run_flags(plan, s, raw);
  // Only the decomposition call happens: what shapes the agents, the answer or the output of a
  // run is not for `plan`.
  drop_flags(plan, {"--system",        "--concurrency", "--agent-timeout",  "--decompose-timeout",
                    "--synth-model",   "--agent-model", "--agent-models",   "--fallback-model",
                    "--budget-tokens", "--budget-cost", "--stop-at-budget", "--json",
                    "--events",        "--no-stream",   "--show-agents",    "--save",
                    "--quiet",         "--verbose",     "--color",          "--tool",
                    "--root",          "--mcp",         "--max-turns",      "--max-tool-calls",
                    "--tool-timeout",  "--log",         "--no-log",         "--journal",
                    "--no-journal"});
  plan->footer(
      "Environment: OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, "
      "CONCLAVE_CONFIG.\n"
      "Exit status: 0 a plan was printed, 1 the decomposition failed, 2 usage error, 130 "
      "interrupted.");
  return plan;
}

CLI::App* add_run(CLI::App& app, cli::ask_settings& s, raw_flags& raw) {
  auto* run = app.add_subcommand(
      "run",
      "Run a plan from a JSON file: {\"question\", \"subtasks\": [{\"id\", \"prompt\", "
      "\"depends_on\", \"exclusive\", \"role\", \"model\", \"tools\", \"optional\", "
      "\"priority\"}], \"combine\", \"verify\"} (only id and prompt are required).");
  run->add_option("plan", raw.plan_file, "the plan file ('-': stdin)")->required();
  add_combine_flags(run, s);  // given: over the file's
  add_run_flags(run, s, raw);
  drop_flags(run, {"--decompose-model", "--decompose-timeout", "--no-stdin"});
  return run;
}

CLI::App* add_serve(CLI::App& app, cli::ask_settings& s, raw_flags& raw, cli::serve_settings& v) {
  auto* serve = app.add_subcommand(
      "serve",
      "Heavy mode behind HTTP: an OpenAI-compatible model (conclave-heavy, conclave-heavy-N: "
      "/v1/chat/completions, /v1/responses) and a task API (/v1/tasks), on the same providers.");
  cli::add_serve_options(*serve, v);  // --listen, --keys-file, --workers... (serve_flags.cpp)
  add_shape_flags(serve, s);
  add_combine_flags(serve, s);
  add_run_flags(serve, s, raw);
  serve->get_option("--redis")->description(
      "share --rpm, --tpm, 429 cooldowns, the run journal and the task queue with every "
      "conclave on this Redis (redis://[[user]:password@]host[:port][/db]; no TLS)");
  drop_flags(serve, {"--json", "--events", "--no-stream", "--show-agents", "--save", "--no-stdin",
                     "--color", "--quiet", "--mcp", "--log", "--no-log"});
  serve->footer(
      "Environment: OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, "
      "CONCLAVE_CONFIG, XDG_STATE_HOME (the journal), CONCLAVE_REDIS_URL (--redis: the journal "
      "is on Redis, shared by every instance there).\n"
      "The first line on stdout says where it listens. SIGTERM / Ctrl-C: stop taking work, let "
      "runs finish within --grace, then stop (a second signal quits at once: 128 + signal). Exit "
      "status: 0 stopped, 1 could not start, 2 "
      "usage error.");
  return serve;
}

}  // namespace conclave::cli
