// A TCP server that plays a script: for each connection it accepts (up to `replies.size()`),
// it reads one request (head and Content-Length body), writes that connection's canned bytes
// as they are, and closes; or, given `per_connection`, a reply per request on each connection
// in turn (a kept-alive connection's later answers). For replies the mock cannot send, such as
// interim 1xx responses or usage no server should report. Single-threaded tests only.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cctype>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace conclave::test {

/// An HTTP/1.1 reply with Content-Length and Connection: close added after `head_fields`
/// (CRLF-terminated header lines).
inline std::string http_reply(const std::string& status_line, const std::string& head_fields,
                              const std::string& body) {
  return "HTTP/1.1 " + status_line + "\r\n" + head_fields +
         "content-length: " + std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body;
}

/// Per connection accepted, the replies to its requests in order; it closes after the last.
struct per_connection {
  std::vector<std::vector<std::string>> replies;
};

class scripted_server {
 public:
  scripted_server(boost::asio::io_context& io, std::vector<std::string> replies)
      : scripted_server(io, one_each(std::move(replies))) {}
  scripted_server(boost::asio::io_context& io, per_connection script)
      : state_(std::make_shared<state>(io, std::move(script.replies))) {
    namespace ip = boost::asio::ip;
    state_->acceptor.open(ip::tcp::v4());
    state_->acceptor.bind({ip::make_address("127.0.0.1"), 0});
    state_->acceptor.listen();
    state_->port = state_->acceptor.local_endpoint().port();
    boost::asio::co_spawn(io, serve(state_), boost::asio::detached);
  }
  scripted_server(boost::asio::io_context& io, std::string reply)
      : scripted_server(io, std::vector<std::string>{std::move(reply)}) {}
  ~scripted_server() { stop(); }

  std::uint16_t port() const { return state_->port; }
  /// "http://127.0.0.1:PORT/v1".
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }
  /// Every request read so far, head and body, as received.
  const std::vector<std::string>& requests() const { return state_->requests; }
  /// Stops accepting (pending accepts end). Idempotent.
  void stop() {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
  }

 private:
  struct state {
    state(boost::asio::io_context& io, std::vector<std::vector<std::string>> r)
        : acceptor(io), replies(std::move(r)) {}
    boost::asio::ip::tcp::acceptor acceptor;
    std::uint16_t port = 0;
    std::vector<std::vector<std::string>> replies;  // per connection
    std::vector<std::string> requests;
  };

  static per_connection one_each(std::vector<std::string> replies) {
    per_connection script;
    for (auto& r : replies) script.replies.push_back({std::move(r)});
    return script;
  }

  // Content-Length of a request head, 0 when absent.
  static std::size_t content_length(std::string head) {
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = head.find("\r\ncontent-length:");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
  }

  static boost::asio::awaitable<void> serve(std::shared_ptr<state> st) {
    namespace asio = boost::asio;
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    for (const auto& answers : st->replies) {
      auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
      if (ec) co_return;  // stopped
      std::string in;     // what has arrived and is not yet a recorded request
      for (const std::string& reply : answers) {
        auto [rec, head_end] = co_await asio::async_read_until(socket, asio::dynamic_buffer(in),
                                                               "\r\n\r\n", use_tuple);
        if (rec) break;
        const std::size_t want = head_end + content_length(in.substr(0, head_end));
        if (in.size() < want) {
          auto [bec, n] =
              co_await asio::async_read(socket, asio::dynamic_buffer(in),
                                        asio::transfer_exactly(want - in.size()), use_tuple);
          if (bec) break;
        }
        st->requests.push_back(in.substr(0, want));
        in.erase(0, want);
        auto [wec, written] = co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
        if (wec) break;
      }
      boost::system::error_code ignored;
      socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
  }

  std::shared_ptr<state> state_;
};

}  // namespace conclave::test
