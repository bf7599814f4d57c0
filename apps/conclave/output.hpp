// What `conclave ask` writes: the answer (streamed as it is written), notes and errors on
// stderr, the JSON report, and whether stdout took it all.
#pragma once

#include "backend.hpp"

#include <conclave/engine/report.hpp>

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace conclave::cli {

/// Writes to a stdio stream and remembers whether every write landed (a full disk, a closed
/// pipe): the exit status must say so. Model text bound for a terminal is neutralised.
class text_out {
 public:
  text_out(std::FILE* f, bool neutralise) : f_(f), neutralise_(neutralise) {}
  void write(std::string_view s);
  /// Writes model or provider text (neutralised on a terminal).
  void write_model_text(std::string_view s);
  void flush();
  bool failed() const noexcept { return failed_; }
  int error_number() const noexcept { return errno_; }
  bool at_line_start() const noexcept { return at_line_start_; }

 private:
  std::FILE* f_;
  bool neutralise_;
  bool failed_ = false;
  int errno_ = 0;
  bool at_line_start_ = true;
};

/// The report as the CLI prints it with --json / --save: the engine's report plus the
/// provider, the notice and the run's error.
boost::json::object json_result(const backend& b, const boost::system::error_code& ec,
                                const run_report& r);

/// The one summary line: agents by outcome, wall time, agent time, speedup, tokens, model.
std::string summary_line(const run_report& r, const std::string& model_description);

/// After the answer: what went wrong or is missing, on stderr, each distinct failure once
/// ("agents 1, 2, 4: rate limited: ... (HTTP 429)").
void print_problems(text_out& err, const boost::system::error_code& ec, const run_report& r,
                    bool interrupted);

/// --show-agents: each agent's sub-question, status and decision (with `answered_only`, only
/// the agents that answered: what a failed or interrupted run still has to show).
void print_decisions(text_out& out, const run_report& r, bool answered_only = false);

}  // namespace conclave::cli
