// The state of one run, shared by its coordinator and its agents. Agents never write the
// report: each returns its own by value, and the report is a fold of the run's events (the
// progress map, the fold and the observers live on the run's strand).
#pragma once

#include "jitter.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/plan.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/engine/report_fold.hpp>
#include <conclave/engine/session.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string_view>

namespace conclave::detail {

using clock = std::chrono::steady_clock;

inline std::chrono::microseconds since(clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0);
}

/// Why an agent was stopped from outside, recorded by whoever stopped it, so the agent never
/// guesses: its own deadline needs no cause (the timer simply fired).
enum class stop_cause { none, budget, run_stopped, cancelled };

/// One per running agent: its deadline timer, and the cause when something else cut it short.
/// Both are touched only on the agent's strand (the timer's executor).
struct agent_stopper {
  explicit agent_stopper(boost::asio::any_io_executor ex, clock::time_point due)
      : deadline(std::move(ex), due) {}
  boost::asio::steady_timer deadline;
  stop_cause cause = stop_cause::none;
  boost::asio::cancellation_signal signal;  ///< what the agent's loop listens to
  bool fired = false;                       ///< the deadline or a stop emitted `signal`
  bool caller_cancelled = false;            ///< the agent's caller cancelled it
  bool ended = false;                       ///< its loop completed: nothing may emit `signal`

  /// From any thread: the first cause wins, and the agent's wait on its deadline ends.
  static void stop(const std::shared_ptr<agent_stopper>& s, stop_cause why) {
    boost::asio::post(s->deadline.get_executor(), [s, why] {
      if (s->cause != stop_cause::none) return;
      s->cause = why;
      s->deadline.cancel();
    });
  }
};

/// Where one agent runs: a strand of its own (Asio 1.81 races in cancellation_signal::emit
/// otherwise, when the io_context runs on several threads), or the executor itself when the
/// host said its io_context runs on one thread.
inline boost::asio::any_io_executor agent_executor(const engine& e) {
  if (e.single_threaded()) return e.get_executor();
  return boost::asio::make_strand(e.get_executor());
}

