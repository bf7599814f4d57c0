#include "child.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern char** environ;

namespace conclave::bench {

child::child(const std::string& program, const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  started_ = std::chrono::steady_clock::now();
  const int rc = posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
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
  info.cpu = us(usage.ru_utime) + us(usage.ru_stime);
  info.max_rss_kb = usage.ru_maxrss;
  return info;
}

std::string self_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

}  // namespace conclave::bench
