// The journal's store on Redis: hiredis's synchronous connection, one round trip per call (a
// Lua script for each write), reopened after a failure. See journal_store.hpp.
#include "journal_scripts.hpp"
#include "link.hpp"

#include <conclave/redis/journal_store.hpp>

#include <algorithm>
#include <chrono>
#include <hiredis/hiredis.h>
#include <mutex>
#include <sys/time.h>

namespace conclave::redis {
namespace {

using journal::journal_error;
using journal::run_record;
using journal::run_step;

timeval to_timeval(std::chrono::milliseconds d) {
  const auto ms = std::max<std::int64_t>(1, d.count());
  return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t to_int(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}

// {id, field, value, ...} as a run.
run_record read_run(const reply& r) {
  run_record out;
  if (r.elements.empty()) return out;
  out.id = r.elements[0].text;
  for (std::size_t i = 1; i + 1 < r.elements.size(); i += 2) {
    const std::string& f = r.elements[i].text;
    const std::string& v = r.elements[i + 1].text;
    if (f == "kind")
      out.kind = v;
    else if (f == "question")
      out.question = v;
    else if (f == "options_json")
      out.options_json = v;
    else if (f == "plan_json")
      out.plan_json = v;
    else if (f == "status")
      out.status = v;
    else if (f == "created_ms")
      out.created_ms = to_int(v);
    else if (f == "updated_ms")
      out.updated_ms = to_int(v);
    else if (f == "report_json")
      out.report_json = v;
    else if (f == "owner")
      out.owner = v;
    else if (f == "cancel")
      out.cancel_requested = v == "1";
    else if (f == "queue")
      out.queue = v;
  }
  return out;
}

class redis_store final : public journal::store {
 public:
  explicit redis_store(journal_options o)
      : o_(std::move(o)), where_(describe(o_.where)), keys_(o_.prefix + ":journal:") {
    std::lock_guard lock(m_);
    connect();
    // A server that wants a password answers the connect but no command: found out now.
    const reply pong = send({"PING"});
    if (pong.type == reply::kind::error) {
      drop();
      fail(pong.text.find("NOAUTH") != std::string::npos
               ? "the server wants a password (redis://:PASSWORD@host:port)"
               : pong.text.substr(0, 200));
    }
  }
  ~redis_store() override { close(); }

  const std::string& where() const noexcept override { return where_; }
  bool shared() const noexcept override { return true; }

  bool insert_run(const run_record& r) override { return insert(r, {}) >= 0; }

  update_result update_held_run(std::string_view run_id, std::string_view status,
                                std::string_view report_json, std::int64_t at_ms,
                                std::string_view holder) override {
    const std::string id(run_id);
    const reply r =
        eval(journal_update_run_script(),
             {run_key(id), keys_ + "running", steps_key(id), order_key(id), hold_key(id)},
             {id, std::string(status), std::string(report_json), std::to_string(at_ms),
              std::to_string(o_.result_ttl.count()), keys_ + "owner:", std::string(holder),
              keys_ + "runs"},
             true);
    if (r.integer < 0) return update_result::held_by_another;
    return r.integer == 1 ? update_result::updated : update_result::no_run;
  }

  bool insert_step(std::string_view run_id, const run_step& s) override {
    const std::string id(run_id);
    const reply r = eval(journal_insert_step_script(), {run_key(id), steps_key(id), order_key(id)},
                         {s.key, s.kind + "\n" + std::to_string(s.at_ms) + "\n" + s.json}, true);
    if (r.integer < 0) throw journal_error("journal " + where_ + ": no run " + id.substr(0, 128));
    return r.integer == 1;
  }

  bool update_run(std::string_view run_id, std::string_view status, std::string_view report_json,
                  std::int64_t at_ms) override {
    return update_held_run(run_id, status, report_json, at_ms, {}) == update_result::updated;
  }

  std::optional<run_record> find(std::string_view run_id) const override {
    const std::string id(run_id);
    reply r = command({"HGETALL", run_key(id)}, true);
    if (r.elements.empty()) return std::nullopt;
    r.elements.insert(r.elements.begin(), reply{reply::kind::string, id, 0, {}});
    return read_run(r);
  }

  std::optional<run_record> find_by_owner(std::string_view owner) const override {
    if (owner.empty()) return std::nullopt;
    const reply id = command({"GET", keys_ + "owner:" + std::string(owner)}, true);
    if (id.type != reply::kind::string) return std::nullopt;
    return find(id.text);
  }

  std::vector<run_step> steps(std::string_view run_id) const override {
    const std::string id(run_id);
    const reply r = eval(journal_steps_script(), {steps_key(id), order_key(id)}, {}, true);
    std::vector<run_step> out;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      const std::string& payload = r.elements[i + 1].text;
      const auto a = payload.find('\n');
      const auto b = a == std::string::npos ? a : payload.find('\n', a + 1);
      if (b == std::string::npos) continue;  // not written by this store
      out.push_back({r.elements[i].text, payload.substr(0, a), payload.substr(b + 1),
                     to_int(payload.substr(a + 1, b - a - 1))});
    }
    return out;
  }

  std::vector<run_record> unfinished() const override { return runs("running", "asc", -1); }
  std::vector<run_record> recent(std::size_t n) const override {
    return runs("runs", "desc", static_cast<std::int64_t>(std::min<std::size_t>(n, 1'000'000)));
  }

  std::size_t prune_finished(std::int64_t older_than_ms) override {
    const reply r = eval(journal_prune_script(), {keys_ + "runs", keys_ + "running"},
                         {keys_, std::to_string(older_than_ms)}, true);
    return static_cast<std::size_t>(std::max<std::int64_t>(0, r.integer));
  }

  bool checkpoint() override { return true; }  // the server's AOF policy decides durability

  void close() noexcept override {
    std::lock_guard lock(m_);
    closed_ = true;
    drop();
  }

  journal::hold_result hold(std::string_view run_id, std::string_view holder,
                            std::chrono::milliseconds ttl) override {
    const std::string id(run_id);
    const reply r = eval(journal_hold_script(), {hold_key(id), run_key(id)},
                         {std::string(holder), ttl_arg(ttl)}, true);
    if (r.integer == 4) return journal::hold_result::queued;
    if (r.integer == 3) return journal::hold_result::not_running;
    if (r.integer == 0) return journal::hold_result::held_by_another;
    return r.integer == 2 ? journal::hold_result::cancel_requested : journal::hold_result::held;
  }

  journal::cancel_request request_cancel(std::string_view run_id) override {
    const std::string id(run_id);
    const reply r = eval(
        journal_request_cancel_script(),
        {run_key(id), keys_ + "running", steps_key(id), order_key(id)},
        {id, std::to_string(unix_now_ms()), std::to_string(o_.result_ttl.count()), keys_}, true);
    if (r.integer == 2) return journal::cancel_request::dequeued;
    return r.integer == 1 ? journal::cancel_request::flagged : journal::cancel_request::none;
  }

  std::optional<std::size_t> enqueue_run(const run_record& r, std::string_view queue, int priority,
                                         std::size_t capacity) override {
    const std::int64_t out =
        insert(r, {std::string(queue), std::to_string(std::clamp(priority, 0, 10)),
                   std::to_string(capacity)});
    if (out == -2) fail("run " + r.id + " is already in the journal");
    if (out < 0) return std::nullopt;
    return static_cast<std::size_t>(out);
  }

  std::optional<run_record> claim_run(std::string_view queue, std::string_view holder,
                                      std::chrono::milliseconds ttl) override {
    // Not tried again: a lost reply would leave the run claimed by no one alive; its hold
    // lapses and another instance takes it over.
    const reply r = eval(journal_claim_script(), {queue_key(std::string(queue))},
                         {keys_, std::string(holder), ttl_arg(ttl)}, false);
    if (r.type != reply::kind::array || r.elements.empty()) return std::nullopt;
    return read_run(r);
  }

  std::optional<std::size_t> queue_position(std::string_view run_id,
                                            std::string_view queue) const override {
    const reply r = command({"ZRANK", queue_key(std::string(queue)), std::string(run_id)}, true);
    if (r.type != reply::kind::integer) return std::nullopt;
    return static_cast<std::size_t>(r.integer);
  }

  void release(std::string_view run_id, std::string_view holder) override {
    const std::string id(run_id);
    eval(journal_release_script(), {hold_key(id), run_key(id)}, {std::string(holder)}, true);
  }

  std::size_t note_takeover(std::string_view run_id) override {
    // Not tried again: a lost reply would count one takeover twice.
    const reply r = eval(journal_note_takeover_script(), {run_key(std::string(run_id))}, {}, false);
    return static_cast<std::size_t>(std::max<std::int64_t>(0, r.integer));
  }

 private:
  std::string run_key(const std::string& id) const { return keys_ + "run:" + id; }
  std::string steps_key(const std::string& id) const { return keys_ + "steps:" + id; }
  std::string order_key(const std::string& id) const { return keys_ + "order:" + id; }
  std::string queue_key(const std::string& name) const { return keys_ + "queue:" + name; }
  std::string hold_key(const std::string& id) const { return keys_ + "hold:" + id; }
  static std::string ttl_arg(std::chrono::milliseconds ttl) {
    return std::to_string(std::max<std::int64_t>(1, ttl.count()));
  }

  // The insert script: a run, queued when `queue` names its queue, priority and capacity.
  // Not tried again: a lost reply to a write that happened would read as "id taken".
  std::int64_t insert(const run_record& r, const std::vector<std::string>& queue) {
    std::vector<std::string> keys{run_key(r.id), keys_ + "running", keys_ + "runs",
                                  keys_ + "owner:" + r.owner};
    std::vector<std::string> args{
        r.id,   std::to_string(r.created_ms), r.kind, r.question, r.options_json, r.plan_json,
        r.owner};
    if (!queue.empty()) {
      keys.push_back(queue_key(queue.front()));
      keys.push_back(keys_ + "queue_seq");
      args.insert(args.end(), queue.begin(), queue.end());
    }
    return eval(journal_insert_run_script(), keys, args, false).integer;
  }

  std::vector<run_record> runs(const char* index, const char* order, std::int64_t limit) const {
    const reply r =
        eval(journal_runs_script(), {keys_ + index},
             {keys_ + "run:", order, std::to_string(limit < 0 ? 1'000'000 : limit)}, true);
    std::vector<run_record> out;
    for (const auto& e : r.elements) out.push_back(read_run(e));
    return out;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw journal_error("journal " + where_ + ": " + why);
  }

  void drop() const noexcept {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
  }

  // With m_ held. After a failed connect, calls fail at once until the backoff passes: a
  // server that drops packets would otherwise cost every call its connect timeout.
  void connect() const {
    if (closed_) fail("closed");
    const auto now = std::chrono::steady_clock::now();
    if (now < retry_at_) throw journal_error(unreachable_ + " (tried again shortly)");
    try {
      open_link();
      backoff_ = std::chrono::milliseconds(0);
    } catch (const journal_error& e) {
      backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(500),
                            std::chrono::milliseconds(10'000));
      retry_at_ = now + backoff_;
      unreachable_ = e.what();
      throw;
    }
  }

  void open_link() const {
    const timeval ct = to_timeval(o_.connect_timeout);
    redisContext* c = redisConnectWithTimeout(o_.where.host.c_str(), o_.where.port, ct);
    if (!c) fail("cannot connect: out of memory");
    if (c->err) {
      const std::string why = c->errstr;
      redisFree(c);
      fail("cannot connect: " + why);
    }
    ctx_ = c;
    const timeval t = to_timeval(o_.command_timeout);
    redisSetTimeout(ctx_, t);
    if (!o_.where.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!o_.where.username.empty()) auth.push_back(o_.where.username);
      auth.push_back(o_.where.password);
      const reply r = send(auth);
      if (r.type == reply::kind::error) {
        drop();
        fail("the server refused the password: " + r.text.substr(0, 200));
      }
    }
    if (o_.where.db != 0) {
      const reply r = send({"SELECT", std::to_string(o_.where.db)});
      if (r.type == reply::kind::error) {
        drop();
        fail("cannot select db " + std::to_string(o_.where.db) + ": " + r.text.substr(0, 200));
      }
    }
  }

  // One round trip on ctx_ (m_ held). An I/O failure drops the connection and throws.
  reply send(const std::vector<std::string>& args) const {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!raw) {
      const std::string why = ctx_->errstr;
      drop();
      fail(why.empty() ? "the connection broke" : why);
    }
    reply out = convert(*raw);
    freeReplyObject(raw);
    return out;
  }

