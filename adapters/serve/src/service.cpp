// The service's life: listen, resume the journal's tasks, upkeep on a timer, and a graceful
// stop (no new work, a grace period for runs, then cancel, then close and flush).
#include "service_state.hpp"

#include <conclave/journal/journal.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::serve {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_id(std::string_view prefix) {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out(prefix);
  for (int i = 0; i < 24; ++i) out += hex[rd() & 15];
  return out;
}

bool bearer_matches(std::string_view authorization, const std::vector<std::string>& keys) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size() || !authorization.starts_with(scheme)) return false;
  const std::string_view given = authorization.substr(scheme.size());
  bool found = false;
  for (const auto& key : keys) {
    // Every byte of every key is compared, whatever matched before: no early exit to time.
    unsigned char diff = given.size() == key.size() ? 0 : 1;
    for (std::size_t i = 0; i < key.size(); ++i) {
      const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
      diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(key[i]));
    }
    found |= (diff == 0 && !key.empty());
  }
  return found;
}

namespace {

// "127.0.0.1:8080", "localhost", "[::1]:80" (a Host header, or an Origin's authority).
bool loopback_authority(std::string_view a) {
  if (a.starts_with("[")) {
    const auto end = a.find(']');
    return end != std::string_view::npos && a.substr(1, end - 1) == "::1" &&
           (end + 1 == a.size() || a[end + 1] == ':');
  }
  const std::string_view host = a.substr(0, a.find(':'));
  if (host == "localhost") return true;
  // An IP literal only: "127.0.0.1.nip.io" is a name that may point anywhere (DNS rebinding).
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address_v4(std::string(host), ec);
  return !ec && ip.is_loopback();
}

// Without keys the server trusts loopback callers; a web page in the user's browser is one
// too. A foreign Origin (cross-site request) or a Host that is not loopback (DNS rebinding) is
// refused, so a page cannot spend the user's provider keys through it.
std::string foreign_caller(const http::exchange& ex) {
  const auto host = ex.request()[boost::beast::http::field::host];
  if (!host.empty() && !loopback_authority(host))
    return "Host " + std::string(host.substr(0, 100)) + " is not loopback";
  std::string_view origin = ex.request()[boost::beast::http::field::origin];
  if (origin.empty() || origin == "null") return origin.empty() ? "" : "Origin null";
  const auto scheme = origin.find("://");
  const std::string_view authority =
      scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
  if (!loopback_authority(authority))
    return "Origin " + std::string(origin.substr(0, 100)) + " is not loopback";
  return "";
}

}  // namespace

http::handler with_auth(std::shared_ptr<service::state> st, http::handler h) {
  return [st, h = std::move(h)](http::exchange& ex) -> asio::awaitable<void> {
    if (st->opts.api_keys.empty()) {
      if (std::string why = foreign_caller(ex); !why.empty()) {
        co_await ex.json(403, http::error_body(why + ": without client keys this server only "
                                                     "answers loopback callers (give it a keys "
                                                     "file to serve others).",
                                               "invalid_request_error", "forbidden_origin"));
        co_return;
      }
    }
    if (!st->opts.api_keys.empty() &&
        !bearer_matches(ex.request()[boost::beast::http::field::authorization],
                        st->opts.api_keys)) {
      http::header_list challenge{{"www-authenticate", "Bearer"}};
      co_await ex.json(401,
                       http::error_body("Missing or invalid API key: send Authorization: Bearer "
                                        "<key> with one of the server's keys.",
                                        "invalid_request_error", "invalid_api_key"),
                       std::move(challenge));
      co_return;
    }
    co_await h(ex);
  };
}

service::service(asio::any_io_executor ex, engine& eng, service_options opts)
    : st_(std::make_shared<state>(std::move(ex), eng, std::move(opts))) {
  if (st_->opts.instance.empty()) st_->opts.instance = random_id("serve-");
  // Instances claim only what they can run: one queue per providers-and-models fingerprint.
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a: stable across builds and machines
  for (unsigned char c : st_->opts.fingerprint) h = (h ^ c) * 1099511628211ull;
  static constexpr char hex[] = "0123456789abcdef";
  st_->shared_queue = "fp-";
  for (int i = 60; i >= 0; i -= 4) st_->shared_queue += hex[(h >> i) & 15];
}

service::~service() {
  // The routes hold the state (shared) and the state holds the server: break the cycle here.
  if (st_->server) {
    st_->server->close_all();
    st_->server.reset();
  }
}

void service::listen() {
  const auto address = asio::ip::make_address(st_->opts.http.address);
  if (st_->opts.api_keys.empty() && !address.is_loopback()) {
    throw std::invalid_argument("refusing to listen on " + st_->opts.http.address +
                                " without client keys: give a keys file, or listen on "
                                "127.0.0.1 / ::1");
  }
  http::router routes;
  add_model_routes(routes, st_);
  add_task_routes(routes, st_);
  routes.add("GET", "/healthz", [st = st_](http::exchange& ex) -> asio::awaitable<void> {
    bool stopping = false;
    {
      std::lock_guard lock(st->mutex);
      stopping = st->stopping;
    }
    co_await ex.respond(stopping ? 503 : 200, "text/plain; charset=utf-8",
                        stopping ? "stopping\n" : "ok\n");
  });
  st_->server = std::make_unique<http::server>(st_->ex, st_->opts.http, std::move(routes));
  st_->server->start();
}

std::uint16_t service::port() const noexcept { return st_->server ? st_->server->port() : 0; }
std::string service::origin() const { return st_->server ? st_->server->origin() : ""; }

