// Runs a program for a test: arguments, extra environment, stdout/stderr captured to files,
// a signal on demand, and the exit status.
#pragma once

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace conclave::test {

/// Where a child's standard streams go, when not the defaults (stdin /dev/null, stdout and
/// stderr captured).
struct stdio_options {
  std::string stdin_path = "/dev/null";  ///< a file to read stdin from
  std::string stdout_path;               ///< instead of capturing (e.g. "/dev/full")
  bool close_stdout = false;             ///< start with fd 1 closed
};

struct process_result {
  int exit_code = -1;  ///< -1 when killed by a signal
  std::string out;
  std::string err;
};

class process {
 public:
  /// `env` entries override the current environment; an empty value removes the variable.
  process(const std::string& program, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env = {}, const stdio_options& io = {}) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto tag = std::to_string(::getpid()) + "-" + std::to_string(counter()++);
    out_path_ = (dir / ("conclave-out-" + tag)).string();
    err_path_ = (dir / ("conclave-err-" + tag)).string();

    std::map<std::string, std::string> merged;
    for (char** e = environ; *e; ++e) {
      std::string kv(*e);
      const auto eq = kv.find('=');
      if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : env) {
      if (v.empty())
        merged.erase(k);
      else
        merged[k] = v;
    }
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, io.stdin_path.c_str(), O_RDONLY, 0);
    if (io.close_stdout) {
      posix_spawn_file_actions_addclose(&actions, 1);
    } else {
      const std::string& out = io.stdout_path.empty() ? out_path_ : io.stdout_path;
      posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0600);
    }
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    const int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + program);
  }

  ~process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(out_path_);
    std::filesystem::remove(err_path_);
  }

  /// Sends `sig` while the child runs; nothing once it was waited for (kill(-1) would signal
  /// every process the test may).
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// Waits for the exit (killing the process after `limit`) and collects its output. Once
  /// waited for, later calls give the same result.
  process_result wait(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    if (pid_ <= 0) return last_;
    process_result r;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a child's exit
    }
    pid_ = -1;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out_path_);
    r.err = slurp(err_path_);
    last_ = r;
    return r;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  pid_t pid_ = -1;
  process_result last_;
  std::string out_path_, err_path_;
};

}  // namespace conclave::test
