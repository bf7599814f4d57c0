// The flags of `conclave serve` of its own (where it listens, its keys, workers, queue, grace,
// takeover); the flags it shares with ask (models, limits, tools...) are declared in main.cpp.
#include "serve_command.hpp"

#include <CLI/CLI.hpp>

namespace conclave::cli {

void add_serve_options(CLI::App& cmd, serve_settings& v) {
  cmd.add_option("--listen", v.listen, "HOST:PORT to listen on (port 0: a free one)")
      ->capture_default_str();
  cmd.add_option("--keys-file", v.keys_file,
                 "client bearer keys, one per line (chmod 600); without: loopback only")
      ->type_name("FILE");
  cmd.add_option("--workers", v.workers, "tasks running at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd.add_option("--queue-size", v.queue_size, "queued tasks at most (then 429 queue_full)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd.add_option("--max-chat-runs", v.max_chat_runs, "chat / responses runs at once (then 429)")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd.add_option("--reasoning", v.reasoning,
                 "how progress reaches chat clients: fields (reasoning and "
                 "reasoning_content), think (<think> tags in content) or none")
      ->check(CLI::IsMember({"fields", "think", "none"}))
      ->capture_default_str();
  cmd.add_option("--grace", v.grace_s, "seconds runs may finish in after SIGTERM")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd.add_option("--takeover-after", v.takeover_s,
                 "with --redis: seconds after which a silent instance's tasks go to another")
      ->check(CLI::Range(3.0, 3600.0))
      ->capture_default_str();
}

}  // namespace conclave::cli
