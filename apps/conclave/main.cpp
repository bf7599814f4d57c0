// conclave: the command line. main() parses the commands' flags (command_flags.*), turns the
// texts held for checking into settings, and runs the command; what the settings mean lives in
// settings.* and the commands' own files.
#include "ask_command.hpp"
#include "attempt_log.hpp"
#include "command_flags.hpp"
#include "input.hpp"
#include "plan_command.hpp"
#include "process_setup.hpp"
#include "providers.hpp"
#include "resume_command.hpp"
#include "serve_command.hpp"
#include "settings.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace cli = conclave::cli;
using cli::raw_flags;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The config file named by --config (found before parsing, so its values sit under the flags),
// else $CONCLAVE_CONFIG, else ~/.config/conclave/config.json when it exists.
void load_config(int argc, char** argv, cli::ask_settings& s) {
  std::string path = env("CONCLAVE_CONFIG");
  bool required = !path.empty();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "--config" && i + 1 < argc) path = argv[i + 1], required = true;
    if (a.starts_with("--config=")) path = a.substr(9), required = true;
  }
  if (path.empty() && !env("HOME").empty()) path = env("HOME") + "/.config/conclave/config.json";
  if (!path.empty()) cli::apply_config_file(path, required, s);
}

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe is a failed write (EPIPE), reported and turned into exit 1, not a silent
  // death by SIGPIPE that loses --save and the error message.
  std::signal(SIGPIPE, SIG_IGN);
  cli::standard_fds fds = cli::ensure_standard_fds();
  fds.open_files = cli::raise_open_file_limit();

  cli::ask_settings s;
  try {
    load_config(argc, argv, s);
  } catch (const cli::usage_error& e) {
    std::cerr << "conclave: " << e.what() << "\n";
    return 2;
  }
  for (const auto& e : cli::provider_registry()) {
    if (e.key_env.empty() && e.base_url_env.empty()) continue;
    s.endpoints.push_back({e.name, e.key_env, e.key_env.empty() ? "" : env(e.key_env.c_str()),
                           e.base_url_env,
                           e.base_url_env.empty() ? "" : env(e.base_url_env.c_str())});
  }

  CLI::App app{"conclave: many LLM agents in parallel, one merged answer"};
  app.set_version_flag("-V,--version", cli::version_text);
  app.require_subcommand(1);
  raw_flags raw;
  CLI::App* ask = cli::add_ask(app, s, raw);
  CLI::App* plan_cmd = cli::add_plan(app, s, raw);
  CLI::App* run = cli::add_run(app, s, raw);
  cli::serve_settings serve_options;
  CLI::App* serve = cli::add_serve(app, s, raw, serve_options);
  cli::log_command_options log_options;
  CLI::App* log = cli::add_log(app, log_options);
  cli::resume_options resume_options;
  CLI::App* resume = cli::add_resume(app, s, resume_options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, std::cout, std::cerr);
    return code == 0 ? 0 : 2;  // every usage error exits 2
  }
  if (log->parsed()) {
    if (log_options.path.empty()) log_options.path = s.log_path;  // the config's "log"
    return cli::run_log_command(log_options);
  }
  if (resume->parsed()) return cli::run_resume(s, resume_options, fds);
  if (!ask->parsed() && !plan_cmd->parsed() && !run->parsed() && !serve->parsed()) return 2;
  const char* command = serve->parsed()      ? "serve"
                        : run->parsed()      ? "run"
                        : plan_cmd->parsed() ? "plan"
                                             : "ask";

  try {
    if (!raw.timeout.empty()) s.timeout_s = cli::parse_seconds("--timeout", raw.timeout);
    if (!raw.agent_timeout.empty())
      s.agent_timeout_s = cli::parse_seconds("--agent-timeout", raw.agent_timeout);
    if (!raw.decompose_timeout.empty()) {
      s.decompose_timeout_s = cli::parse_seconds("--decompose-timeout", raw.decompose_timeout);
    }
    if (!raw.tool_timeout.empty())
      s.tool_timeout_s = cli::parse_seconds("--tool-timeout", raw.tool_timeout);
    if (!raw.events.empty()) s.events_jsonl = true;
    if (raw.no_log) s.log = false;
    if (raw.max_output_tokens > 0) s.max_output_tokens = raw.max_output_tokens;
    if (std::isnan(raw.temperature))
      throw cli::usage_error("--temperature needs a number from 0 to 2");
    if (raw.temperature >= 0) s.temperature = raw.temperature;
    if (raw.no_stream) s.stream = false;
    if (!raw.agent_models.empty()) {
      // Split here rather than by CLI11, which drops an empty entry ("a,,b") and so shifts
      // every later agent's model; validate() names it instead.
      s.agent_models.clear();
      for (const auto& list : raw.agent_models) {
        for (std::size_t from = 0;;) {
          const auto comma = list.find(',', from);
          s.agent_models.push_back(list.substr(from, comma - from));
          if (comma == std::string::npos) break;
          from = comma + 1;
        }
      }
    }
    if (!raw.agent_model.empty()) s.agent_models = {raw.agent_model};  // over the config's list
    if (run->parsed()) {
      s.plan_to_run =
          cli::read_plan_file(raw.plan_file, fds.stdin_readable);  // exits 2 when invalid
      // Flags given on the command line win over the file's.
      if (run->count("--combine") > 0) {
        s.plan_to_run->combine =
            conclave::combine_mode_from(s.combine).value_or(conclave::combine_mode::synthesize);
      }
      if (run->count("--verify") > 0) s.plan_to_run->verify = true;
      if (run->count("--verify-rounds") > 0) s.plan_to_run->verify_rounds = s.verify_rounds;
      s.question = s.plan_to_run->question;
    } else if (!serve->parsed()) {
      s.question =
          cli::read_question(raw.question, raw.question_file, fds.stdin_readable && !raw.no_stdin);
    }
    cli::validate(s, !serve->parsed());
    cli::check_save_path(s.save_path);  // before paying for a run whose report it would lose
    if (fds.stdout_closed && s.save_path.empty()) {
      std::cerr << "conclave: stdout is closed: the answer would be lost (use --save FILE)\n";
      return 1;
    }
  } catch (const cli::usage_error& e) {
    std::cerr << "conclave: " << e.what() << "\nRun 'conclave " << command
              << " --help' for the options.\n";
    return 2;
  }
  try {
    if (plan_cmd->parsed()) return cli::run_plan_command(s, fds);
    if (serve->parsed()) return cli::run_serve(s, serve_options, fds);
    return cli::run_ask(s, fds);
  } catch (const cli::usage_error& e) {
    std::cerr << "conclave: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "conclave: internal error: " << e.what() << "\n";
    return 1;
  }
}