/// Options made safe to compute with: "forever" (e.g. milliseconds::max()) would overflow a
/// time_point, so the run deadline is capped at a year, and no part may exceed the whole.
inline ask_options normalized(ask_options o) {
  using namespace std::chrono;
  const milliseconds year = duration_cast<milliseconds>(hours(24 * 365));
  o.deadline = std::clamp(o.deadline, milliseconds(0), year);
  o.agent_timeout = std::clamp(o.agent_timeout, milliseconds(0), o.deadline);
  o.synthesis_reserve = std::clamp(o.synthesis_reserve, milliseconds(0), o.deadline);
  if (o.decomposition_timeout <= milliseconds(0)) {
    o.decomposition_timeout = std::min(o.deadline / 4, milliseconds(60'000));
  }
  o.decomposition_timeout =
      std::clamp(o.decomposition_timeout, std::min(milliseconds(1), o.deadline), o.deadline);
  o.limits.tool_timeout = std::clamp(o.limits.tool_timeout, milliseconds(1), year);
  o.limits.max_turns = std::max(1, o.limits.max_turns);
  o.limits.max_tool_calls = std::max(0, o.limits.max_tool_calls);
  o.limits.tool_concurrency = std::max(1, o.limits.tool_concurrency);
  o.limits.max_tool_result_bytes = std::max<std::size_t>(256, o.limits.max_tool_result_bytes);
  o.max_agents = std::clamp(o.max_agents, 1, max_dynamic_agents);
  o.agents = std::clamp(o.agents, 0, static_cast<int>(max_plan_subtasks));
  o.max_concurrency = std::max(1, o.max_concurrency);
  o.verify_rounds = std::clamp(o.verify_rounds, 0, 3);
  return o;
}

struct run_context : std::enable_shared_from_this<run_context> {
  run_context(engine& e, std::string q, ask_options o)
      : models(e),
        opts(normalized(std::move(o))),
        strand(boost::asio::make_strand(e.get_executor())),
        start(clock::now()),
        retries(opts.retry_budget),
        budget(opts.budget) {
    head.question = std::move(q);
    head.combine = to_string(opts.combine);
  }

  /// Stamps the event and applies it on the run's strand, then tells the observers. The stamp
  /// is taken on the strand, so observers see `at` never decrease (an event stamped before the
  /// post could otherwise be overtaken by one emitted on the strand meanwhile).
  void emit(event e) {
    on_strand([e = std::move(e)]() mutable { return std::move(e); });
  }

  /// A streamed text piece of agent `agent`, as a progress event. Queued small: an agent
  /// streams a reply in many pieces, and thousands streaming at once queued a whole event each
  /// (about 300 bytes) for the strand; the event is made there.
  void emit_progress(std::size_t agent, std::string text) {
    on_strand([agent, t = std::move(text)]() mutable {
      return event{.kind = event_kind::progress, .agent = agent, .text = std::move(t)};
    });
  }

  /// Backoff jitter for one caller: reproducible with opts.random_seed, else from a seed the
  /// system gave the run once (a random_device per call cost a syscall each).
  jitter_rng jitter_source(std::uint64_t salt) const {
    return jitter_rng((opts.random_seed ? opts.random_seed : system_seed) + salt);
  }

  /// Charges one call to the run's budget (priced by the model that answered, else the one
  /// asked for, else the endpoint's name). The charge that reaches the cap emits
  /// `budget_exhausted` and, when the options say so, stops every running agent.
  void charge(std::string_view answered, std::string_view asked, const model& endpoint,
              const usage& used) {
    std::string described;  // only when neither name is known: describe() allocates
    std::string_view name = !answered.empty() ? answered : asked;
    if (name.empty()) {
      described = endpoint.describe();  // "provider:model", maybe "@url" after it
      name = described;
      if (const auto colon = name.find(':'); colon != std::string_view::npos)
        name.remove_prefix(colon + 1);
      name = name.substr(0, name.find('@'));
    }
    record_spend(endpoint.describe_model(asked), used);
    if (!budget.charge(name, used)) return;
    emit({.kind = event_kind::budget_exhausted,
          .text = budget.why(),
          .tokens = usage{budget.tokens_spent(), 0}});
    if (!opts.budget.cancel_running) return;
    stopped_by_budget = true;
    stop_running_agents(stop_cause::budget);
  }

  /// Counts one call to `ref` (as routed) in the report's by_model.
  void record_spend(std::string ref, const usage& used) {
    if (ref.empty()) ref = "(default)";
    std::lock_guard lock(spend_mutex);
    auto& spend = report_by_model[std::move(ref)];
    ++spend.calls;
    spend.tokens += used;
  }

  /// Counts spend a journal recorded before a resume: `calls` calls to `ref` (as routed) in
  /// by_model and their tokens against the budget, so a budget holds across a crash. Nothing
  /// runs yet when it is called, so reaching the cap only refuses the calls still to come.
  void charge_recorded(std::string ref, int calls, const usage& used) {
    std::string_view name = ref;
    if (const auto colon = name.find(':'); colon != std::string_view::npos)
      name.remove_prefix(colon + 1);
    budget.charge(name, used);
    if (ref.empty()) ref = "(default)";
    std::lock_guard lock(spend_mutex);
    auto& spend = report_by_model[std::move(ref)];
    spend.calls += calls;
    spend.tokens += used;
  }

  /// What by_model holds now (for the report at the end of the run).
  std::map<std::string, model_spend, std::less<>> spend_so_far() {
    std::lock_guard lock(spend_mutex);
    return report_by_model;
  }

  /// Cuts every running agent short, each told why (on its own strand).
  void stop_running_agents(stop_cause why) {
    std::vector<std::weak_ptr<agent_stopper>> running;
    {
      std::lock_guard lock(stoppers_mutex);
      running = stoppers;
    }
    for (auto& weak : running) {
      if (auto s = weak.lock()) agent_stopper::stop(s, why);
    }
  }

  /// An agent's stopper, so a budget stop can cut the agent short. Register before checking
  /// the budget: then a stop either sees the stopper or the agent sees the stop. Stoppers of
  /// agents that ended are dropped as new ones come: when the list has doubled since the last
  /// sweep (sweeping at every registration cost O(N^2) for N agents started at once).
  void register_stopper(const std::shared_ptr<agent_stopper>& s) {
    std::lock_guard lock(stoppers_mutex);
    if (stoppers.size() >= 2 * stoppers_after_sweep + 16) {
      std::erase_if(stoppers, [](const auto& w) { return w.expired(); });
      stoppers_after_sweep = stoppers.size();
    }
    stoppers.push_back(s);
  }

  /// A failure no other call can get past (a rejected API key): no new call starts, running
  /// agents are stopped, and the run ends with `ec`. The first one wins. `model_ref` (as
  /// routed, "anthropic:claude-x") says whose credentials were refused, in a mixed run.
  void stop_run(boost::system::error_code ec, const diagnostics& diag,
                std::string_view model_ref = {}) {
    {
      std::lock_guard lock(fatal_mutex);
      if (fatal_error) return;
      fatal_diag = diag;
      if (!model_ref.empty()) fatal_diag.message = std::string(model_ref) + ": " + diag.message;
      fatal_error = ec;
      fatal.store(true);
    }
    stop_running_agents(stop_cause::run_stopped);
  }

  /// Why no new call may start now, if so: the budget is spent, or a failure stopped the run.
  call_refusal refusal() const {
    if (fatal) return call_refusal::run_stopped;
    if (budget.exhausted()) return call_refusal::budget_spent;
    return call_refusal::none;
  }

  /// The error that stopped the run, if any (see stop_run).
  std::pair<boost::system::error_code, diagnostics> run_stopper() const {
    std::lock_guard lock(fatal_mutex);
    return {fatal_error, fatal_diag};
  }
  std::atomic<bool> fatal{false};  ///< stop_run was called: no new call starts

  /// The model agent `i` starts on: its subtask's, else the agent models in turn, else the
  /// run's model.
  const std::string& agent_model(std::size_t i, const std::string& subtask_model = {}) const {
    if (!subtask_model.empty()) return subtask_model;
    if (opts.agent_models.empty()) return opts.model;
    const std::string& m = opts.agent_models[i % opts.agent_models.size()];
    return m.empty() ? opts.model : m;
  }

  /// The agents' reports as the events have them so far (on the run's strand only). The first
  /// call makes the fold's vector: during the fan-out, read one ended agent with agent().
  const std::vector<agent_report>& agents() const { return fold.report().agents; }
  /// Agent `i`'s report once it ended (null before), without making the vector.
  const agent_report* agent(std::size_t i) const noexcept { return fold.agent(i); }

  /// Emits a run-level event carrying the part of `head` it completes.
  void emit_part(event_kind kind, std::size_t count = 0, std::string text = {}, usage tokens = {}) {
    emit({.kind = kind,
          .text = std::move(text),
          .tokens = tokens,
          .count = count,
          .run = std::make_shared<const run_report>(head)});
  }

  /// The report, once `finished` was delivered: the fold of every event. observer_note is the
  /// one field no event carries (it is about the events' own delivery, the last one included).
  run_report take_report() {
    run_report r = fold.take();
    r.observer_note = head.observer_note;
    return r;
  }

  clock::time_point run_deadline() const { return start + opts.deadline; }
  /// When decomposition must be done: its own share of the run, so a decomposer that never
  /// answers leaves the agents their time.
  clock::time_point decomposition_deadline() const {
    return std::min(start + opts.decomposition_timeout, agents_deadline());
  }
  /// When running agents are stopped so synthesis keeps its reserve.
  clock::time_point agents_deadline() const {
    return start + std::max(opts.deadline - opts.synthesis_reserve, std::chrono::milliseconds(0));
  }

  engine& models;
  const ask_options opts;
  boost::asio::strand<boost::asio::any_io_executor> strand;
  const clock::time_point start;
  /// For jitter when opts.random_seed is 0 (a random_device may throw: only asked then).
  const std::uint64_t system_seed = opts.random_seed ? 0 : std::random_device{}();
  session::shared_context base_context;        ///< what every agent sees; set after planning
  retry_budget retries;                        ///< shared by every agent: no retry storms
  run_budget budget;                           ///< tokens and cost: no new call once reached
  std::atomic<bool> stopped_by_budget{false};  ///< running agents were cut by the budget
  /// The caller cancelled the run: set on the run's strand (on_cancel), read anywhere (an agent
  /// registers its stopper, then checks this, so it either sees it or is stopped).
  std::atomic<bool> cancelled{false};
  /// What the run's coroutine is bound to: on_cancel emits it, so the call in flight
  /// (decomposition, judges, synthesis) is cancelled. On the run's strand only.
  boost::asio::cancellation_signal run_signal;
  /// Set by the plan executor while it waits for agents: wakes it with no report. Its wait is
  /// never cancelled through a slot (a cancelled receive on a buffered channel blocks later
  /// sends in Asio 1.81, asio#1241), so a cancel reaches it this way. On the run's strand.
  std::function<void()> wake;

  /// The caller's cancel, on the run's strand: once, stop every running agent (each told why),
  /// wake the executor, and cancel what the run's coroutine awaits.
  void on_cancel() {
    if (cancelled.exchange(true)) return;
    stop_running_agents(stop_cause::cancelled);
    if (wake) wake();
    run_signal.emit(boost::asio::cancellation_type::terminal);
  }
  /// The run-level fields as the coordinator learns them (agents stay empty: they are in the
  /// fold); each part goes out on the event that completes it.
  run_report head;

 private:
  // Delivers the event `make` returns: at once when already on the strand, else posted
  // there, holding only what `make` captured until then.
  template <typename Make>
  void on_strand(Make make) {
    if (strand.running_in_this_thread()) {
      deliver(make());
    } else {
      boost::asio::post(strand, [self = shared_from_this(), make = std::move(make)]() mutable {
        self->deliver(make());
      });
    }
  }

  void deliver(event e) {
    e.at = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
    progress.apply(e);
    fold.apply(e);
    for (std::size_t i = 0; i < observers.size(); ++i) {
      if (!observers[i]) continue;
      try {
        observers[i](e, progress);
      } catch (const std::exception& x) {
        // A host's bug must not end its io_context.run() nor the run: drop that observer.
        observers[i] = nullptr;
        head.observer_note += "observer " + std::to_string(i + 1) + " threw (" + x.what() +
                              ") and was not called again; ";
      } catch (...) {
        observers[i] = nullptr;
        head.observer_note += "observer " + std::to_string(i + 1) + " threw; ";
      }
    }
  }
  std::vector<observer> observers = opts.observers;  // on the run's strand only
  progress_map progress;
  report_fold fold;
  mutable std::mutex fatal_mutex;
  boost::system::error_code fatal_error;
  diagnostics fatal_diag;
  std::mutex spend_mutex;  // one addition per call; never held across a suspension
  std::map<std::string, model_spend, std::less<>>
      report_by_model;        // moved to the report at the end
  std::mutex stoppers_mutex;  // a push or a copy; never held across a suspension
  std::vector<std::weak_ptr<agent_stopper>> stoppers;
  std::size_t stoppers_after_sweep = 0;  ///< live stoppers at the last sweep
};

}  // namespace conclave::detail
