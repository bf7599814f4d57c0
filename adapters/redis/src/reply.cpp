#include <conclave/redis/reply.hpp>

#include <boost/url/parse.hpp>

#include <charconv>
#include <string>

namespace conclave::redis {
namespace {

class redis_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conclave.redis"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::bad_url:
        return "not a redis:// URL";
      case error::connect_failed:
        return "could not connect to Redis";
      case error::connect_timeout:
        return "connecting to Redis timed out";
      case error::auth_failed:
        return "Redis refused AUTH or SELECT";
      case error::disconnected:
        return "the Redis connection broke before the reply";
      case error::timeout:
        return "no reply from Redis in time";
      case error::server_error:
        return "Redis answered with an error";
      case error::too_many_pending:
        return "too many Redis commands waiting";
      case error::closed:
        return "the Redis connection was closed";
      case error::unexpected_reply:
        return "Redis replied with something unexpected";
    }
    return "unknown conclave.redis error " + std::to_string(ev);
  }
};

bool fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return false;
}

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const redis_category category;
  return category;
}

std::optional<std::int64_t> reply::as_integer() const noexcept {
  if (type == kind::integer) return integer;
  if (type != kind::string || text.empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<endpoint> parse_url(std::string_view url, std::string* why) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    fail(why, "not a URL (expected redis://host:port)");
    return std::nullopt;
  }
  const auto& u = *parsed;
  if (u.scheme() != "redis") {
    fail(why, "the scheme must be redis:// (rediss:// and TLS are not supported)");
    return std::nullopt;
  }
  endpoint e;
  e.host = u.host_address();
  if (u.host_type() == boost::urls::host_type::ipv6) {  // [::1] -> ::1
    if (e.host.size() >= 2 && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
  }
  if (e.host.empty()) {
    fail(why, "no host");
    return std::nullopt;
  }
  if (u.has_port()) {
    const auto p = u.port();
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) {
      fail(why, "the port must be 1-65535");
      return std::nullopt;
    }
    e.port = static_cast<std::uint16_t>(v);
  }
  if (u.has_userinfo()) {
    e.username = u.user();
    e.password = u.password();
    if (!e.username.empty() && e.password.empty()) {
      fail(why, "a user needs a password (redis://user:password@host)");
      return std::nullopt;
    }
  }
  std::string path = u.path();
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (!path.empty()) {
    int db = 0;
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db < 0) {
      fail(why, "the path must be a database number (/0, /1...)");
      return std::nullopt;
    }
    e.db = db;
  }
  if (u.has_query() || u.has_fragment()) {
    fail(why, "no query or fragment is understood");
    return std::nullopt;
  }
  return e;
}

std::string describe(const endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  std::string out = "redis://";
  out += v6 ? "[" + e.host + "]" : e.host;
  out += ":" + std::to_string(e.port) + "/" + std::to_string(e.db);
  return out;
}

}  // namespace conclave::redis
