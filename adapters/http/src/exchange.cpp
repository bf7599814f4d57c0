// Writing a response: whole, as a chunked stream (close-delimited for HTTP/1.0), or raw bytes
// for fault injection; the head is serialized here, with the headers every response carries.
#include "exchange_impl.hpp"

#include <conclave/http/header_safety.hpp>

#include <boost/beast/http/status.hpp>

#include <cctype>
#include <cstdio>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace conclave::http::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool has_header(const header_list& h, std::string_view name) {
  for (const auto& [n, v] : h)
    if (iequals(n, name)) return true;
  return false;
}

// Framing is the server's: a handler's content-length, transfer-encoding or connection would
// contradict what goes on the wire.
bool is_framing(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query-string decoding: %XX and '+' as a space.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool has_no_body(unsigned status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

namespace {

void append_status_line(std::string& out, unsigned status, unsigned version) {
  std::string_view reason = "Status";
  if (status == 529) {
    reason = "Overloaded";  // not registered: Beast has no word for it
  } else if (bhttp::int_to_status(status) != bhttp::status::unknown) {
    const auto r = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    reason = std::string_view(r.data(), r.size());
  }
  char code[16];
  const int n = std::snprintf(code, sizeof code, "%u ", status);
  out += version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  out.append(code, static_cast<std::size_t>(n));
  out += reason;
  out += "\r\n";
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  if (name.empty() || find_control_char(name) != std::string::npos ||
      name.find_first_of(" :") != std::string::npos || !is_safe_header_value(value)) {
    return;
  }
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

std::string response_head(unsigned status, unsigned version, const header_list& headers) {
  std::string out;
  std::size_t size = 64;
  for (const auto& [name, value] : headers) size += name.size() + value.size() + 4;
  out.reserve(size);
  append_status_line(out, status, version);
  for (const auto& [name, value] : headers) append_header(out, name, value);
  out += "\r\n";
  return out;
}

exchange_impl::exchange_impl(connection& c, const incoming_request& req, std::string path,
                             std::string query,
                             std::map<std::string, std::string, std::less<>> params, std::string id,
                             bool keep_alive)
    : c_(c),
      req_(req),
      path_(std::move(path)),
      query_(std::move(query)),
      params_(std::move(params)),
      id_(std::move(id)),
      keep_alive_(keep_alive),
      head_only_(req.method() == bhttp::verb::head) {}

std::optional<std::string> exchange_impl::query(std::string_view name) const {
  std::string_view rest = query_;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string_view exchange_impl::param(std::string_view name) const {
  const auto it = params_.find(name);
  return it == params_.end() ? std::string_view() : std::string_view(it->second);
}

void exchange_impl::add_header(std::string name, std::string value) {
  common_.emplace_back(std::move(name), std::move(value));
}

std::string exchange_impl::head(unsigned status, std::string_view content_type, header_list extra,
                                std::string_view framing_name, std::string_view framing_value) {
  const unsigned version = req_.version() >= 11 ? 11 : 10;
  // A watched exchange (until_peer_gone read ahead) closes after its reply: say so, or the
  // client reuses a closing connection and retries a paid request on the reset.
  const bool keep =
      keep_alive_ && !close_after_ && !c_.stopping() && !connection_close_ && !watched_;
  connection_close_ = !keep;
  const std::string& server_name = c_.core().opts.name;
  // The handler's headers: add_header()'s, then `extra`; one value per name, the later one
  // (`extra` replaces add_header()'s, a later add_header() an earlier one).
  const std::size_t given = common_.size() + extra.size();
  auto given_at = [&](std::size_t i) -> const std::pair<std::string, std::string>& {
    return i < common_.size() ? common_[i] : extra[i - common_.size()];
  };
  // Written straight into one string: a reply's head cost ten allocations as a list of
  // headers, then a line at a time.
  std::size_t size = 160 /* the status line, the names written here, separators */ +
                     content_type.size() + framing_value.size() + id_.size() + server_name.size();
  for (std::size_t i = 0; i < given; ++i)
    size += given_at(i).first.size() + given_at(i).second.size() + 4;
  std::string out;
  out.reserve(size);
  append_status_line(out, status, version);
  if (!content_type.empty()) append_header(out, "content-type", content_type);
  if (!framing_name.empty()) append_header(out, framing_name, framing_value);
  // A handler may give its own x-request-id (a fault that echoes a header there, a proxy).
  if (!has_header(common_, "x-request-id") && !has_header(extra, "x-request-id")) {
    append_header(out, "x-request-id", id_);
  }
  if (!server_name.empty()) append_header(out, "server", server_name);
  if (!keep) {
    append_header(out, "connection", "close");
  } else if (version == 10) {
    append_header(out, "connection", "keep-alive");
  }
  for (std::size_t i = 0; i < given; ++i) {
    const auto& [name, value] = given_at(i);
    if (is_framing(name)) continue;
    bool replaced = false;
    for (std::size_t j = i + 1; j < given && !replaced; ++j)
      replaced = iequals(name, given_at(j).first);
    if (!replaced) append_header(out, name, value);
  }
  common_.clear();
  out += "\r\n";
  return out;
}

asio::awaitable<bool> exchange_impl::respond(unsigned status, std::string content_type,
                                             std::string body, header_list extra) {
  if (state_ != state::none || c_.peer_gone()) co_return false;
  state_ = state::complete;
  const bool no_body = has_no_body(status);
  const std::string length = std::to_string(body.size());
  std::string h = head(status, content_type, std::move(extra),
                       no_body ? std::string_view() : std::string_view("content-length"), length);
  std::array<asio::const_buffer, 3> bufs{asio::buffer(h), asio::const_buffer(),
                                         asio::const_buffer()};
  if (!head_only_ && !no_body) bufs[1] = asio::buffer(body);
  co_return co_await c_.write(bufs);
}

asio::awaitable<bool> exchange_impl::start_stream(std::string content_type, header_list extra,
                                                  unsigned status) {
  if (state_ != state::none || c_.peer_gone()) co_return false;
  state_ = state::streaming;
  // HTTP/1.0 knows no chunked encoding: the stream ends with the connection.
  chunked_ = req_.version() >= 11;
  if (!chunked_) connection_close_ = true;
  if (content_type.starts_with("text/event-stream") && !has_header(extra, "cache-control") &&
      !has_header(common_, "cache-control")) {
    extra.emplace_back("cache-control", "no-cache");
  }
  std::string h =
      head(status, content_type, std::move(extra),
           chunked_ ? std::string_view("transfer-encoding") : std::string_view(), "chunked");
  std::array<asio::const_buffer, 3> bufs{asio::buffer(h), asio::const_buffer(),
                                         asio::const_buffer()};
  co_return co_await c_.write(bufs);
}

asio::awaitable<bool> exchange_impl::write(std::string_view data) {
  if (state_ != state::streaming || c_.peer_gone()) co_return false;
  if (head_only_ || data.empty()) co_return true;  // an empty chunk would end the body
  std::array<asio::const_buffer, 3> bufs{asio::const_buffer(), asio::buffer(data),
                                         asio::const_buffer()};
  std::string size_line;
  if (chunked_) {
    std::array<char, 24> hex{};
    const int n = std::snprintf(hex.data(), hex.size(), "%zx\r\n", data.size());
    size_line.assign(hex.data(), static_cast<std::size_t>(n));
    bufs[0] = asio::buffer(size_line);
    bufs[2] = asio::buffer("\r\n", 2);
  }
  co_return co_await c_.write(bufs);
}

asio::awaitable<bool> exchange_impl::end_stream() {
  if (state_ != state::streaming || c_.peer_gone()) co_return false;
  state_ = state::complete;
  if (head_only_ || !chunked_) co_return true;  // close-delimited: the close ends it
  std::array<asio::const_buffer, 3> bufs{asio::buffer("0\r\n\r\n", 5), asio::const_buffer(),
                                         asio::const_buffer()};
  co_return co_await c_.write(bufs);
}

asio::awaitable<bool> exchange_impl::write_raw(std::string_view bytes) {
  // Before a response, raw bytes are a prelude (an interim 103) or a head of the handler's
  // own; the connection goes on only if a response follows or mark_complete() says so.
  if (state_ != state::none) raw_ = true;
  if (c_.peer_gone()) co_return false;
  std::array<asio::const_buffer, 3> bufs{asio::buffer(bytes), asio::const_buffer(),
                                         asio::const_buffer()};
  co_return co_await c_.write(bufs);
}

void exchange_impl::reset() {
  raw_ = true;
  c_.reset();
}

asio::awaitable<void> exchange_impl::until_peer_gone() {
  watched_ = true;
  co_await c_.until_peer_gone();
}

}  // namespace conclave::http::detail
