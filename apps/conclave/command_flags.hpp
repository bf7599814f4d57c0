// The commands' flags (CLI11): each command's flags declared and described, with the texts
// that need checking after parsing held in raw_flags. What the flags mean lives in settings.*
// and the commands' own files; main.cpp parses and turns raw_flags into settings.
#pragma once

#include "settings.hpp"

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace conclave::cli {

struct log_command_options;
struct serve_settings;

// Text flags held until after parsing: they need more checking than CLI11's validators give.
struct raw_flags {
  std::string question;
  std::string question_file;
  std::string timeout, agent_timeout, decompose_timeout, tool_timeout;
  std::string events;
  std::string config;
  std::string agent_model;
  std::vector<std::string> agent_models;  // as given: split on ',' here, empty entries kept
  int max_output_tokens = 0;
  double temperature = -1;
  bool no_stream = false;
  bool no_stdin = false;
  bool no_log = false;
  std::string plan_file;  // conclave run FILE
};

CLI::App* add_ask(CLI::App& app, ask_settings& s, raw_flags& raw);
CLI::App* add_plan(CLI::App& app, ask_settings& s, raw_flags& raw);
CLI::App* add_run(CLI::App& app, ask_settings& s, raw_flags& raw);
CLI::App* add_serve(CLI::App& app, ask_settings& s, raw_flags& raw, serve_settings& v);
CLI::App* add_log(CLI::App& app, log_command_options& o);

}  // namespace conclave::cli
