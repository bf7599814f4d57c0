// conclave: the command line. Subcommands live in their own files; this only dispatches.
#include "ask_command.hpp"
#include "settings.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* top_usage = R"(usage: conclave <command> [options]
commands:
  ask "question"   ask a model (see: conclave ask --help)
  --version        print the version
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << top_usage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "conclave 0.1.0\n";
    return 0;
  }
  if (args[0] != "ask") {
    std::cerr << "conclave: unknown command '" << args[0] << "'\n" << top_usage;
    return 2;
  }
  args.erase(args.begin());
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << conclave::cli::ask_usage;
      return 0;
    }
  }
  try {
    return conclave::cli::run_ask(conclave::cli::parse_ask(args));
  } catch (const conclave::cli::usage_error& e) {
    std::cerr << "conclave: " << e.what() << "\n" << conclave::cli::ask_usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "conclave: " << e.what() << "\n";
    return 1;
  }
}
