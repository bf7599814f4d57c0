// A task queue several instances share on one Redis: submit (bounded), claim with a lease,
// renew, finish, cancel, and a reaper for leases their instance stopped renewing. Every step
// is one Lua script, so two instances never claim one task and a full queue refuses exactly
// at its capacity. Order: the highest priority first, then the first submitted (a sorted set
// scored by priority, then a sequence number).
//
// Life of a task: queued -> running (claimed, leased) -> succeeded | failed | cancelled;
// queued -> cancelled; running with an expired lease -> queued again, once (its original
// place), and the next time -> failed ("lease_expired"). A running task's cancel sets a flag
// (its owner reads it at its next renew) and is published on PREFIX:queue:{NAME}:cancel:OWNER
// for an owner that listens. Finished tasks are kept for `result_ttl`.
//
// The body is the caller's text (serve keeps its task's JSON there); the queue never reads it.
#pragma once

#include <conclave/redis/connection.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace conclave::redis {

struct task_queue_options {
  std::string prefix = "conclave";
  std::string name = "tasks";               ///< queues of different names are apart
  std::size_t capacity = 100;               ///< queued tasks at most (running ones don't count)
  std::chrono::milliseconds lease{30'000};  ///< a claim holds the task this long
  std::chrono::milliseconds result_ttl{3'600'000};  ///< finished tasks are kept this long
  int max_requeues = 1;  ///< an expired lease re-queues the task this often, then fails it
};

struct queued_task {
  std::string id;
  std::string body;
  int priority = 0;
  std::string state;          ///< queued, running, succeeded, failed, cancelled
  std::string owner;          ///< the instance holding it while running
  std::string lease;          ///< from a claim: renew and finish with it (owner#claim number)
  std::int64_t requeues = 0;  ///< times an expired lease put it back
  bool cancel_requested = false;
  std::string result;
  std::string error_code;
  std::string error_message;
};

enum class cancel_outcome { removed, cancel_running, already_finished, unknown };

struct lease_status {
  bool held = false;              ///< false: the lease was lost (reaped): stop the run
  bool cancel_requested = false;  ///< a client cancelled the task: cancel the run
};

class task_queue {
 public:
  /// `owner` names this instance in leases (unique per process: a host name and PID, say).
  /// `redis` must outlive the queue and its operations.
  task_queue(connection& redis, task_queue_options opts, std::string owner);

  using submit_signature = void(boost::system::error_code);
  using claim_signature = void(boost::system::error_code, std::optional<queued_task>);
  using lease_signature = void(boost::system::error_code, lease_status);
  using cancel_signature = void(boost::system::error_code, cancel_outcome);
  using reap_signature = void(boost::system::error_code, std::int64_t requeued,
                              std::int64_t failed);
  using get_signature = claim_signature;

  /// Queues `body` under `id` (priority 0..10, 10 first). conclave::error::queue_full when
  /// `capacity` tasks are queued; unexpected_reply when the id is taken.
  template <typename Token>
  auto async_submit(std::string id, std::string body, int priority, Token&& token) {
    return init<submit_signature>(
        token, [this, id = std::move(id), body = std::move(body), priority](auto h) mutable {
          start_submit(std::move(id), std::move(body), priority, std::move(h));
        });
  }
  /// The next task, now running under this owner's lease; none when the queue is empty.
  template <typename Token>
  auto async_claim(Token&& token) {
    return init<claim_signature>(token, [this](auto h) { start_claim(std::move(h)); });
  }
  /// Extends a claim's lease (`lease` from the claim) by options().lease.
  template <typename Token>
  auto async_renew(std::string id, std::string lease, Token&& token) {
    return init<lease_signature>(
        token, [this, id = std::move(id), lease = std::move(lease)](auto h) mutable {
          start_renew(std::move(id), std::move(lease), std::move(h));
        });
  }
  /// A claimed task ended (`state`: succeeded, failed or cancelled; anything else throws
  /// std::invalid_argument). The lease_status says whether the claim still held it (false:
  /// it was reaped, maybe claimed again; nothing was written).
  template <typename Token>
  auto async_finish(std::string id, std::string lease, std::string state, std::string result,
                    std::string code, std::string message, Token&& token) {
    if (state != "succeeded" && state != "failed" && state != "cancelled")
      throw std::invalid_argument(
          "task_queue::async_finish: state must be succeeded, failed "
          "or cancelled");
    return init<lease_signature>(
        token, [this, id = std::move(id), lease = std::move(lease), state = std::move(state),
                result = std::move(result), code = std::move(code),
                message = std::move(message)](auto h) mutable {
          start_finish(std::move(id), std::move(lease), std::move(state), std::move(result),
                       std::move(code), std::move(message), std::move(h));
        });
  }
  template <typename Token>
  auto async_cancel(std::string id, Token&& token) {
    return init<cancel_signature>(token, [this, id = std::move(id)](auto h) mutable {
      start_cancel(std::move(id), std::move(h));
    });
  }
  /// Upkeep, from any instance now and then: leases past their time are re-queued or failed.
  template <typename Token>
  auto async_reap(Token&& token) {
    return init<reap_signature>(token, [this](auto h) { start_reap(std::move(h)); });
  }
  /// A task as it is now; none when unknown or forgotten.
  template <typename Token>
  auto async_get(std::string id, Token&& token) {
    return init<get_signature>(token, [this, id = std::move(id)](auto h) mutable {
      start_get(std::move(id), std::move(h));
    });
  }

  const task_queue_options& options() const noexcept { return opts_; }
  const std::string& owner() const noexcept { return owner_; }

 private:
  template <typename Signature, typename Token, typename Start>
  auto init(Token& token, Start start) {
    return boost::asio::async_initiate<Token, Signature>(
        [start = std::move(start)](auto h) mutable {
          start(boost::asio::any_completion_handler<Signature>(std::move(h)));
        },
        token);
  }
  void start_submit(std::string id, std::string body, int priority,
                    boost::asio::any_completion_handler<submit_signature> h);
  void start_claim(boost::asio::any_completion_handler<claim_signature> h);
  void start_renew(std::string id, std::string lease,
                   boost::asio::any_completion_handler<lease_signature> h);
  void start_finish(std::string id, std::string lease, std::string state, std::string result,
                    std::string code, std::string message,
                    boost::asio::any_completion_handler<lease_signature> h);
  void start_cancel(std::string id, boost::asio::any_completion_handler<cancel_signature> h);
  void start_reap(boost::asio::any_completion_handler<reap_signature> h);
  void start_get(std::string id, boost::asio::any_completion_handler<get_signature> h);

  connection& redis_;
  task_queue_options opts_;
  std::string owner_;
  std::string base_;  ///< PREFIX:queue:{NAME}
};

}  // namespace conclave::redis
