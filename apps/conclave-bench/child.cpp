#include "child.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern char** environ;

namespace conclave::bench {

namespace {

// The child's side of a fork: only async-signal-safe calls until exec. On failure, errno goes
// to the parent through `err` (close-on-exec, so a successful exec closes it unwritten).
[[noreturn]] void exec_forked(const char* program, char* const* argv, int out, int err) {
  dup2(out, STDOUT_FILENO);
  execvp(program, argv);
  const int e = errno;
  (void)!write(err, &e, sizeof e);
  _exit(127);
}

}  // namespace

child::child(const std::string& program, const std::vector<std::string>& args, start how) {
  // Close-on-exec, so other children (the mocks, workers, the CLI) do not hold these too; the
  // copy on the child's stdout is not.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = 0;
  started_ = std::chrono::steady_clock::now();
  if (how == start::spawn) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    rc = posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
  } else {
    int err[2];
    if (pipe2(err, O_CLOEXEC) != 0) {
      rc = errno;
    } else {
      pid_ = fork();
      if (pid_ == 0) exec_forked(program.c_str(), argv.data(), fds[1], err[1]);
      rc = pid_ < 0 ? errno : 0;
      close(err[1]);
      // Blocks until the exec closes the pipe (or the child reports why it could not exec).
      int e = 0;
      ssize_t n;
      while ((n = read(err[0], &e, sizeof e)) < 0 && errno == EINTR) {
      }
      close(err[0]);
      if (pid_ > 0 && n == sizeof e) {
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
        rc = e;
      }
    }
  }
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  }
  out_fd_ = fds[0];
}

child::~child() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

std::string child::read_line() {
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    std::array<char, 4096> buf;
    const ssize_t n = read(out_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::exchange(buffered_, {});
    buffered_.append(buf.data(), static_cast<std::size_t>(n));
  }
}

std::string child::read_all() {
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = read(out_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffered_.append(buf.data(), static_cast<std::size_t>(n));
  }
  return std::exchange(buffered_, {});
}

bool child::pin(int cpu) {
  if (cpu < 0 || reaped_ || pid_ <= 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(pid_, sizeof set, &set) == 0;
}

namespace {
// The n-th CPU this process may run on, or -1 when it may use fewer than two.
int allowed_cpu(int n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 2) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set) && n-- == 0) return cpu;
  }
  return -1;
}
}  // namespace

int bench_cpu_for_mock() { return allowed_cpu(0); }
int bench_cpu_for_client() { return allowed_cpu(1); }

void child::terminate() {
  if (!reaped_ && pid_ > 0) kill(pid_, SIGTERM);
}

child::exit_info child::wait() {
  exit_info info;
  int status = 0;
  rusage usage{};
  while (wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  info.wall = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started_);
  info.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto us = [](const timeval& t) {
    return std::chrono::microseconds(static_cast<long long>(t.tv_sec) * 1'000'000 + t.tv_usec);
  };
  info.user = us(usage.ru_utime);
  info.sys = us(usage.ru_stime);
  info.cpu = info.user + info.sys;
  info.max_rss_kb = usage.ru_maxrss;
  return info;
}

std::string self_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

long fork_carry_kib() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid < 0) return 0;
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  return usage.ru_maxrss;
}

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace conclave::bench
