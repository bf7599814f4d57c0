// hiredis's async context driven by Asio. A `link` is one hiredis context (one TCP connection
// and its life); the connection's impl outlives links and reconnects. hiredis calls back
// synchronously from inside redisAsyncHandleRead/Write/Free, always on the impl's strand.
#include "link.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

namespace conclave::redis {
namespace asio = boost::asio;
namespace {

// Why a command is refused rather than sent; empty when it may go. Some commands change what
// the connection is for every later command (replies that keep coming, no replies, another
// protocol or database), and this connection completes each command once with its own reply.
std::string refusal(const std::vector<std::string>& args) {
  auto upper = [](std::string v) {
    for (auto& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return v;
  };
  const std::string verb = upper(args.front());
  for (const char* v : {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
                        "SUNSUBSCRIBE", "MONITOR", "HELLO", "RESET", "SELECT"})
    if (verb == v)
      return "ERR " + verb +
             " would change the connection for every later command: not supported here (one "
             "reply per command; the database is the URL's)";
  if (verb == "CLIENT" && args.size() > 1 && upper(args[1]) == "REPLY")
    return "ERR CLIENT REPLY would leave commands without their replies: not supported here";
  return {};
}

}  // namespace

connection::impl::impl(asio::any_io_executor ex, connection_options o)
    : strand(asio::make_strand(ex)),
      opts(std::move(o)),
      reconnect_timer(strand),
      connect_timer(strand),
      resolver(strand),
      backoff(opts.backoff_initial) {}

connection::impl::~impl() {
  // Only reached once no handler holds the impl: nothing is left to complete.
  if (current && current->ac) {
    current->owner = nullptr;
    redisAsyncFree(current->ac);
  }
}

void connection::impl::issue(const pending_ptr& p) {
  if (p->done) return;  // cancelled before it got here
  auto refuse = [&](error e, std::string text) {
    complete(p, make_error_code(e), failure(std::move(text)));
  };
  if (state == phase::closed) return refuse(error::closed, "the connection is closed");
  if (commands.size() >= opts.max_pending)
    return refuse(error::too_many_pending,
                  std::to_string(opts.max_pending) + " commands are waiting already");
  if (p->args.empty()) return refuse(error::server_error, "ERR empty command");
  if (auto why = refusal(p->args); !why.empty()) return refuse(error::server_error, std::move(why));

  commands.push_back(p);
  p->self = std::prev(commands.end());
  p->listed = true;
  p->deadline.expires_after(opts.command_timeout);
  p->deadline.async_wait([self = shared_from_this(), p](boost::system::error_code ec) {
    if (!ec && !p->done) self->on_command_timeout(p);
  });
  if (state == phase::idle)
    start_link();
  else if (state == phase::connected)
    submit(p);
  // else (resolving, connecting or setting up, backing off): sent once the link is ready
}

void connection::impl::submit(const pending_ptr& p) {
  // The link may be gone with its departure still posted (link_gone): the command waits for
  // the next one.
  if (!current || !current->ac || !current->was_ready()) return;
  if (!current->send(p->args, &link::on_reply, p.get())) {
    complete(p, make_error_code(error::disconnected), failure("the connection is closing"));
    return;
  }
  p->in_hiredis = true;
  p->args = {};  // hiredis holds the formatted command now
}

void connection::impl::submit_waiting() {
  for (const auto& p : std::list<pending_ptr>(commands))
    if (!p->done && !p->in_hiredis) submit(p);
}

void connection::impl::complete(pending_ptr p, boost::system::error_code ec, reply r) {
  if (p->done) return;
  p->done = true;
  p->deadline.cancel();
  // The caller's cancellation slot is left as it is: clearing it here, on this strand, could
  // race with the caller emitting on its own; its handler does nothing once `done`.
  ++stat_commands;
  asio::post(strand, asio::append(std::move(p->handler), ec, std::move(r)));
  if (p->listed && !p->in_hiredis) {
    commands.erase(p->self);
    p->listed = false;
  }
}

void connection::impl::on_reply(pending* raw, const redisReply* r, const link& l) {
  // The list holds the pending while hiredis does; take a reference before it may go.
  pending_ptr p = *raw->self;
  p->in_hiredis = false;
  if (p->done) {  // timed out or cancelled already: the reply is dropped
    commands.erase(p->self);
    p->listed = false;
  } else if (r) {
    reply value = convert(*r);
    const bool is_error = value.type == reply::kind::error;
    // Redis's words for a missing password do not say so ("unauthenticated multibulk length"
    // for a long command): say it.
    if (is_error && opts.where.password.empty() &&
        (value.text.starts_with("NOAUTH") ||
         value.text.find("unauthenticated") != std::string::npos))
      value.text += " (the server wants a password: redis://:PASSWORD@host:port)";
    complete(p, is_error ? make_error_code(error::server_error) : boost::system::error_code(),
             std::move(value));
  } else {
    complete(p, make_error_code(l.drop_code()), failure(l.drop_text()));
  }
  if (r) close_if_done();  // (a null reply: the link is being freed already)
}

void connection::impl::close_if_done() {
  // Closing: once no caller awaits a reply, the link goes. (A command cancelled or timed out
  // is awaited by no one: a blocked one would never answer.)
  if (state == phase::closed && !awaited() && current)
    current->drop(error::closed, "the connection was closed");
}

bool connection::impl::awaited() const {
  return std::any_of(commands.begin(), commands.end(),
                     [](const pending_ptr& p) { return !p->done; });
}

void connection::impl::on_command_timeout(const pending_ptr& p) {
  ++stat_timeouts;
  const bool sent = p->in_hiredis;
  complete(p, make_error_code(error::timeout),
           failure("no reply within " + std::to_string(opts.command_timeout.count()) + " ms"));
  if (sent && current && current->ac)
    current->drop(error::disconnected, "the connection was reopened after a command timed out");
}

void connection::impl::start_link() {
  state = phase::resolving;
  connect_timer.expires_after(opts.connect_timeout);
  connect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->state == phase::connected || self->state == phase::closed) return;
    const std::string why =
        "no connection within " + std::to_string(self->opts.connect_timeout.count()) + " ms";
    if (self->state == phase::resolving) {
      self->resolver.cancel();
    } else if (self->current && self->current->ac) {
      self->current->drop(error::connect_timeout, why);
    }
  });
  boost::system::error_code not_an_address;
  asio::ip::make_address(opts.where.host, not_an_address);
  if (!not_an_address) return connect_to(opts.where.host);
  resolver.async_resolve(
      opts.where.host, std::to_string(opts.where.port),
      [self = shared_from_this()](boost::system::error_code ec,
                                  asio::ip::tcp::resolver::results_type results) {
        if (self->state != phase::resolving) return;  // closed meanwhile
        if (ec || results.empty()) {
          const bool timed_out = ec == asio::error::operation_aborted;
          return self->link_failed(timed_out ? error::connect_timeout : error::connect_failed,
                                   "cannot resolve " + self->opts.where.host + ": " +
                                       (timed_out ? std::string("timed out")
                                        : ec      ? ec.message()
                                                  : "no address"));
        }
        auto chosen = results.begin()->endpoint().address();
        for (const auto& entry : results)  // a server bound to 127.0.0.1 only is the usual case
          if (entry.endpoint().address().is_v4()) {
            chosen = entry.endpoint().address();
            break;
          }
        self->connect_to(chosen.to_string());
      });
}