service_stats service::stats() const {
  service_stats s;
  {
    std::lock_guard lock(st_->mutex);
    s.queued = st_->tasks.queued();
    s.running_tasks = st_->running_tasks;
    s.chat_runs = st_->chat_runs;
    s.resumed = st_->resumed;
    s.refused_resume = st_->refused_resume;
    s.holds_lost = st_->holds_lost;
  }
  if (st_->server) s.http = st_->server->stats();
  return s;
}

void service::stop() {
  st_->stop_requested = true;
  asio::post(st_->loop, [st = st_] { st->tick.cancel(); });
}

void service::state::upkeep() {
  {
    std::lock_guard lock(mutex);
    tasks.expire(unix_ms());
  }
  settle_finished();
  if (opts.upkeep) opts.upkeep();
}

namespace {

std::size_t runs_open(const service::state& st) {
  std::lock_guard lock(st.mutex);
  return st.running_tasks + st.chat_runs;
}

asio::awaitable<error_code> run_loop(std::shared_ptr<service::state> st) {
  if (st->opts.journal) st->resume_journaled();
  st->pump_queue();
  // On a shared journal the loop beats faster than upkeep: holds are renewed, and lapsed ones
  // taken over, every takeover_after / 3.
  // On a shared journal the loop ticks at claim_interval (claims from the shared queue), holds
  // are renewed and lapsed ones taken over every takeover_after / 3, upkeep as ever.
  const bool shared = st->shared_journal();
  using std::chrono::milliseconds;
  const auto beat = shared ? std::clamp(st->opts.takeover_after / 3, milliseconds(1),
                                        std::max(st->opts.upkeep_interval, milliseconds(1)))
                           : st->opts.upkeep_interval;
  const auto tick = shared ? std::clamp(st->opts.claim_interval, milliseconds(1), beat) : beat;
  auto next_upkeep = std::chrono::steady_clock::now() + st->opts.upkeep_interval;
  auto next_beat = std::chrono::steady_clock::now() + beat;
  while (!st->stop_requested) {
    st->tick.expires_after(tick);
    co_await st->tick.async_wait(asio::as_tuple(asio::use_awaitable));
    if (st->stop_requested) break;
    const auto now = std::chrono::steady_clock::now();
    if (shared && now >= next_beat) {
      st->renew_holds();
      st->resume_journaled();  // runs whose instance died
      next_beat = now + beat;
    }
    if (now >= next_upkeep) {
      st->upkeep();
      next_upkeep = now + st->opts.upkeep_interval;
    }
    st->pump_queue();  // claims, and tasks restored or left behind by a failed start
  }
  // Stopping: no new connections or tasks; running ones get the grace period.
  {
    std::lock_guard lock(st->mutex);
    st->stopping = true;
  }
  if (st->server) st->server->stop();
  const std::size_t open = runs_open(*st);
  st->log("conclave serve: " + std::to_string(open) + (open == 1 ? " run" : " runs") +
          " still open, waiting up to " + std::to_string(st->opts.shutdown_grace.count() / 1000) +
          " s");
  const auto give_up = std::chrono::steady_clock::now() + st->opts.shutdown_grace;
  bool cancelled = false;
  next_beat = std::chrono::steady_clock::now();
  while (runs_open(*st) > 0) {
    if (shared && std::chrono::steady_clock::now() >= next_beat) {
      st->renew_holds();  // runs in their grace are still this instance's
      next_beat = std::chrono::steady_clock::now() + beat;
    }
    if (cancelled && std::chrono::steady_clock::now() >= give_up + std::chrono::seconds(30)) {
      st->log("conclave serve: " + std::to_string(runs_open(*st)) +
              " runs did not end after being cancelled; stopping anyway");
      break;
    }
    if (!cancelled && std::chrono::steady_clock::now() >= give_up) {
      // Past the grace: cancel what runs. Tasks stay unfinished in the journal (the next start
      // resumes them); chat clients see their connection close.
      std::vector<std::function<void()>> cancels;
      {
        std::lock_guard lock(st->mutex);
        st->shutting_down_runs = true;
        for (auto& [id, c] : st->cancel_running) cancels.push_back(c);
      }
      for (auto& c : cancels) c();
      if (st->server) st->server->close_all();
      cancelled = true;
    }
    // Polled (runs end on their own strands): shutdown is rare and 20 ms is plenty.
    st->tick.expires_after(std::chrono::milliseconds(20));
    co_await st->tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (st->server) st->server->close_all();
  // Queued tasks stay unfinished in the journal; on a shared one, others may take them now.
  std::vector<std::string> still_held;
  {
    std::lock_guard lock(st->mutex);
    for (const auto& [id, extra] : st->extras) {
      if (!st->lost_holds.count(id)) still_held.push_back(extra.run_id);
    }
  }
  for (const auto& run : still_held) st->release_hold(run);
  if (st->opts.journal) {
    try {
      st->opts.journal->checkpoint();
    } catch (const std::exception& e) {
      st->log(std::string("conclave serve: journal checkpoint failed: ") + e.what());
    }
  }
  co_return error_code{};
}

}  // namespace

void service::start_run(asio::any_completion_handler<run_signature> handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  if (slot.is_connected()) {
    slot.assign([st = st_](asio::cancellation_type t) {
      if (t == asio::cancellation_type::none) return;
      st->stop_requested = true;
      asio::post(st->loop, [st] { st->tick.cancel(); });
    });
  }
  asio::co_spawn(st_->loop, run_loop(st_),
                 [h = std::move(handler)](std::exception_ptr e, error_code ec) mutable {
                   if (e) ec = asio::error::fault;
                   asio::get_associated_cancellation_slot(h).clear();
                   std::move(h)(ec);
                 });
}

}  // namespace conclave::serve
