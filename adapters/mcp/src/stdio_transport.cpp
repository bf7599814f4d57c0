// stdio: the server is our child; newline-delimited JSON on its stdin and stdout, its stderr
// kept (the last 8 KiB) for error messages. Boost.Process v2 (header-only, std::filesystem)
// starts it; Asio pipes carry the bytes.
// Boost 1.81's Process v2 would otherwise need the compiled Boost.Filesystem (not installed
// here); its std::filesystem mode forgets to include what it uses unqualified from namespace
// boost (optional, type traits), so they come first.
// clang-format off
#define BOOST_PROCESS_USE_STD_FS 1
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
// clang-format on

#include "transport.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/mcp/environment.hpp>
#include <conclave/mcp/protocol.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
// 1.81's header-only mode leaves process_environment::on_setup out of the headers (it is not
// inline): this file is the only user of Boost.Process, so its definition lives here.
#include <boost/process/v2/impl/environment.ipp>

#include <csignal>
#include <deque>
#include <fcntl.h>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace conclave::mcp::detail {

namespace {

namespace asio = boost::asio;
namespace bp = boost::process::v2;
using asio::use_awaitable;
using boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t stderr_keep = 8 * 1024;
constexpr std::chrono::seconds exit_grace{2};    // after EOF on stdin, before SIGKILL
constexpr std::chrono::seconds stderr_drain{1};  // after stdout's EOF, for stderr's last words

// Puts the child in a process group of its own before exec, so it can be killed whole.
struct own_process_group {
  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) {
    if (::setpgid(0, 0) != 0) return bp::error_code(errno, bp::system_category());
    return {};
  }
};

// A pipe whose both ends close on exec: Boost 1.81's launcher does not close every inherited
// descriptor in the child, so without this a server (or a sibling started at the same time)
// would hold our end of its stdin open and never see EOF. dup2 onto 0/1/2 clears the flag on
// the child's copies.
error_code make_pipe(asio::readable_pipe& r, asio::writable_pipe& w) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return error_code(errno, boost::system::system_category());
  error_code ec;
  r.assign(fds[0], ec);
  if (!ec) w.assign(fds[1], ec);
  return ec;
}