void connection::impl::connect_to(const std::string& address) {
  redisAsyncContext* ac = redisAsyncConnect(address.c_str(), opts.where.port);
  if (!ac) return link_failed(error::connect_failed, "out of memory");
  if (ac->err) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    return link_failed(error::connect_failed, why + " (" + describe(opts.where) + ")");
  }
  current = std::make_shared<link>(*this, ac);
  state = phase::connecting;
  current->attach();
  // AUTH and SELECT go first.
  if (!opts.where.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!opts.where.username.empty()) auth.push_back(opts.where.username);
    auth.push_back(opts.where.password);
    current->setup(auth);
  }
  if (opts.where.db != 0) current->setup({"SELECT", std::to_string(opts.where.db)});
  // The caller's commands wait for on_ready: sent behind a setup that fails, they would run
  // unauthenticated or in the wrong database.
}

void connection::impl::on_ready() {
  state = phase::connected;
  connect_timer.cancel();
  backoff = opts.backoff_initial;
  ++stat_connects;
  connected_now = true;
  submit_waiting();
}

void connection::impl::link_failed(error e, const std::string& why) {
  ++stat_connect_failures;
  fail_waiting(e, why);
  schedule_reconnect(false);
}

void connection::impl::fail_waiting(error e, const std::string& why) {
  // What waits for this attempt fails now: a caller learns Redis is down within one attempt.
  for (const auto& p : std::list<pending_ptr>(commands))
    if (!p->in_hiredis) complete(p, make_error_code(e), failure(why));
}

