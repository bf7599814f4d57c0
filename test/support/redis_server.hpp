// A real redis-server for a test: on 127.0.0.1, a free port, a fresh temporary directory,
// appendonly yes with appendfsync everysec (Debian's default config has no AOF), no RDB
// snapshots. Started and stopped by its PID; start() returns once the server says it is ready
// (its log line on a pipe: no polling), and can start it again on the same port and directory.
#pragma once

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef CONCLAVE_REDIS_SERVER
#define CONCLAVE_REDIS_SERVER "redis-server"
#endif

extern char** environ;

namespace conclave::test {

class redis_server {
 public:
  /// Starts a server now (throws std::runtime_error, with its log, if it cannot).
  redis_server() {
    dir_ = std::filesystem::temp_directory_path() /
           ("conclave-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::string last;
    for (int attempt = 0; attempt < 5; ++attempt) {  // a free port may be taken before use
      port_ = free_port();
      try {
        start();
        return;
      } catch (const std::runtime_error& e) {
        last = e.what();
      }
    }
    throw std::runtime_error("redis-server did not start: " + last);
  }
  ~redis_server() {
    stop(SIGKILL);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  /// Stops the server by its PID (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits.
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (drain_.joinable()) drain_.join();
  }

  /// (Re)starts on the same port and directory; returns once it accepts connections.
  void start() {
    if (pid_ > 0) return;
    int out[2];
    // Close-on-exec: no other child of the test inherits the log pipe (dup2 clears it on 1, 2).
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> args{CONCLAVE_REDIS_SERVER,
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--dir",
                                  dir_.string(),
                                  "--appendonly",
                                  "yes",
                                  "--appendfsync",
                                  "everysec",
                                  "--save",
                                  "",
                                  "--daemonize",
                                  "no",
                                  "--logfile",
                                  "",
                                  "--loglevel",
                                  "notice"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      throw std::runtime_error("cannot run " CONCLAVE_REDIS_SERVER);
    }
    // Read the log until the server says it is ready, or exits, or 20 s pass.
    std::string log;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < until) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      char buf[4096];
      const auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;  // exited
      log.append(buf, static_cast<std::size_t>(n));
      ready = log.find("Ready to accept connections") != std::string::npos;
    }
    if (!ready) {
      ::close(out[0]);
      stop(SIGKILL);
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " not ready; its log:\n" + log);
    }
    // Keep reading its log so the server never blocks on a full pipe.
    drain_ = std::thread([fd = out[0]] {
      char buf[4096];
      while (::read(fd, buf, sizeof buf) > 0) {
      }
      ::close(fd);
    });
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  static std::uint16_t free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(s);
      throw std::runtime_error("no free port");
    }
    ::close(s);
    return ntohs(a.sin_port);
  }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::thread drain_;
};

}  // namespace conclave::test