class stdio_transport final : public transport,
                              public std::enable_shared_from_this<stdio_transport> {
 public:
  stdio_transport(strand ex, server_config config)
      : ex_(ex),
        config_(std::move(config)),
        in_(ex),
        out_(ex),
        err_(ex),
        err_done_(ex),
        close_done_(ex) {}

  ~stdio_transport() override { kill_now(); }

  asio::awaitable<error_code> open(message_fn on_message, closed_fn on_closed,
                                   std::string& why) override {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    // Writing to a pipe whose reader died raises SIGPIPE, which would end the whole host;
    // we want EPIPE instead. Only a default disposition is changed, never a host's handler.
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
      std::signal(SIGPIPE, SIG_IGN);

    const std::vector<std::string> env = clean_environment(environ, config_.env);
    const std::string exe = find_program(config_.command, env);
    if (exe.empty()) {
      why = "cannot find the program \"" + config_.command + "\" in the server's PATH";
      co_return error::connection_failed;
    }
    asio::readable_pipe child_in(ex_);
    asio::writable_pipe child_out(ex_), child_err(ex_);
    error_code ec = make_pipe(child_in, in_);
    if (!ec) ec = make_pipe(out_, child_out);
    if (!ec) ec = make_pipe(err_, child_err);
    if (ec) {
      why = "cannot make pipes: " + ec.message();
      co_return error::connection_failed;
    }
    try {
      proc_.emplace(ex_, exe, config_.args, bp::process_stdio{child_in, child_out, child_err},
                    bp::process_environment(env), own_process_group{});
    } catch (const std::exception& e) {
      why = "cannot start \"" + exe + "\": " + e.what();
      co_return error::connection_failed;
    }
    pid_ = proc_->id();
    // The child's ends belong to the child now: close ours, so its exit gives us EOF.
    child_in.close();
    child_out.close();
    child_err.close();
    err_done_.expires_at(asio::steady_timer::time_point::max());
    auto self = shared_from_this();
    asio::co_spawn(ex_, read_stderr(self), [](std::exception_ptr) {});
    asio::co_spawn(ex_, read_stdout(self), [](std::exception_ptr) {});
    co_return error_code{};
  }

  asio::awaitable<error_code> send(std::string message, std::string& why) override {
    if (closing_ || ended_) {
      why = "the server's connection is closed" + tail_note();
      co_return error::connection_failed;
    }
    message += '\n';
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ex_, write_queue(shared_from_this()), [](std::exception_ptr) {});
    }
    co_return error_code{};
  }

  asio::awaitable<void> close() override {
    if (!proc_ || pid_ == 0) co_return;
    if (closing_) {  // another close is under way: end with it (the child reaped)
      co_await close_done_.async_wait(tuple_awaitable);
      co_return;
    }
    closing_ = true;
    close_done_.expires_at(asio::steady_timer::time_point::max());
    error_code ignored;
    in_.close(ignored);  // EOF on the server's stdin: the spec's polite "please exit"
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer grace(ex_, exit_grace);
    auto r = co_await (proc_->async_wait(tuple_awaitable) || grace.async_wait(tuple_awaitable));
    if (r.index() == 1) {
      kill_group();
      ::kill(pid_, SIGKILL);                        // not reaped yet: still ours
      co_await proc_->async_wait(tuple_awaitable);  // reaps
    }
    kill_group();  // anything it started and left behind (a wrapper script's children)
    reaped();
    close_done_.cancel();
  }

  void kill_now() noexcept override {
    if (pid_ > 0) {
      kill_group();
      ::kill(pid_, SIGKILL);  // not reaped yet: still ours
      int status = 0;
      ::waitpid(pid_, &status, 0);
      reaped();
    }
  }

  std::string stderr_tail() const override { return err_tail_; }
  int pid() const noexcept override { return pid_; }

 private:
  // The server runs in a process group of its own (its pid): the whole group goes, so a
  // grandchild (`npx` starting `node`, `sh -c` starting anything) is not left holding our
  // pipes open, which would keep the run waiting for an EOF that never comes.
  void kill_group() noexcept {
    if (pid_ > 0) ::kill(-pid_, SIGKILL);  // the group only: after a reap the pid may be reused
  }

  void reaped() noexcept {
    pid_ = 0;
    if (proc_) proc_->detach();  // nothing left for its destructor to kill
    // Our ends too: a read pending on a pipe some survivor still holds ends now.
    error_code ignored;
    out_.close(ignored);
    err_.close(ignored);
    in_.close(ignored);
  }

  std::string tail_note() const {
    return err_tail_.empty() ? std::string() : "; its stderr ends with: " + err_tail_;
  }

  static asio::awaitable<void> write_queue(std::shared_ptr<stdio_transport> self) {
    while (!self->queue_.empty()) {
      auto [ec, n] = co_await asio::async_write(self->in_, asio::buffer(self->queue_.front()),
                                                tuple_awaitable);
      self->queue_.pop_front();
      if (ec) {
        self->queue_.clear();
        break;  // the reader sees the server go and reports it
      }
    }
    self->writing_ = false;
  }

  static asio::awaitable<void> read_stderr(std::shared_ptr<stdio_transport> self) {
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await self->err_.async_read_some(asio::buffer(buf), tuple_awaitable);
      self->err_tail_.append(buf, n);
      if (self->err_tail_.size() > stderr_keep) {
        std::size_t cut = self->err_tail_.size() - stderr_keep;
        // Never start inside a UTF-8 character: the tail may reach the model in an error.
        while (cut < self->err_tail_.size() &&
               (static_cast<unsigned char>(self->err_tail_[cut]) & 0xC0) == 0x80)
          ++cut;
        self->err_tail_.erase(0, cut);
      }
      if (ec) break;
    }
    self->err_eof_ = true;
    self->err_done_.cancel();
  }

  static asio::awaitable<void> read_stdout(std::shared_ptr<stdio_transport> self) {
    std::string buf;
    std::string why;
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(
          self->out_, asio::dynamic_buffer(buf, max_message_bytes + 1), '\n', tuple_awaitable);
      if (ec) {
        if (ec == asio::error::not_found)
          why =
              "the server wrote a line longer than " + std::to_string(max_message_bytes) + " bytes";
        else if (ec == asio::error::eof)
          why = "the server closed its stdout (exited?)";
        else
          why = "reading the server's stdout failed: " + ec.message();
        break;
      }
      std::string line = buf.substr(0, n - 1);
      buf.erase(0, n);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      if (self->on_message_) self->on_message_(line);
    }
    self->ended_ = true;
    if (self->closing_) co_return;
    // Its last words on stderr may still be in the pipe: wait (bounded) for stderr's EOF.
    if (!self->err_eof_) {
      self->err_done_.expires_after(stderr_drain);
      co_await self->err_done_.async_wait(tuple_awaitable);
    }
    if (self->on_closed_) self->on_closed_(error::connection_failed, why + self->tail_note());
  }

  strand ex_;
  server_config config_;
  asio::writable_pipe in_;
  asio::readable_pipe out_, err_;
  asio::steady_timer err_done_;
  asio::steady_timer close_done_;  // cancelled once close() has reaped the child
  std::optional<bp::process> proc_;
  int pid_ = 0;
  message_fn on_message_;
  closed_fn on_closed_;
  std::deque<std::string> queue_;
  std::string err_tail_;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false;
  bool err_eof_ = false;
};

}  // namespace

std::shared_ptr<transport> make_stdio_transport(strand ex, const server_config& config) {
  return std::make_shared<stdio_transport>(ex, config);
}

}  // namespace conclave::mcp::detail
