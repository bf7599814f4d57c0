// One HTTP/1.1 request and its response on an open stream (plain or TLS), for the client:
// interim responses skipped, the head checked, the body read into the response or handed to
// a sink. Internal to adapters/http.
#pragma once

#include <conclave/http/client.hpp>
#include <conclave/http/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Deferred, not use_awaitable: co_await then suspends on the operation itself, where
// use_awaitable first allocates a coroutine frame for its initiation (one per wait per call).
inline constexpr auto exchange_wait = asio::as_tuple(asio::deferred);
inline constexpr std::size_t header_limit = 64 * 1024;
// A stream's events are small: a 2 KiB chunk takes them a few at a time (8 KiB per in-flight
// stream was the largest part of an agent's memory in heavy mode).
inline constexpr std::size_t sink_chunk = 2 * 1024;
// A whole body's first allocation: its content-length up to this, then doubling.
inline constexpr std::size_t first_body_read = 64 * 1024;
inline constexpr std::size_t min_body_read = 1024;
// Interim responses tolerated before the final one: real servers send one or two; a peer
// sending them without end would otherwise hold the call until its deadline (or forever).
inline constexpr int max_interim_responses = 16;

inline bool is_success(unsigned status) { return status >= 200 && status < 300; }

// 1xx other than 101 (which hands the connection to another protocol): a head with no body,
// followed by the real response on the same connection.
inline bool is_interim(unsigned status) { return status >= 100 && status < 200 && status != 101; }

// One request/response exchange on an open stream. Fills `out`; sets `keep_alive` when the
// connection may serve another request, and `head_seen` once any response head (a 1xx too)
// came: the server had the request then, and it must never be sent again. `req` is let go (its
// fields and body freed) as soon as it cannot be: once written on a fresh connection, else once
// a head came (the client replays it only on a kept-alive connection that answered nothing).
// Every call in flight waited for its reply holding about 1 KiB of request it would never send.
template <typename Stream>
asio::awaitable<void> exchange(Stream& s, beast::flat_buffer& buffer, request_message& req,
                               const body_sink* sink, const head_check* check,
                               std::size_t body_limit, response& out, bool& keep_alive,
                               bool& head_seen, std::string& phase) {
  keep_alive = false;
  head_seen = false;
  phase = "writing the request";
  if (auto [ec, n] = co_await bhttp::async_write(s, req, exchange_wait); ec) {
    out.ec = ec;
    co_return;
  }
  if (!out.reused_connection) req = {};

  phase = "waiting for the response";
  // A parser reads one message: each interim response gets its own, and so does the final one.
  std::optional<bhttp::response_parser<bhttp::buffer_body>> holder;
  for (int interim = 0;; ++interim) {
    if (interim > max_interim_responses) {
      out.ec = http::error::too_many_interim_responses;
      out.failure_detail = "the server sent more than " + std::to_string(max_interim_responses) +
                           " interim (1xx) responses";
      co_return;
    }
    holder.emplace();
    holder->header_limit(header_limit);
    holder->body_limit(body_limit);
    if (auto [ec, n] = co_await bhttp::async_read_header(s, buffer, *holder, exchange_wait); ec) {
      out.ec = ec;
      co_return;
    }
    if (!head_seen) req = {};
    head_seen = true;
    if (!is_interim(holder->get().result_int())) break;
  }
  auto& parser = *holder;
  out.status = parser.get().result_int();
  // Moved, not copied (a copy allocates each field again): the parser reads the body by its
  // own state, never by these fields.
  out.headers = std::move(static_cast<bhttp::fields&>(parser.get()));

  phase = "reading the response body";
  const bool to_sink = sink && *sink && is_success(out.status);
  if (to_sink && check && *check && !(*check)(out)) {
    out.stopped_by_sink = true;  // refused by its head: the body stays unread
    co_return;
  }
  // A body for the caller is read straight into out.body, sized by its content-length when
  // there is one; a body for a sink through one small chunk (every in-flight stream holds it).
  std::vector<char> chunk;
  std::size_t used = 0;  // bytes of out.body filled
  while (!parser.is_done()) {
    char* room = nullptr;
    std::size_t room_size = 0;
    if (to_sink) {
      if (chunk.empty()) chunk.resize(sink_chunk);
      room = chunk.data();
      room_size = chunk.size();
    } else {
      if (used == out.body.size()) {
        const auto remaining = parser.content_length_remaining();
        const std::size_t grow =
            remaining && *remaining > 0
                ? static_cast<std::size_t>(std::min<std::uint64_t>(*remaining, first_body_read))
                : std::max(min_body_read, out.body.size());
        out.body.resize(used + grow);
      }
      room = out.body.data() + used;
      room_size = out.body.size() - used;
    }
    parser.get().body().data = room;
    parser.get().body().size = room_size;
    auto [ec, n] = co_await bhttp::async_read(s, buffer, parser, exchange_wait);
    if (ec == bhttp::error::need_buffer) ec = {};
    const std::size_t got = room_size - parser.get().body().size;
    if (to_sink) {
      if (got > 0 && !(*sink)(std::string_view(room, got))) {
        out.stopped_by_sink = true;
        co_return;
      }
    } else {
      used += got;
    }
    if (ec) {
      out.body.resize(used);
      out.ec = ec;
      co_return;
    }
  }
  if (!to_sink) out.body.resize(used);
  keep_alive = parser.keep_alive();
}

}  // namespace conclave::http::detail
