// `conclave serve`: heavy mode behind HTTP (an OpenAI-compatible model and a task API) on the
// same providers, config and flags as `ask`, until SIGTERM or Ctrl-C.
#pragma once

#include "process_setup.hpp"
#include "settings.hpp"

#include <cstddef>
#include <string>

namespace CLI {
class App;
}

namespace conclave::cli {

struct serve_settings {
  std::string listen = "127.0.0.1:8080";  ///< HOST:PORT; port 0 picks a free one
  std::string keys_file;                  ///< client bearer keys, one per line; empty: none
  std::size_t workers = 4;                ///< tasks running at once
  std::size_t queue_size = 100;           ///< queued tasks at most
  std::size_t max_chat_runs = 64;         ///< chat / responses runs at once
  std::string reasoning = "fields";       ///< fields | think | none
  double grace_s = 10;                    ///< after SIGTERM, for runs to finish
  double takeover_s = 30;                 ///< --redis: a silent instance's tasks move after this
};

/// Declares serve's own flags on `cmd` (serve_flags.cpp), into `v`.
void add_serve_options(CLI::App& cmd, serve_settings& v);

/// Runs the server; returns the exit status (0 after a clean stop, 1 when it cannot start,
/// 2 for a usage error such as a bad --listen or an unreadable keys file).
int run_serve(const ask_settings& s, const serve_settings& v, const standard_fds& fds);

/// "HOST:PORT" (IPv6 as "[::1]:8080") into its parts; throws usage_error.
void parse_listen(const std::string& text, std::string& host, std::uint16_t& port);

/// The keys in a keys file: one per line, blank lines and '#' comments skipped; throws
/// usage_error when the file cannot be read, is readable by others, or holds no key.
std::vector<std::string> read_keys_file(const std::string& path);

}  // namespace conclave::cli
