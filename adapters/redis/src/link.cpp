#include "link.hpp"

#include <boost/asio/post.hpp>

namespace conclave::redis {
namespace asio = boost::asio;

reply failure(std::string text) {
  reply r;
  r.type = reply::kind::error;
  r.text = std::move(text);
  return r;
}

reply convert(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i)
        if (r.element[i]) out.elements.push_back(convert(*r.element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      break;
  }
  return out;
}

link::link(connection::impl& o, redisAsyncContext* c) : owner(&o), ac(c), fd_(o.strand, c->c.fd) {}

void link::attach() {
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = &link::add_read;
  ac->ev.delRead = &link::del_read;
  ac->ev.addWrite = &link::add_write;
  ac->ev.delWrite = &link::del_write;
  ac->ev.cleanup = &link::cleanup;
  // hiredis learns the connect is done from the first write event, which this arms.
  redisAsyncSetConnectCallback(ac, &link::on_connect);
}

bool link::send(const std::vector<std::string>& args, redisCallbackFn* callback, void* privdata) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return redisAsyncCommandArgv(ac, callback, privdata, static_cast<int>(argv.size()), argv.data(),
                               lens.data()) == REDIS_OK;
}

void link::setup(const std::vector<std::string>& args) {
  if (send(args, &link::on_setup_reply, nullptr)) ++setup_pending_;
}

void link::drop(error code, std::string why) {
  if (!ac || dropped_) return;
  dropped_ = true;
  drop_code_ = code;
  drop_text_ = std::move(why);
  redisAsyncFree(ac);  // inside a callback, hiredis frees once the callback returns
}

error link::drop_code() const noexcept {
  if (dropped_) return drop_code_;
  return ready_ ? error::disconnected : error::connect_failed;
}

std::string link::drop_text() const {
  if (dropped_) return drop_text_;
  std::string where = owner ? " (" + describe(owner->opts.where) + ")" : std::string();
  return (drop_text_.empty() ? std::string("connection lost") : drop_text_) + where;
}

void link::on_reply(redisAsyncContext* ac, void* r, void* privdata) {
  auto* self = static_cast<link*>(ac->data);
  if (!self->owner) return;  // the impl is being destroyed: nobody to tell
  // A context hiredis frees on its own (EOF, a socket error) leaves its reason in errstr.
  if (!r && !self->dropped_ && self->drop_text_.empty() && ac->err) self->drop_text_ = ac->errstr;
  self->owner->on_reply(static_cast<pending*>(privdata), static_cast<redisReply*>(r), *self);
}

void link::on_setup_reply(redisAsyncContext* ac, void* r, void* /*privdata*/) {
  auto* self = static_cast<link*>(ac->data);
  const auto* reply = static_cast<redisReply*>(r);
  if (!reply || !self->owner) return;  // the link is going anyway
  if (reply->type == REDIS_REPLY_ERROR)
    return self->drop(error::auth_failed, "Redis refused the connection's setup: " +
                                              std::string(reply->str, reply->len));
  if (--self->setup_pending_ == 0 && self->connected_) {
    self->ready_ = true;
    self->owner->on_ready();
  }
}

void link::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<link*>(ac->data);
  if (status == REDIS_OK) {
    self->connected_ = true;
    if (self->setup_pending_ == 0 && self->owner) {
      self->ready_ = true;
      self->owner->on_ready();
    }
  } else if (ac->errstr[0] != '\0') {
    self->drop_text_ = ac->errstr;  // hiredis frees the context next
  }
}

void link::add_read(void* p) {
  auto* self = static_cast<link*>(p);
  self->want_read_ = true;
  self->arm(true);
}
void link::del_read(void* p) { static_cast<link*>(p)->want_read_ = false; }
void link::add_write(void* p) {
  auto* self = static_cast<link*>(p);
  self->want_write_ = true;
  self->arm(false);
}
void link::del_write(void* p) { static_cast<link*>(p)->want_write_ = false; }

void link::cleanup(void* p) {
  // Called by hiredis just before it closes the socket and frees the context.
  auto* self = static_cast<link*>(p);
  self->ac = nullptr;
  self->want_read_ = self->want_write_ = false;
  if (self->fd_.is_open()) self->fd_.release();  // hiredis closes it; outstanding waits abort
  if (!self->owner) return;
  asio::post(self->owner->strand, [owner = self->owner->shared_from_this(),
                                   l = self->shared_from_this()] { owner->link_gone(l); });
}

void link::arm(bool read) {
  bool& armed = read ? read_armed_ : write_armed_;
  if (armed || !ac || !owner) return;
  armed = true;
  fd_.async_wait(
      read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
      [self = shared_from_this(), keep = owner->shared_from_this(),
       read](boost::system::error_code ec) {
        (read ? self->read_armed_ : self->write_armed_) = false;
        if (ec || !self->ac) return;
        if (!(read ? self->want_read_ : self->want_write_)) return;
        if (read)
          redisAsyncHandleRead(self->ac);
        else
          redisAsyncHandleWrite(self->ac);
        if (self->ac && (read ? self->want_read_ : self->want_write_)) self->arm(read);
      });
}

}  // namespace conclave::redis
