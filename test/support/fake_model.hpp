// An in-process model for engine tests: no sockets. Each request is answered per a script
// (latency, streamed pieces, failure), on the caller's executor, cancellable through the
// handler's slot. It records every request it saw and how many were in flight at once.
#pragma once

#include <conclave/engine/error.hpp>
#include <conclave/engine/model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace conclave::test {

struct fake_reply {
  std::chrono::milliseconds latency{0};
  std::string content;
  boost::system::error_code error;  ///< set: fail with this after the latency
  int pieces = 1;                   ///< streamed in this many deltas (when the request streams)
  std::optional<std::chrono::milliseconds> retry_after;  ///< sent with a failure
  int pieces_before_error = 0;   ///< with `error`: stream this many pieces of content first
  std::string finish = "stop";   ///< the finish_reason of a successful reply
  std::string model = "fake";    ///< the model name the reply carries
  int http_status = 0;           ///< with `error`: the status a provider would have sent
  std::vector<tool_call> calls;  ///< tools the reply asks for (then stop is tool_use)
};

/// Which kind of request the engine sent, judged by the prompts the engine writes.
enum class request_kind { decomposition, agent, synthesis };

inline request_kind kind_of(const chat_request& r) {
  const auto& first = r.messages.front().text();
  if (first.find("split a large question") != std::string::npos) return request_kind::decomposition;
  if (first.find("merge the decisions") != std::string::npos) return request_kind::synthesis;
  return request_kind::agent;
}

/// The user message: for agents, their sub-question.
inline std::string last_user(const chat_request& r) { return r.messages.back().text(); }

class fake_model final : public model {
 public:
  using script = std::function<fake_reply(const chat_request&)>;

  fake_model(boost::asio::any_io_executor ex, script s)
      : ex_(std::move(ex)), script_(std::move(s)) {}

  std::string describe() const override { return "fake"; }
  boost::asio::any_io_executor get_executor() const override { return ex_; }

  std::vector<chat_request> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int peak_in_flight() const { return peak_.load(); }

 protected:
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override {
    fake_reply reply = script_(req);
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(req);
    }
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    boost::asio::co_spawn(
        ex, answer(std::move(req), std::move(reply), std::move(on_delta)),
        boost::asio::bind_cancellation_slot(
            slot, [h = std::move(handler)](
                      std::exception_ptr,
                      std::tuple<boost::system::error_code, chat_response> r) mutable {
              std::move(h)(std::get<0>(r), std::move(std::get<1>(r)));
            }));
  }

 private:
  boost::asio::awaitable<std::tuple<boost::system::error_code, chat_response>> answer(
      chat_request req, fake_reply reply, delta_handler on_delta) {
    const int now = ++in_flight_;
    int peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    struct leave {
      std::atomic<int>& n;
      ~leave() { --n; }
    } guard{in_flight_};

    chat_response out;
    for (const auto& m : req.messages)
      out.tokens.prompt_tokens += static_cast<std::int64_t>(m.size() / 4 + 1);
    std::string said;
    out.model = reply.model;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    const int pieces = req.stream ? std::max(1, reply.pieces) : 1;
    for (int p = 0; p < pieces; ++p) {
      timer.expires_after(reply.latency / pieces);
      auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return std::tuple{boost::system::error_code(error::cancelled), std::move(out)};
      if (reply.error && p >= reply.pieces_before_error) continue;
      const std::size_t begin = reply.content.size() * p / pieces;
      const std::size_t end = reply.content.size() * (p + 1) / pieces;
      const std::string piece = reply.content.substr(begin, end - begin);
      said += piece;
      out.tokens.completion_tokens = static_cast<std::int64_t>(said.size() / 4 + 1);
      if (req.stream && on_delta && !piece.empty()) on_delta(text_delta{piece});
    }
    out.message = assistant_message(said, reply.error ? std::vector<tool_call>{} : reply.calls);
    if (reply.error) {
      out.diag.message = "scripted failure";
      out.diag.retry_after = reply.retry_after;
      out.diag.http_status = reply.http_status;
      co_return std::tuple{reply.error, std::move(out)};
    }
    out.finish_reason = reply.finish;
    out.stop = reply.calls.empty() ? stop_reason_from(reply.finish) : stop_reason::tool_use;
    co_return std::tuple{boost::system::error_code{}, std::move(out)};
  }

  boost::asio::any_io_executor ex_;
  script script_;
  mutable std::mutex mutex_;
  std::vector<chat_request> seen_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> peak_{0};
};

}  // namespace conclave::test
