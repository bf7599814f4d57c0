// A test's client for `conclave serve`: one raw HTTP/1.1 request per connection (Beast over a
// plain socket, so a test sees exactly what the server sent), SSE frames split apart, and the
// few raw-socket moves hostile cases need. Coroutines: run them with run.hpp's run().
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conclave::test {

using reply = boost::beast::http::response<boost::beast::http::string_body>;
using header_pairs = std::vector<std::pair<std::string, std::string>>;

inline boost::asio::awaitable<boost::asio::ip::tcp::socket> connect_loopback(std::uint16_t port) {
  boost::asio::ip::tcp::socket s(co_await boost::asio::this_coro::executor);
  const boost::asio::ip::tcp::endpoint where(boost::asio::ip::make_address("127.0.0.1"), port);
  co_await s.async_connect(where, boost::asio::use_awaitable);
  co_return s;
}

/// The request's bytes: `method target`, Host, the headers, and a JSON body when there is one.
inline std::string request_text(const std::string& method, const std::string& target,
                                const std::string& body = {}, const header_pairs& headers = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nhost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    out +=
        "content-type: application/json\r\ncontent-length: " + std::to_string(body.size()) + "\r\n";
  }
  return out + "\r\n" + body;
}

/// Reads one whole response (a chunked stream to its end) from `s`.
inline boost::asio::awaitable<reply> read_reply(boost::asio::ip::tcp::socket& s) {
  boost::beast::flat_buffer buf;
  boost::beast::http::response_parser<boost::beast::http::string_body> p;
  p.body_limit(64 * 1024 * 1024);
  co_await boost::beast::http::async_read(s, buf, p, boost::asio::use_awaitable);
  co_return p.release();
}

/// One request on a fresh connection, its whole response.
inline boost::asio::awaitable<reply> http_call(std::uint16_t port, std::string method,
                                               std::string target, std::string body = {},
                                               header_pairs headers = {}) {
  auto s = co_await connect_loopback(port);
  const std::string bytes = request_text(method, target, body, headers);
  co_await boost::asio::async_write(s, boost::asio::buffer(bytes), boost::asio::use_awaitable);
  co_return co_await read_reply(s);
}

/// Everything the peer sends until it closes (EOF or reset).
inline boost::asio::awaitable<std::string> read_to_close(boost::asio::ip::tcp::socket& s) {
  std::string out;
  std::array<char, 4096> buf{};
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(boost::asio::buffer(buf),
                                              boost::asio::as_tuple(boost::asio::use_awaitable));
    out.append(buf.data(), n);
    if (ec) co_return out;
  }
}

/// Reads from `s` into `seen` until it holds `needle` `times` times (true) or the peer closes.
inline boost::asio::awaitable<bool> read_until_count(boost::asio::ip::tcp::socket& s,
                                                     std::string& seen, std::string_view needle,
                                                     std::size_t times) {
  std::array<char, 4096> buf{};
  auto count = [&] {
    std::size_t n = 0;
    for (auto at = seen.find(needle); at != std::string::npos; at = seen.find(needle, at + 1)) ++n;
    return n;
  };
  while (count() < times) {
    auto [ec, n] = co_await s.async_read_some(boost::asio::buffer(buf),
                                              boost::asio::as_tuple(boost::asio::use_awaitable));
    seen.append(buf.data(), n);
    if (ec) co_return count() >= times;
  }
  co_return true;
}

/// One SSE frame; `data` lines joined with "\n".
struct sse_event {
  std::string id, event, data;
};

/// The frames of an SSE body, comments left out.
inline std::vector<sse_event> sse_events(std::string_view body) {
  std::vector<sse_event> out;
  std::size_t from = 0;
  while (from < body.size()) {
    auto end = body.find("\n\n", from);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view block = body.substr(from, end - from);
    from = end + 2;
    sse_event e;
    bool any = false;
    std::size_t at = 0;
    while (at < block.size()) {
      auto eol = block.find('\n', at);
      if (eol == std::string_view::npos) eol = block.size();
      const std::string_view line = block.substr(at, eol - at);
      at = eol + 1;
      auto value = [&](std::string_view key) { return std::string(line.substr(key.size())); };
      if (line.starts_with("id: ")) {
        e.id = value("id: ");
      } else if (line.starts_with("event: ")) {
        e.event = value("event: ");
      } else if (line.starts_with("data: ")) {
        if (any && !e.data.empty()) e.data += '\n';
        e.data += value("data: ");
      } else {
        continue;
      }
      any = true;
    }
    if (any) out.push_back(std::move(e));
  }
  return out;
}

inline boost::json::value json_of(std::string_view text) { return boost::json::parse(text); }

/// error.param / error.code of an OpenAI-style error body ("" when null or absent).
inline std::string error_field(const reply& r, std::string_view key) {
  boost::json::error_code ec;
  const auto v = boost::json::parse(r.body(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return "";
  const auto* f = v.at("error").as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : "";
}

}  // namespace conclave::test
