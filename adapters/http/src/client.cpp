#include "client_call.hpp"
#include "request_head.hpp"

#include <conclave/http/client.hpp>
#include <conclave/http/error.hpp>
#include <conclave/http/header_safety.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace conclave::http {
namespace {

// Why `req` must not be sent (a field or the target that would break out of the request
// head), naming the field but never quoting it: it may be a key. Empty when it is safe.
std::string unsafe_part(const request_message& req) {
  const std::string_view target = req.target();
  if (find_control_char(target) != std::string_view::npos ||
      target.find(' ') != std::string_view::npos) {
    return "request target holds a control character or space; not sent";
  }
  for (const auto& field : req) {
    const std::string_view name = field.name_string();
    if (name.empty() || find_control_char(name) != std::string_view::npos ||
        name.find_first_of(" :") != std::string_view::npos) {
      return "a request header name holds a control character, space or colon; not sent";
    }
    if (!is_safe_header_value(field.value())) {
      return "request header '" + std::string(name) + "' holds a control character; not sent";
    }
  }
  return {};
}

// Not a token (RFC 9110's tchar): a method holding one would break the request line.
bool is_token(std::string_view s) {
  constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           specials.find(c) != std::string_view::npos;  // ASCII only, whatever the locale
  });
}

// Why `req` must not go to `where` with `user_agent` as its default (empty: it may).
std::string unsafe_with(const request_message& req, const origin& where,
                        std::string_view user_agent) {
  // The head is written as it is: a CR LF inside a value would inject headers.
  if (!is_token(req.method_string())) return "the request method is not a token; not sent";
  // An origin is usually parsed (parse_base_url refuses these), but it is a plain struct.
  if (where.host.empty() || find_control_char(where.host) != std::string_view::npos ||
      where.host.find_first_of(" /?#@") != std::string::npos) {
    return "the origin's host holds a control character, space or delimiter; not sent";
  }
  if (std::string why = unsafe_part(req); !why.empty()) return why;
  if (req.find(bhttp::field::user_agent) == req.end() && !is_safe_header_value(user_agent)) {
    return "the client's user agent holds a control character; not sent";
  }
  return {};
}

}  // namespace

struct client::impl : detail::client_core {
  using client_core::client_core;
};

client::client(asio::any_io_executor ex, client_options opts)
    : executor_(ex), impl_(std::make_unique<impl>(std::move(ex), std::move(opts))) {}

client::~client() = default;

client_stats client::stats() const noexcept { return {impl_->connections->connections_opened()}; }

asio::awaitable<idle_eviction> client::evict_idle() {
  co_return co_await impl_->connections->async_evict_idle(asio::use_awaitable);
}

asio::awaitable<response> client::request(const origin& where, request_message req,
                                          clock::time_point deadline) {
  return stream(where, std::move(req), deadline, body_sink{});
}

void client::start_stream(asio::any_io_executor ex, const origin& where, request_message req,
                          clock::time_point deadline, body_sink sink, head_check check,
                          asio::any_completion_handler<stream_signature> handler) {
  if (std::string why = unsafe_with(req, where, impl_->opts.user_agent); !why.empty()) {
    response out;
    out.ec = http::error::unsafe_request;
    out.failure_detail = std::move(why);
    asio::post(ex, [h = std::move(handler), out = std::move(out)]() mutable {
      std::move(h)(nullptr, std::move(out));
    });
    return;
  }
  // The head is all the call keeps of the message's fields: they are freed here.
  std::string head = detail::request_head(req, where, impl_->opts.user_agent);
  detail::start_call(*impl_, std::move(ex), where, std::move(head), std::move(req.body()), deadline,
                     std::move(sink), std::move(check), std::move(handler));
}

asio::awaitable<response> client::stream(const origin& where, request_message req,
                                         clock::time_point deadline, body_sink sink,
                                         head_check check) {
  auto [e, out] = co_await async_stream(where, std::move(req), deadline, std::move(sink),
                                        std::move(check), asio::as_tuple(asio::deferred));
  if (e) std::rethrow_exception(e);
  co_return std::move(out);
}

}  // namespace conclave::http
