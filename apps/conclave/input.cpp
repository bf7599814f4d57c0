#include "input.hpp"

#include "settings.hpp"

#include <conclave/engine/text.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace conclave::cli {
namespace {

std::string read_all_stdin() {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw usage_error(std::string("cannot read stdin: ") + std::strerror(errno));
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_input_bytes) {
      throw usage_error("stdin holds more than " + std::to_string(max_input_bytes >> 20) + " MiB");
    }
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_input_bytes) {
      throw usage_error(path + " holds more than " + std::to_string(max_input_bytes >> 20) +
                        " MiB");
    }
  }
  return out;
}

// A question read from a file or stdin ends with the file's newline; the question does not.
std::string without_trailing_space(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

std::string question_from_stdin() {
  if (isatty(STDIN_FILENO)) {
    std::fputs("conclave: reading the question from stdin (end it with Ctrl-D)\n", stderr);
  }
  return without_trailing_space(read_all_stdin());
}

}  // namespace

std::string read_question(const std::string& argument, const std::string& file,
                          bool stdin_readable) {
  if (!argument.empty() && !file.empty()) {
    throw usage_error("give the question as an argument or with -f, not both");
  }
  if (argument == "-") return question_from_stdin();
  std::string question = file.empty() ? argument : without_trailing_space(read_file(file));
  if (question.empty()) {
    if (!stdin_readable) return {};  // validate() says "no question given"
    return question_from_stdin();
  }
  if (stdin_readable) {
    const std::string context = read_all_stdin();
    if (!text::is_blank(context)) question += "\n\nContext:\n" + context;
  }
  return question;
}

std::string read_text_input(const std::string& path) {
  if (path == "-") return read_all_stdin();
  return read_file(path);
}

}  // namespace conclave::cli
