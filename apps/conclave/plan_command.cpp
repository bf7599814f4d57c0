#include "plan_command.hpp"

#include "ask_command.hpp"
#include "backend.hpp"
#include "input.hpp"
#include "output.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace asio = boost::asio;

namespace conclave::cli {

plan read_plan_file(const std::string& path, bool stdin_readable) {
  if (path == "-" && !stdin_readable) throw usage_error("no plan on stdin");
  const std::string name = path == "-" ? "stdin" : path;
  std::error_code fs_error;
  if (path != "-" && std::filesystem::is_directory(path, fs_error)) {
    throw usage_error(name + " is a directory, not a plan file");
  }
  const std::string text = read_text_input(path);
  if (text::is_blank(text)) throw usage_error(name + " is empty: a plan file is a JSON object");
  auto parsed = parse_plan(text);
  if (!parsed.value) throw usage_error(name + ": " + parsed.error);
  if (auto problem = validate(*parsed.value)) {
    throw usage_error(name + ": invalid plan: " + text::for_terminal(problem->message, false));
  }
  plan p = std::move(*parsed.value);
  if (text::is_blank(p.question)) {
    // Synthesis needs a question to answer: the subtasks themselves, briefly.
    p.question = "Combine the results of these subtasks into one answer (plan " + name + ")";
  }
  return p;
}

int run_plan_command(const ask_settings& s, const standard_fds& fds) {
  asio::io_context io(1);
  backend b = make_backend(io.get_executor(), s, fds.open_files);
  engine e(io.get_executor(), b.entry());
  e.set_single_threaded(true);  // io_context(1), run by this thread alone
  if (!b.note.empty()) std::fprintf(stderr, "conclave: NOTE: %s\n", b.note.c_str());
  for (const auto& w : s.warnings) {
    std::fprintf(stderr, "conclave: warning: %s\n", text::for_terminal(w, false).c_str());
  }

  asio::cancellation_signal cancel;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signal_number = 0;
  signals.async_wait([&](boost::system::error_code ec, int number) {
    if (ec) return;
    signal_number = number;
    cancel.emit(asio::cancellation_type::terminal);
  });
  boost::system::error_code result;
  plan made;
  run_report head;
  ask_options opts = options_from(s);
  opts.decomposition_timeout = opts.deadline;  // decomposing is all `plan` does
  opts.synthesis_reserve = std::chrono::milliseconds(0);
  async_plan(e, s.question, std::move(opts),
             asio::bind_cancellation_slot(cancel.slot(),
                                          [&](boost::system::error_code ec, plan p, run_report r) {
                                            result = ec;
                                            made = std::move(p);
                                            head = std::move(r);
                                            signals.cancel();
                                            if (b.builtin_mock) b.builtin_mock->stop();
                                            if (b.redis) b.redis->close();
                                          }));
  io.run();
  if (signal_number != 0) return 128 + signal_number;
  if (result) {
    std::string why = result.message();
    if (!head.stop_note.empty()) why += ": " + head.stop_note;
    std::fprintf(stderr, "conclave: no plan: %s\n", text::for_terminal(why, false).c_str());
    return 1;
  }
  if (head.decomposition_fallback && head.decomposition_attempts > 0) {
    // No plan came back: a one-subtask stand-in would only hide that (`run` would accept it).
    std::string why = head.decomposition_note;
    if (const auto cut = why.find("; one agent answers"); cut != std::string::npos) why.resize(cut);
    std::fprintf(stderr, "conclave: no plan: %s\n", text::for_terminal(why, false).c_str());
    return 1;
  }
  const std::string text = to_pretty_json(to_json(made)) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout)) {
    std::perror("conclave: writing the plan");
    return 1;
  }
  return 0;
}

}  // namespace conclave::cli