  // `args` on a live connection; once more on a fresh one after an I/O failure when `retry`.
  reply command(const std::vector<std::string>& args, bool retry) const {
    std::lock_guard lock(m_);
    for (int attempt = 0;; ++attempt) {
      if (!ctx_) connect();
      try {
        return send(args);
      } catch (const journal_error&) {
        if (!retry || attempt > 0) throw;
      }
    }
  }

  // A script by its SHA1, loaded again (EVAL) when the server lost it. Error replies throw.
  reply eval(const script& s, const std::vector<std::string>& keys,
             const std::vector<std::string>& args, bool retry) const {
    std::vector<std::string> cmd{"EVALSHA", s.sha1, std::to_string(keys.size())};
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    reply r = command(cmd, retry);
    if (r.type == reply::kind::error && r.text.starts_with("NOSCRIPT")) {
      cmd[0] = "EVAL";
      cmd[1] = s.source;
      r = command(cmd, retry);
    }
    if (r.type == reply::kind::error) fail(r.text.substr(0, 300));
    return r;
  }

  journal_options o_;
  std::string where_;
  std::string keys_;  // "PREFIX:journal:"
  mutable std::mutex m_;
  mutable redisContext* ctx_ = nullptr;
  mutable std::chrono::steady_clock::time_point retry_at_{};
  mutable std::chrono::milliseconds backoff_{0};
  mutable std::string unreachable_;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<journal::journal> open_journal(const journal_options& o) {
  return journal::journal::over(std::make_unique<redis_store>(o));
}

}  // namespace conclave::redis
