#include "forward_call.hpp"

#include <conclave/engine/breaker_model.hpp>
#include <conclave/engine/error.hpp>

#include <boost/asio/post.hpp>

#include <map>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave {
breaker_model::breaker_model(model& inner, breaker_options opts) : inner_(inner), opts_(opts) {}

breaker_state breaker_model::state(const std::string& model_name) const {
  std::lock_guard lock(mutex_);
  auto it = breakers_.find(model_name);
  return it == breakers_.end() ? breaker_state::closed : it->second.breaker.state();
}

int breaker_model::times_opened(const std::string& model_name) const {
  std::lock_guard lock(mutex_);
  auto it = breakers_.find(model_name);
  return it == breakers_.end() ? 0 : it->second.breaker.times_opened();
}

std::size_t breaker_model::expire_idle(std::chrono::steady_clock::time_point unused_since) {
  std::lock_guard lock(mutex_);
  return std::erase_if(breakers_, [&](const auto& named) {
    const entry& e = named.second;
    return e.in_flight == 0 && e.breaker.state() == breaker_state::closed &&
           e.last_used < unused_since;
  });
}

std::size_t breaker_model::endpoint_count() const {
  std::lock_guard lock(mutex_);
  return breakers_.size();
}

void breaker_model::do_complete(asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                                completion_handler&& handler) {
  using clock = circuit_breaker::clock;
  std::string name = req.model;
  std::optional<clock::time_point> refused_until;
  {
    std::lock_guard lock(mutex_);
    auto& e = breakers_.try_emplace(name, opts_).first->second;
    e.last_used = clock::now();
    if (e.breaker.admit(e.last_used)) {
      ++e.in_flight;  // keeps the entry (the result must find it) until the call ends
    } else {
      refused_until = e.breaker.open_until();
    }
  }
  if (refused_until) {
    ++fast_failures_;
    chat_response refusal;
    const auto left =
        std::max(std::chrono::milliseconds(0),
                 std::chrono::ceil<std::chrono::milliseconds>(*refused_until - clock::now()));
    refusal.diag.retry_after = left;
    refusal.diag.message = inner_.describe() + (name.empty() ? "" : " " + name) +
                           " keeps failing: circuit open, next try in " +
                           std::to_string(left.count()) + " ms";
    // Never completed inside the initiating call: posted to where the call runs.
    asio::post(ex, [h = std::move(handler), refusal = std::move(refusal)]() mutable {
      std::move(h)(error::circuit_open, std::move(refusal));
    });
    return;
  }
  detail::forward_call(
      inner_, std::move(ex), std::move(req), std::move(on_delta), std::move(handler),
      [this, name = std::move(name)](const error_code& ec, const chat_response& reply) {
        std::lock_guard lock(mutex_);
        auto& e = breakers_.find(name)->second;
        e.last_used = clock::now();
        // Refused before it was sent (a limiter in front, e.g. Redis down):
        // says nothing of the endpoint's health.
        e.breaker.on_result(e.last_used, reply.diag.refused_before_sending
                                             ? make_error_code(error::cancelled)
                                             : ec);
        --e.in_flight;
      });
}

}  // namespace conclave
