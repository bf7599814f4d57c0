// A child process for the bench: argv, stdout through a pipe, SIGTERM on demand, exit status
// and the child's own resource usage (CPU, peak RSS) from wait4.
#pragma once

#include <chrono>
#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

namespace conclave::bench {

class child {
 public:
  /// Starts `program` with `args`; throws std::runtime_error when it cannot.
  child(const std::string& program, const std::vector<std::string>& args);
  ~child();  ///< kills and reaps a child still running
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// Reads one line of its stdout (blocking); empty at EOF.
  std::string read_line();
  /// Reads the rest of its stdout (blocking until it closes).
  std::string read_all();
  void terminate();  ///< SIGTERM

  struct exit_info {
    int code = -1;                      ///< -1: killed by a signal
    std::chrono::microseconds wall{0};  ///< from start to exit
    std::chrono::microseconds cpu{0};   ///< user + system, the child's own
    long max_rss_kb = 0;  ///< ru_maxrss: includes the parent's RSS at spawn (shared until exec)
  };
  exit_info wait();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffered_;
  std::chrono::steady_clock::time_point started_;
  bool reaped_ = false;
};

/// The path of the running program (for re-running itself as a worker).
std::string self_path();

}  // namespace conclave::bench
