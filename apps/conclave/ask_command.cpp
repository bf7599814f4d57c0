#include "ask_command.hpp"

#include "attempt_log.hpp"
#include "backend.hpp"
#include "output.hpp"
#include "tools_setup.hpp"
#include "views.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/mcp/host.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;

namespace conclave::cli {

ask_options options_from(const ask_settings& s) {
  using std::chrono::milliseconds;
  ask_options o;
  o.agents = s.agents;
  o.max_agents = s.max_agents;
  o.combine = combine_mode_from(s.combine).value_or(combine_mode::synthesize);
  o.verify = s.verify;
  o.verify_rounds = s.verify_rounds;
  o.max_concurrency = s.concurrency;
  o.stream = s.stream;
  o.stream_synthesis = s.stream;
  o.deadline = milliseconds(to_milliseconds(s.timeout_s));
  o.agent_timeout =
      s.agent_timeout_s > 0 ? milliseconds(to_milliseconds(s.agent_timeout_s)) : o.deadline;
  o.decomposition_timeout = milliseconds(to_milliseconds(s.decompose_timeout_s));  // 0: default
  // Synthesis keeps a quarter of the run, at most 30 s, when the agents run long.
  o.synthesis_reserve = std::min(o.deadline / 4, milliseconds(30'000));
  if (s.agents == 1 && !s.plan_to_run) o.synthesis_reserve = milliseconds(0);  // nothing to merge
  o.model = s.model;  // named in every request, so reports and per-model limits say which
  o.decomposition_model = s.decompose_model;
  o.synthesis_model = s.synth_model;
  o.agent_models = s.agent_models;
  o.max_output_tokens = s.max_output_tokens;
  o.temperature = s.temperature;
  o.agent_instructions = s.system;
  o.fallback_models = s.fallback_models;
  o.budget = s.budget;
  o.limits.max_turns = s.max_turns;
  o.limits.max_tool_calls = s.max_tool_calls;
  o.limits.tool_timeout = milliseconds(to_milliseconds(s.tool_timeout_s));
  return o;
}

namespace {

// Sends the answer to a terminal as it is written: the synthesis stream, or the single
// agent's when one agent answers the question itself. The live view is closed first, so the
// table stays above and the answer runs below it. (Off a terminal the answer is written whole
// at the end: a file or pipe must never keep half an answer.)
class answer_stream {
 public:
  answer_stream(text_out& out, std::function<void()> before_first)
      : out_(out), before_first_(std::move(before_first)) {}

  void on_event(const event& e, const std::string& question) {
    if (e.kind == event_kind::decomposed) single_agent_ = e.count == 1;
    if (e.kind == event_kind::queued && e.agent == 0 && single_agent_)
      follow_agent_ = e.text == question;
    if (e.kind != event_kind::progress) {
      // Anything else may print a line of its own (plain progress on the same terminal):
      // end the answer's line first so the two never run together.
      if (!streamed_.empty() && !out_.at_line_start()) {
        out_.write("\n");
        out_.flush();
      }
      // A new turn of the followed agent: what it said before (while calling tools) stays on
      // screen, and the answer is what this turn says.
      if (e.kind == event_kind::started && follow_agent_ && e.agent == 0 && e.turn > 1) {
        streamed_.clear();
      }
      return;
    }
    if (out_.failed()) return;
    const bool answer_text = e.agent ? (follow_agent_ && *e.agent == 0) : true;
    if (!answer_text) return;
    if (!began_ && before_first_) before_first_();
    began_ = true;
    streamed_ += e.text;
    out_.write_model_text(e.text);
    out_.flush();
  }
  const std::string& streamed() const noexcept { return streamed_; }

 private:
  text_out& out_;
  std::function<void()> before_first_;
  bool single_agent_ = false;
  bool follow_agent_ = false;
  bool began_ = false;
  std::string streamed_;
};

std::unique_ptr<progress_view> make_view(const ask_settings& s) {
  if (s.json || s.events_jsonl || s.quiet) return nullptr;
  const bool tty = isatty(STDERR_FILENO);
  // One agent has nothing to show side by side: its answer streams, the summary follows.
  if (s.agents == 1 && !s.plan_to_run && !s.verbose) return nullptr;
  if (!s.verbose && live_view_possible(tty)) {
    view_options o;
    o.color = color_wanted(s.color, tty);
    return std::make_unique<live_view>(stderr, "", std::move(o));
  }
  return std::make_unique<line_view>(stderr, "");
}

// Writes the answer once the run is over (what the stream did not already show).
void finish_text(text_out& out, text_out& err, const ask_settings& s,
                 const boost::system::error_code& ec, const run_report& r,
                 const std::string& streamed, bool interrupted) {
  if (!ec) {
    if (streamed.empty()) {
      out.write_model_text(r.answer);
    } else if (streamed != r.answer) {
      // The stream stopped part-way (synthesis failed after it began): say so, then the
      // degraded answer.
      if (!out.at_line_start()) out.write("\n");
      out.write("\n[the answer above stopped part-way; what the agents decided follows]\n\n");
      out.write_model_text(r.answer);
    }
    if (!out.at_line_start()) out.write("\n");
  } else if (ec != error::auth_failed) {
    // No synthesized answer: show what the agents that finished decided.
    if (!streamed.empty()) {
      if (!out.at_line_start()) out.write("\n");
      out.write("[the answer above stopped part-way]\n");
    }
    if (!s.show_agents) print_decisions(out, r, /*answered_only=*/true);
  }
  if (s.show_agents) print_decisions(out, r);
  out.flush();
  print_problems(err, ec, r, interrupted);
  if (!s.quiet && !r.combine_note.empty() && r.combine != "synthesize")
    err.write_model_text("conclave: " + r.combine + ": " + r.combine_note + "\n");
  if (!s.quiet) err.write(summary_line(r, models_used(r)) + "\n");
  err.flush();
}

// The run's end in the journal; when it did not succeed, how to take it up again.
void end_journal(run_journal& journal, text_out& err, const boost::system::error_code& ec,
                 bool interrupted, const json::object& report) {
  const std::string warning = journal.finish(ec, interrupted, report);
  if (!warning.empty()) err.write_model_text("conclave: warning: " + warning + "\n");
  if (journal.active() && (ec || interrupted))
    err.write("conclave: " + journal.resume_hint() + "\n");
}

}  // namespace

int run_ask(const ask_settings& s, const standard_fds& fds, resume_point* resume) {
  asio::io_context io(1);
  backend b = make_backend(io.get_executor(), s, fds.open_files);
  engine e(io.get_executor(), b.entry());
  e.set_single_threaded(true);  // io_context(1), run by this thread alone
  ask_options opts = options_from(s);
  opts.tools = builtin_tools(io.get_executor(), s);
  const auto servers = mcp_servers(s);
  // Declared before anything that may hold its tools, so it goes last: its destructor kills
  // and reaps any server still running.
  std::unique_ptr<mcp::host> mcp_host;
  if (!servers.empty()) mcp_host = std::make_unique<mcp::host>(io.get_executor());

  text_out out(stdout, isatty(STDOUT_FILENO));
  text_out err(stderr, true);
  // Said loudly, whatever the output format: a canned answer must never pass for a model's.
  if (!b.note.empty()) err.write("conclave: NOTE: " + b.note + "\n");
  for (const auto& w : s.warnings) err.write_model_text("conclave: warning: " + w + "\n");
  for (const auto& w : b.warnings) err.write("conclave: warning: " + w + "\n");
  // Journaled before it starts, each step as it completes: a killed run can be resumed.
  std::string journal_warning;
  run_journal journal =
      resume ? std::move(resume->journal) : run_journal::begin(s, journal_warning);
  if (!journal_warning.empty()) err.write("conclave: warning: " + journal_warning + "\n");
  journal.observe(opts);
  if (resume) opts.replay = resume->replay;
  err.flush();

  std::unique_ptr<progress_view> view = make_view(s);
  const bool live = view && dynamic_cast<live_view*>(view.get()) != nullptr;
  answer_stream answer(out, [&view, live] {
    if (!live) return;  // plain lines go to stderr, apart from the answer: leave them on
    view->close();
    view.reset();  // the table stays as it was; the answer runs below it
  });
  const bool text_mode = !s.json && !s.events_jsonl;
  if (text_mode) {
    const bool stream_answer = s.stream && isatty(STDOUT_FILENO);
    opts.observers.push_back([&, stream_answer](const event& ev, const progress_map& p) {
      if (stream_answer) answer.on_event(ev, s.question);  // first: it ends its line
      if (view) view->on_event(ev, p);
    });
  }
  if (s.events_jsonl) {
    opts.observers.push_back([&out](const event& ev, const progress_map&) {
      out.write(to_json_line(ev));
      out.write("\n");
      out.flush();
    });
  }

  bool done = false;
  bool interrupted = false;
  asio::cancellation_signal cancel;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signal_number = 0;
  std::function<void()> on_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int number) {
      if (ec) return;
      if (interrupted) {  // a second Ctrl-C: out now, no report, the cursor given back
        if (view) view->close();
        std::fflush(stderr);
        std::_Exit(128 + number);
      }
      interrupted = true;
      signal_number = number;
      cancel.emit(asio::cancellation_type::terminal);
      on_signal();
    });
  };
  on_signal();
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
  bool reported = false;     // the ask ran and said how (not when Ctrl-C came before it began)
  std::string tools_failed;  // an MCP server did not start: nothing was asked
  auto finish = [&] {
    done = true;
    signals.cancel();
    ticker.cancel();
    if (b.builtin_mock) b.builtin_mock->stop();
    if (b.redis) b.redis->close();  // its last write-backs land first
    if (mcp_host) mcp_host->async_shutdown([] {});
  };
  auto launch = [&] {
    if (interrupted) return finish();
    // Said before the table is drawn, never across it (a live table owns its lines).
    if (!opts.tools.empty() && !s.quiet && !s.json && !s.events_jsonl && !live) {
      err.write("conclave: the agents have " + describe_tools(opts.tools, servers) + "\n");
      err.flush();
    }
    auto done_handler = asio::bind_cancellation_slot(
        cancel.slot(), [&](boost::system::error_code ec, run_report r) {
          result_ec = ec;
          report = std::move(r);
          reported = true;
          finish();
        });
    if (s.plan_to_run) {
      async_run_plan(e, *s.plan_to_run, opts, std::move(done_handler));
    } else {
      async_ask(e, s.question, opts, std::move(done_handler));
    }
  };
  if (mcp_host) {
    // The servers start once, before any agent; their tools join the built-ins.
    // Ctrl-C while they start abandons the start (the servers are stopped and reaped).
    auto started = [&](boost::system::error_code ec, std::string why) {
      if (interrupted) {
        tools_failed = "interrupted while the servers started";
        return finish();
      }
      if (ec) {
        tools_failed = why.empty() ? ec.message() : why;
        return finish();
      }
      for (auto& t : mcp_host->tools()) opts.tools.push_back(std::move(t));
      launch();
    };
    mcp_host->async_start(servers, asio::bind_cancellation_slot(cancel.slot(), started));
  } else {
    launch();
  }
  io.run();
  if (!tools_failed.empty()) {
    if (view) view->close();
    err.write_model_text("conclave: MCP: " + tools_failed + "\n");
    // Nothing was asked: the run failed (any error code says so to the journal).
    const boost::system::error_code not_started = error::connection_failed;
    end_journal(journal, err, not_started, interrupted, json_result(b, result_ec, report));
    err.flush();
    return interrupted ? 128 + signal_number : 1;
  }
  if (view) view->close();

