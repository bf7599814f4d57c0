#include "scripts.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/redis/task_queue.hpp>

#include <algorithm>

namespace conclave::redis {
namespace asio = boost::asio;
using boost::system::error_code;
namespace {

std::string base_key(const task_queue_options& o) {
  std::string name = o.name;
  std::erase(name, '{');
  std::erase(name, '}');
  return o.prefix + ":queue:{" + name + "}";
}

const error_code unexpected = make_error_code(error::unexpected_reply);

// {held, cancel} as a script returns it.
std::optional<lease_status> lease_of(const reply& r) {
  if (r.type != reply::kind::array || r.elements.size() != 2) return std::nullopt;
  const auto held = r.elements[0].as_integer(), cancel = r.elements[1].as_integer();
  if (!held || !cancel) return std::nullopt;
  return lease_status{*held == 1, *cancel == 1};
}

// The completion of renew and finish: their script's {held, cancel} as a lease_status.
auto lease_reply(connection& redis, asio::any_completion_handler<task_queue::lease_signature> h) {
  return [&redis, h = std::move(h)](error_code ec, reply r) mutable {
    auto status = ec ? std::optional<lease_status>(lease_status{}) : lease_of(r);
    if (!status) ec = unexpected;
    complete_on(redis, std::move(h), ec, status.value_or(lease_status{}));
  };
}

}  // namespace

task_queue::task_queue(connection& redis, task_queue_options opts, std::string owner)
    : redis_(redis), opts_(std::move(opts)), owner_(std::move(owner)), base_(base_key(opts_)) {}

void task_queue::start_submit(std::string id, std::string body, int priority,
                              asio::any_completion_handler<submit_signature> h) {
  priority = std::clamp(priority, 0, 10);
  run_script(
      redis_, submit_script(), {base_},
      {std::move(id), std::move(body), std::to_string(priority), std::to_string(opts_.capacity)},
      [this, h = std::move(h)](error_code ec, reply r) mutable {
        if (!ec && (r.type != reply::kind::array || r.elements.empty())) ec = unexpected;
        if (!ec && r.elements[0].text == "queue_full")
          ec = make_error_code(conclave::error::queue_full);
        else if (!ec && r.elements[0].text != "ok")
          ec = unexpected;  // the id is taken
        complete_on(redis_, std::move(h), ec);
      });
}

void task_queue::start_claim(asio::any_completion_handler<claim_signature> h) {
  run_script(redis_, claim_script(), {base_}, {owner_, std::to_string(opts_.lease.count())},
             [this, h = std::move(h)](error_code ec, reply r) mutable {
               std::optional<queued_task> t;
               if (!ec && r.type == reply::kind::array && r.elements.size() == 5) {
                 t.emplace();
                 t->id = r.elements[0].text;
                 t->body = r.elements[1].text;
                 t->priority = static_cast<int>(r.elements[2].as_integer().value_or(0));
                 t->requeues = r.elements[3].as_integer().value_or(0);
                 t->state = "running";
                 t->owner = owner_;
                 t->lease = r.elements[4].text;
               } else if (!ec && !r.is_nil()) {
                 ec = unexpected;
               }
               complete_on(redis_, std::move(h), ec, std::move(t));
             });
}

void task_queue::start_renew(std::string id, std::string lease,
                             asio::any_completion_handler<lease_signature> h) {
  run_script(redis_, renew_script(), {base_},
             {std::move(id), std::move(lease), std::to_string(opts_.lease.count())},
             lease_reply(redis_, std::move(h)));
}

void task_queue::start_finish(std::string id, std::string lease, std::string state,
                              std::string result, std::string code, std::string message,
                              asio::any_completion_handler<lease_signature> h) {
  run_script(redis_, finish_script(), {base_},
             {std::move(id), std::move(lease), std::move(state), std::move(result), std::move(code),
              std::move(message), std::to_string(opts_.result_ttl.count())},
             lease_reply(redis_, std::move(h)));
}

void task_queue::start_cancel(std::string id, asio::any_completion_handler<cancel_signature> h) {
  run_script(redis_, cancel_script(), {base_},
             {std::move(id), std::to_string(opts_.result_ttl.count())},
             [this, h = std::move(h)](error_code ec, reply r) mutable {
               cancel_outcome out = cancel_outcome::unknown;
               if (!ec) {
                 if (r.text == "removed")
                   out = cancel_outcome::removed;
                 else if (r.text == "cancel_running")
                   out = cancel_outcome::cancel_running;
                 else if (r.text == "already_finished")
                   out = cancel_outcome::already_finished;
                 else if (r.text != "unknown")
                   ec = unexpected;
               }
               complete_on(redis_, std::move(h), ec, out);
             });
}

void task_queue::start_reap(asio::any_completion_handler<reap_signature> h) {
  run_script(redis_, reap_script(), {base_},
             {std::to_string(opts_.max_requeues), std::to_string(opts_.result_ttl.count())},
             [this, h = std::move(h)](error_code ec, reply r) mutable {
               std::int64_t requeued = 0, failed = 0;
               if (!ec && r.type == reply::kind::array && r.elements.size() == 2) {
                 requeued = r.elements[0].as_integer().value_or(0);
                 failed = r.elements[1].as_integer().value_or(0);
               } else if (!ec) {
                 ec = unexpected;
               }
               complete_on(redis_, std::move(h), ec, requeued, failed);
             });
}

void task_queue::start_get(std::string id, asio::any_completion_handler<get_signature> h) {
  redis_.async_command({"HGETALL", base_ + ":task:" + id},
                       [this, id, h = std::move(h)](error_code ec, reply r) mutable {
                         std::optional<queued_task> t;
                         if (!ec && r.type == reply::kind::array && !r.elements.empty()) {
                           t.emplace();
                           t->id = id;
                           for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
                             const std::string& k = r.elements[i].text;
                             const reply& v = r.elements[i + 1];
                             if (k == "body")
                               t->body = v.text;
                             else if (k == "priority")
                               t->priority = static_cast<int>(v.as_integer().value_or(0));
                             else if (k == "state")
                               t->state = v.text;
                             else if (k == "owner")
                               t->owner = v.text;
                             else if (k == "lease")
                               t->lease = v.text;
                             else if (k == "requeues")
                               t->requeues = v.as_integer().value_or(0);
                             else if (k == "cancel")
                               t->cancel_requested = v.text == "1";
                             else if (k == "result")
                               t->result = v.text;
                             else if (k == "error_code")
                               t->error_code = v.text;
                             else if (k == "error_message")
                               t->error_message = v.text;
                           }
                         }
                         complete_on(redis_, std::move(h), ec, std::move(t));
                       });
}

}  // namespace conclave::redis
