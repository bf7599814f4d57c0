#include "ask_command.hpp"

#include "backend.hpp"
#include "views.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>

namespace asio = boost::asio;
namespace json = boost::json;

namespace conclave::cli {
namespace {

ask_options options_from(const ask_settings& s) {
  ask_options o;
  o.agents = s.agents;
  o.max_concurrency = s.concurrency;
  o.stream = s.stream;
  o.deadline = std::chrono::milliseconds(static_cast<long long>(std::llround(s.timeout_s * 1000)));
  o.agent_timeout = o.deadline;
  // Synthesis keeps a quarter of the run, at most 30 s, when the agents run long.
  o.synthesis_reserve = std::min(o.deadline / 4, std::chrono::milliseconds(30'000));
  o.model = s.model;  // named in every request, so reports and per-model limits say which
  o.fallback_models = s.fallback_models;
  o.budget = s.budget;
  return o;
}

std::string summary(const run_report& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "[%zu agent(s): %zu ok, %zu failed, %zu timed out, %zu cancelled · wall %.2f s · "
                "agent time %.2f s · speedup %.1fx · %lld tokens]",
                r.agents.size(), r.count(agent_status::ok), r.count(agent_status::failed),
                r.count(agent_status::timed_out), r.count(agent_status::cancelled),
                static_cast<double>(r.wall.count()) / 1e6,
                static_cast<double>(r.agent_time_sum.count()) / 1e6, r.speedup(),
                static_cast<long long>(r.total_tokens().total()));
  return buf;
}

void print_text(const backend& b, const boost::system::error_code& ec, const run_report& r,
                bool interrupted) {
  if (!ec) {
    std::cout << r.answer << std::endl;
  } else {
    // No synthesized answer: show what the agents that finished decided.
    for (const auto& a : r.agents) {
      if (a.status != agent_status::ok) continue;
      std::cout << "## " << a.index + 1 << ". " << a.sub_question << "\n" << a.answer << "\n\n";
    }
    std::cout.flush();
    std::cerr << "conclave: "
              << (interrupted ? "interrupted: " + std::to_string(r.count(agent_status::ok)) + " of " +
                                    std::to_string(r.agents.size()) + " agents had finished"
                              : ec.message())
              << "\n";
    for (const auto& a : r.agents) {
      if (a.status == agent_status::ok || interrupted) continue;
      std::cerr << "  agent " << a.index + 1 << ": " << a.error.message();
      if (!a.diag.message.empty()) std::cerr << ": " << a.diag.message;
      if (a.diag.http_status >= 300) std::cerr << " (HTTP " << a.diag.http_status << ")";
      std::cerr << "\n";
    }
  }
  if (r.decomposition_fallback) std::cerr << "conclave: " << r.decomposition_note << "\n";
  if (!ec && r.degraded) std::cerr << "conclave: degraded answer: " << r.synthesis_note << "\n";
  if (r.budget_exhausted) std::cerr << "conclave: " << r.budget_note << "\n";
  std::cerr << summary(r) << " " << b.llm->describe() << "\n";
}

json::object json_result(const backend& b, const boost::system::error_code& ec, const run_report& r) {
  json::object out = to_json(r);
  out["provider"] = b.provider;
  if (!b.note.empty()) out["note"] = b.note;
  if (ec) out["error"] = json::object{{"code", error_id(ec)}, {"message", ec.message()}};
  return out;
}

}  // namespace

int run_ask(const ask_settings& s) {
  asio::io_context io(1);
  backend b = make_backend(io.get_executor(), s);
  engine e(io.get_executor(), b.entry());
  ask_options opts = options_from(s);

  std::unique_ptr<progress_view> view;
  if (!s.json && !s.events_jsonl) {
    if (isatty(STDERR_FILENO)) view = std::make_unique<live_view>(stderr, b.note);
    else view = std::make_unique<line_view>(stderr, b.note);
    opts.observers.push_back([&view](const event& ev, const progress_map& p) { view->on_event(ev, p); });
  }
  if (s.events_jsonl) {
    opts.observers.push_back([](const event& ev, const progress_map&) {
      std::cout << to_json_line(ev) << '\n' << std::flush;
    });
  }

  bool done = false;
  bool interrupted = false;
  asio::cancellation_signal cancel;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    interrupted = true;
    cancel.emit(asio::cancellation_type::terminal);
  });
  asio::steady_timer ticker(io);
  std::function<void()> tick = [&] {
    ticker.expires_after(std::chrono::milliseconds(100));
    ticker.async_wait([&](boost::system::error_code ec) {
      if (ec || done) return;
      if (view) view->tick();
      tick();
    });
  };
  tick();

  boost::system::error_code result_ec;
  run_report report;
  async_ask(e, s.question, opts,
            asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, run_report r) {
              result_ec = ec;
              report = std::move(r);
              done = true;
              signals.cancel();
              ticker.cancel();
              if (b.builtin_mock) b.builtin_mock->stop();
            }));
  io.run();
  if (view) view->close();

  if (s.events_jsonl) {
    json::object last = json_result(b, result_ec, report);
    last["event"] = "report";
    std::cout << json::serialize(last) << std::endl;
  } else if (s.json) {
    std::cout << json::serialize(json_result(b, result_ec, report)) << std::endl;
  } else {
    print_text(b, result_ec, report, interrupted);
  }
  if (interrupted) return 130;
  return result_ec ? 1 : 0;
}

}  // namespace conclave::cli