  if (s.json || s.events_jsonl) {
    json::object last = json_result(b, result_ec, report);
    if (s.events_jsonl) last["event"] = "report";
    out.write(to_plain_json(last) + "\n");
    out.flush();
    print_problems(err, result_ec, report, interrupted);
    err.flush();
  } else {
    finish_text(out, err, s, result_ec, report, answer.streamed(), interrupted);
  }

  // A plan the engine refused (a tool it names is not there) is the caller's mistake: 2.
  int status = interrupted                        ? 128 + signal_number
               : result_ec == error::invalid_plan ? 2
               : result_ec                        ? 1
                                                  : 0;
  if (!s.save_path.empty()) {
    std::ofstream save(s.save_path, std::ios::binary | std::ios::trunc);
    save << to_plain_json(json_result(b, result_ec, report)) << '\n';
    save.flush();
    if (!save) {
      std::fprintf(stderr, "conclave: cannot write the report to %s\n", s.save_path.c_str());
      status = status ? status : 1;
    }
  }
  if (out.failed()) {
    std::fprintf(stderr, "conclave: the answer could not be written to stdout: %s\n",
                 out.error_number() ? std::strerror(out.error_number()) : "write error");
    if (status == 0) status = 1;
  }
  end_journal(journal, err, result_ec, interrupted, json_result(b, result_ec, report));
  err.flush();
  // Last, once the answer is out: a log that cannot be written only warns.
  if (s.log && reported) record_run(s.log_path, s.plan_to_run ? "run" : "ask", report, result_ec);
  return status;
}

}  // namespace conclave::cli
