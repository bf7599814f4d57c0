// The flags of `conclave resume`, and --journal / --no-journal for ask and run. Kept apart from
// main.cpp (which declares every other flag) so the journal's flags live with the journal.
#include "resume_command.hpp"

#include <CLI/CLI.hpp>

namespace conclave::cli {

void add_journal_flags(CLI::App& cmd, ask_settings& s) {
  auto* journal =
      cmd.add_option("--journal", s.journal_path,
                     "journal the run in FILE, so a killed run can be resumed (default: "
                     "$XDG_STATE_HOME/conclave/journal.db, else ~/.local/state/conclave/...)")
          ->type_name("FILE")
          ->each([&s](const std::string&) { s.journal = true; });
  cmd.add_flag_callback(
         "--no-journal", [&s] { s.journal = false; },
         "do not journal the run (it cannot be resumed)")
      ->excludes(journal);
}

CLI::App* add_resume(CLI::App& app, ask_settings& s, resume_options& o) {
  auto* resume = app.add_subcommand(
      "resume",
      "Resume a journaled ask or run that was killed, interrupted or failed: its finished "
      "agents are replayed from the journal, only the missing ones run. With no RUN_ID: list "
      "the unfinished runs.");
  auto* id = resume->add_option("run_id", o.run_id, "the run (run_ followed by 16 hex digits)");
  resume->add_flag("--last", o.last, "resume the newest unfinished run")->excludes(id);
  resume->add_option("--journal", s.journal_path, "the journal to read (default: the per-user one)")
      ->type_name("FILE");
  // Where the run's provider is, when not in the environment or config as before.
  resume->add_option("--provider", s.provider, "the default provider, as the run was given it")
      ->check(CLI::IsMember({"openai", "anthropic", "mock"}));
  resume->add_option("--base-url", s.base_url, "the default provider's endpoint");
  resume->add_option("--concurrency", s.concurrency, "agents calling the model at once")
      ->check(CLI::Range(1, max_agents));
  resume->add_flag("--json", s.json, "print the run report as one JSON object");
  resume
      ->add_option_function<std::string>(
          "--events", [&s](const std::string&) { s.events_jsonl = true; },
          "print every event as a JSON line (the report last)")
      ->check(CLI::IsMember({"jsonl"}));
  resume->add_flag_callback(
      "--no-stream", [&s] { s.stream = false; }, "wait for whole replies instead of streaming");
  resume->add_flag("--show-agents", s.show_agents, "print each agent's decision after the answer");
  resume->add_option("--save", s.save_path, "also write the JSON report to FILE");
  auto* quiet = resume->add_flag("-q,--quiet", s.quiet, "no progress display and no summary line");
  resume->add_flag("-v,--verbose", s.verbose, "progress as plain event lines")->excludes(quiet);
  resume->add_option("--color", s.color, "auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  resume->add_flag_callback(
      "--no-log", [&s] { s.log = false; }, "do not append the run to the attempt log");
  resume->add_option_function<std::string>(
      "--config", [](const std::string&) {}, "JSON defaults (read before the flags)");
  resume->footer(
      "The run is asked again as it was first asked (question, plan, models, budget, tools, "
      "timeouts); the provider and its base URL come from the environment and config now, and "
      "must match the run's.\n"
      "Exit status: 0 answered (or listed, or already finished), 1 failed, 2 unknown run, "
      "changed options or a corrupt journal, 130 interrupted.");
  return resume;
}

}  // namespace conclave::cli
