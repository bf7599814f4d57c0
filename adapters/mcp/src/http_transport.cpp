// Streamable HTTP: each message is a POST; the reply is one JSON message, an SSE stream that
// ends with our response, or 202 for a notification. The session id from initialize and the
// negotiated version travel on every later request; close() DELETEs the session.
#include "transport.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/http/sse_parser.hpp>
#include <conclave/mcp/protocol.hpp>
#include <conclave/provider/content_type.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace conclave::mcp::detail {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

std::string head_of(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

// True when `text` holds a response (result or error) rather than a request or notification.
bool is_response(std::string_view text) {
  for (const incoming& m : decode_messages(text))
    if (m.what == incoming::kind::response || m.what == incoming::kind::error_response) return true;
  return false;
}

class http_transport final : public transport {
 public:
  http_transport(strand ex, http::client& client, server_config config)
      : ex_(ex), http_(client), config_(std::move(config)) {}

  asio::awaitable<error_code> open(message_fn on_message, closed_fn, std::string& why) override {
    on_message_ = std::move(on_message);
    auto parsed = http::parse_base_url(config_.url);
    if (!parsed) {
      why = "bad url \"" + config_.url + "\": " + parsed.error();
      co_return error::bad_request;
    }
    where_ = parsed->where;
    target_ = parsed->path.empty() ? "/" : parsed->path;
    co_return error_code{};
  }

  bool replies_within_send() const noexcept override { return true; }

  void set_protocol_version(std::string v) override { version_ = std::move(v); }

  asio::awaitable<error_code> send(std::string message, std::string& why) override {
    http::request_message req = make(bhttp::verb::post);
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::accept, "application/json, text/event-stream");
    req.body() = std::move(message);
    req.prepare_payload();

    // The sink only gathers (it may run off our strand); messages are handed out afterwards.
    bool sse = false, too_large = false;
    std::string json_body;
    http::sse_parser parser(max_message_bytes);
    std::vector<http::sse_event> events;
    std::vector<std::string> messages;
    // Named std::functions, not lambda temporaries in the co_await (GCC 12 destroys those twice).
    http::head_check check = [&](const http::response& head) {
      const std::string type = provider::media_type(head.headers);
      sse = type == "text/event-stream";
      return true;
    };
    http::body_sink sink = [&](std::string_view chunk) {
      if (!sse) {
        if (json_body.size() + chunk.size() > max_message_bytes) return !(too_large = true);
        json_body.append(chunk);
        return true;
      }
      if (!parser.feed(chunk, events)) return !(too_large = true);
      bool done = false;
      for (http::sse_event& e : events) {
        if (e.data.empty()) continue;  // priming events carry an id and no data
        done = done || is_response(e.data);
        messages.push_back(std::move(e.data));
      }
      events.clear();
      return !done;  // our response arrived: stop reading, even if the server keeps it open
    };
    http::response r =
        co_await http_.stream(where_, std::move(req), http::client::clock::time_point::max(),
                              std::move(sink), std::move(check));
    if (r.ec) {
      why = "HTTP request to " + config_.url +
            " failed: " + (r.failure_detail.empty() ? r.ec.message() : r.failure_detail);
      co_return r.ec == asio::error::operation_aborted ? error_code(error::cancelled)
                                                       : error_code(error::connection_failed);
    }
    if (too_large) {
      why = "the server's reply exceeds " + std::to_string(max_message_bytes) + " bytes";
      co_return error::response_too_large;
    }
    if (r.status == 404 && !session_.empty()) {
      why = "the server forgot our session (404); reconnect";
      co_return error::connection_failed;
    }
    if (r.status < 200 || r.status > 299) {
      why = "HTTP " + std::to_string(r.status) + " from " + config_.url + ": " + head_of(r.body);
      co_return r.status == 401 || r.status == 403 ? error_code(error::auth_failed)
                                                   : error_code(error::provider_error);
    }
    if (session_.empty()) {
      if (auto it = r.headers.find("Mcp-Session-Id"); it != r.headers.end())
        session_ = std::string(it->value());
    }
    if (!sse && json_body.find_first_not_of(" \t\r\n") != std::string::npos)
      messages.push_back(std::move(json_body));
    for (const std::string& m : messages)
      if (on_message_) on_message_(m);
    co_return error_code{};
  }

  asio::awaitable<void> close() override {
    if (closed_) co_return;
    closed_ = true;
    if (session_.empty()) co_return;
    // Ends the session on the server; 405 (not supported) and failures change nothing for us.
    http::request_message req = make(bhttp::verb::delete_);
    req.prepare_payload();
    co_await http_.request(where_, std::move(req),
                           http::client::clock::now() + std::chrono::seconds(5));
  }

 private:
  http::request_message make(bhttp::verb verb) const {
    http::request_message req{verb, target_, 11};
    for (const auto& [k, v] : config_.headers) req.set(k, v);
    if (!version_.empty()) req.set("MCP-Protocol-Version", version_);
    if (!session_.empty()) req.set("Mcp-Session-Id", session_);
    return req;
  }

  strand ex_;
  http::client& http_;
  server_config config_;
  http::origin where_;
  std::string target_;
  std::string version_;
  std::string session_;
  message_fn on_message_;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<transport> make_http_transport(strand ex, http::client& http,
                                               const server_config& config) {
  return std::make_shared<http_transport>(ex, http, config);
}

}  // namespace conclave::mcp::detail
