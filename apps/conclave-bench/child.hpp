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
  /// posix_spawn (vfork-like, cheap) for most; fork where the child's peak RSS is measured
  /// (see exit_info::max_rss_kb).
  enum class start { spawn, fork };
  /// Starts `program` with `args`, returning once it has exec'd; throws std::runtime_error
  /// when it cannot.
  child(const std::string& program, const std::vector<std::string>& args, start how = start::spawn);
  ~child();  ///< kills and reaps a child still running
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// Reads one line of its stdout (blocking); empty at EOF.
  std::string read_line();
  /// Reads the rest of its stdout (blocking until it closes).
  std::string read_all();
  void terminate();  ///< SIGTERM
  /// Keeps the child on one CPU (see bench_cpu); false when it cannot.
  bool pin(int cpu);

  struct exit_info {
    int code = -1;                      ///< -1: killed by a signal
    std::chrono::microseconds wall{0};  ///< from start to exit
    std::chrono::microseconds cpu{0};   ///< user + system, the child's own
    std::chrono::microseconds user{0};  ///< user, the child's own
    std::chrono::microseconds sys{0};   ///< system, the child's own
    /// ru_maxrss: the larger of the child's own peak and what its exec carried over, as exec
    /// keeps the high-water mark of the memory it leaves. Started by posix_spawn, the child
    /// leaves its parent's memory (CLONE_VM), so that is the parent's whole peak (VmHWM);
    /// started by fork, its copy: the parent's anonymous pages, fork_carry_kib().
    long max_rss_kb = 0;
  };
  exit_info wait();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffered_;
  std::chrono::steady_clock::time_point started_;
  bool reaped_ = false;
};

/// The CPUs the measurements are pinned to, as the peers were measured: the mock on one core,
/// the client on another, so neither's figures carry the other's work. -1 when this process
/// may use fewer than two CPUs (nothing is pinned then).
int bench_cpu_for_mock();
int bench_cpu_for_client();

/// The path of the running program (for re-running itself as a worker).
std::string self_path();

/// This process's peak RSS since exec (VmHWM), KiB: what a worker reports of itself, since its
/// ru_maxrss would carry the bench's peak over (exit_info::max_rss_kb).
long peak_rss_kib();

/// What a child started by fork now would carry into its ru_maxrss, KiB: a fork that exits at
/// once reads exactly that. A child whose ru_maxrss is not above it has no figure of its own.
long fork_carry_kib();

}  // namespace conclave::bench