void connection::impl::link_gone(const std::shared_ptr<link>& l) {
  if (current != l) return;
  current.reset();
  connected_now = false;
  if (state == phase::closed) return;
  if (!l->was_ready()) fail_waiting(l->drop_code(), l->drop_text());
  if (!l->was_ready()) ++stat_connect_failures;  // a refused AUTH too: the backoff grows
  schedule_reconnect(l->was_ready());
}

void connection::impl::schedule_reconnect(bool was_up) {
  state = phase::backing_off;
  connect_timer.cancel();
  if (was_up) backoff = opts.backoff_initial;
  reconnect_timer.expires_after(backoff);
  backoff = std::min(backoff * 2, opts.backoff_max);
  reconnect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->state == phase::backing_off) self->start_link();
  });
}

void connection::impl::close() {
  if (state == phase::closed) return;
  state = phase::closed;
  reconnect_timer.cancel();
  connect_timer.cancel();
  resolver.cancel();
  fail_waiting(error::closed, "the connection is closed");
  // What was sent gets its reply (or its deadline) first; the last reply closes the link.
  close_if_done();
}

// -- the public face --

connection::connection(asio::any_io_executor ex, connection_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}

connection::~connection() { close(); }

void connection::start_command(std::vector<std::string> args,
                               asio::any_completion_handler<command_signature> handler) {
  auto p = std::make_shared<pending>(impl_->strand, std::move(args), std::move(handler));
  // The slot is assigned here, on the caller's side, as the caller emits on it.
  auto slot = asio::get_associated_cancellation_slot(p->handler);
  if (slot.is_connected()) {
    // Weak both: the caller's signal may keep this handler long after the command.
    slot.assign([weak_impl = std::weak_ptr<impl>(impl_),
                 weak = std::weak_ptr<pending>(p)](asio::cancellation_type type) {
      if ((type & asio::cancellation_type::terminal) == asio::cancellation_type::none) return;
      auto im = weak_impl.lock();
      if (!im) return;
      asio::dispatch(im->strand, [im, weak] {
        auto cancelled = weak.lock();
        if (!cancelled || cancelled->done) return;
        im->complete(cancelled, asio::error::operation_aborted, failure("cancelled"));
        im->close_if_done();
      });
    });
  }
  asio::dispatch(impl_->strand, [im = impl_, p = std::move(p)] { im->issue(p); });
}

void connection::close() {
  asio::dispatch(impl_->strand, [im = impl_] { im->close(); });
}

connection_stats connection::stats() const {
  connection_stats s;
  s.connects = impl_->stat_connects;
  s.connect_failures = impl_->stat_connect_failures;
  s.commands = impl_->stat_commands;
  s.timeouts = impl_->stat_timeouts;
  s.connected = impl_->connected_now;
  return s;
}

asio::any_io_executor connection::get_executor() const noexcept {
  return impl_->strand.get_inner_executor();
}

const connection_options& connection::options() const noexcept { return impl_->opts; }

}  // namespace conclave::redis
