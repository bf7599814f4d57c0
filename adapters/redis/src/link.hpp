// The connection's state (impl), one command waiting for its reply (pending) and one hiredis
// context attached to Asio (link). Internal to connection.cpp and link.cpp.
#pragma once

#include <conclave/redis/connection.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <list>
#include <memory>
#include <string>
#include <vector>

namespace conclave::redis {

/// A reply of kind error saying `text`: what a failed command completes with.
reply failure(std::string text);
/// hiredis's reply as a value (hiredis frees its own after the callback).
reply convert(const redisReply& r);

using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

struct pending {
  pending(const strand_type& s, std::vector<std::string> a,
          boost::asio::any_completion_handler<connection::command_signature> h)
      : args(std::move(a)), handler(std::move(h)), deadline(s) {}
  std::vector<std::string> args;  ///< until handed to hiredis
  // Set only here, at construction: any_completion_handler's move assignment recurses in 1.81.
  boost::asio::any_completion_handler<connection::command_signature> handler;
  boost::asio::steady_timer deadline;
  std::list<std::shared_ptr<pending>>::iterator self;  ///< its place in impl::commands
  bool listed = false;                                 ///< in impl::commands (self is valid)
  bool done = false;                                   ///< the handler was called (or posted)
  bool in_hiredis = false;  ///< hiredis holds it and will call back, with a reply or null
};
using pending_ptr = std::shared_ptr<pending>;

class link;

struct connection::impl : std::enable_shared_from_this<connection::impl> {
  enum class phase { idle, resolving, connecting, connected, backing_off, closed };

  impl(boost::asio::any_io_executor ex, connection_options o);
  ~impl();

  // All of these run on the strand.
  void issue(const pending_ptr& p);
  void submit(const pending_ptr& p);
  void submit_waiting();
  void complete(pending_ptr p, boost::system::error_code ec, reply r);
  void on_reply(pending* raw, const redisReply* r, const link& l);
  void on_command_timeout(const pending_ptr& p);
  void start_link();
  void connect_to(const std::string& address);
  void on_ready();  ///< connected, AUTH and SELECT done: commands may go
  void link_failed(error e, const std::string& why);
  void fail_waiting(error e, const std::string& why);  ///< those not sent
  void link_gone(const std::shared_ptr<link>& l);
  void schedule_reconnect(bool was_up);
  void close();
  bool awaited() const;  ///< a command sent or waiting still has a caller to answer
  void close_if_done();  ///< closed and nothing awaited: the link goes

  strand_type strand;
  connection_options opts;
  std::list<pending_ptr> commands;  ///< issue order: waiting to be sent, or sent
  std::shared_ptr<link> current;
  boost::asio::steady_timer reconnect_timer;
  boost::asio::steady_timer connect_timer;
  boost::asio::ip::tcp::resolver resolver;
  phase state = phase::idle;
  std::chrono::milliseconds backoff;
  // Read by stats() from any thread.
  std::atomic<std::uint64_t> stat_connects{0}, stat_connect_failures{0}, stat_commands{0},
      stat_timeouts{0};
  std::atomic<bool> connected_now{false};
};

/// One hiredis async context with its socket watched by Asio.
class link : public std::enable_shared_from_this<link> {
 public:
  link(connection::impl& owner, redisAsyncContext* ac);

  /// Hooks hiredis's events to Asio and asks to hear about the connect.
  void attach();
  /// Hands one command (binary-safe arguments) to hiredis; false when it refuses (closing).
  bool send(const std::vector<std::string>& args, redisCallbackFn* callback, void* privdata);
  /// A command of our own before the caller's (AUTH, SELECT): an error reply drops the link;
  /// the caller's commands are sent once every setup command has succeeded.
  void setup(const std::vector<std::string>& args);
  /// Frees the context now: commands sent complete with `code` and `why`.
  void drop(error code, std::string why);

  error drop_code() const noexcept;
  std::string drop_text() const;
  /// Connected and set up: the caller's commands went (or could go) over it.
  bool was_ready() const noexcept { return ready_; }

  static void on_reply(redisAsyncContext* ac, void* r, void* privdata);

  connection::impl* owner;  ///< null once the impl is being destroyed
  redisAsyncContext* ac;    ///< null once hiredis freed it

 private:
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_setup_reply(redisAsyncContext* ac, void* r, void* privdata);
  static void add_read(void* p);
  static void del_read(void* p);
  static void add_write(void* p);
  static void del_write(void* p);
  static void cleanup(void* p);
  void arm(bool read);

  boost::asio::posix::stream_descriptor fd_;
  bool want_read_ = false, want_write_ = false, read_armed_ = false, write_armed_ = false;
  bool connected_ = false;  ///< the TCP connect completed
  bool ready_ = false;      ///< ... and every setup command succeeded
  int setup_pending_ = 0;
  bool dropped_ = false;  ///< drop() chose the error
  error drop_code_ = error::disconnected;
  std::string drop_text_;
};

}  // namespace conclave::redis
