// The observer that journals a run's steps, and the keys it writes them under.
#include <conclave/engine/report.hpp>
#include <conclave/journal/journal.hpp>

namespace conclave::journal {

std::optional<std::string> step_keys::key(const event& e) {
  switch (e.kind) {
    case event_kind::decomposed:
      return "plan";
    case event_kind::combined:
      return "combined";
    case event_kind::finished:
      return "finished";
    case event_kind::budget_exhausted:
      return "budget_exhausted";
    default:
      break;
  }
  if (!e.agent) return std::nullopt;  // run-level chatter (synthesis_started, its progress)
  const std::size_t i = *e.agent;
  const std::string agent = std::to_string(i);
  if (is_terminal(e.kind) || e.kind == event_kind::judged) {
    const int revisions = e.report ? e.report->revisions : 0;
    if (is_terminal(e.kind)) {
      // What runs next for this agent, if anything, is its next revision.
      if (round_.size() <= i) round_.resize(i + 1, 0);
      round_[i] = revisions + 1;
    }
    return "agent/" + agent + "/" + to_string(e.kind) + "/" + std::to_string(revisions);
  }
  if (e.kind == event_kind::retrying) {
    const int round = i < round_.size() ? round_[i] : 0;
    return "attempt/" + agent + "/" + std::to_string(round) + "/" + std::to_string(e.attempt);
  }
  return std::nullopt;  // queued, started, progress, tool calls: chatter, not steps
}

bool observer_status::failed() const {
  std::lock_guard lock(m_);
  return failed_;
}

std::string observer_status::first_error() const {
  std::lock_guard lock(m_);
  return error_;
}

std::size_t observer_status::written() const {
  std::lock_guard lock(m_);
  return written_;
}

std::size_t observer_status::ignored() const {
  std::lock_guard lock(m_);
  return ignored_;
}

void observer_status::note(bool was_new) {
  std::lock_guard lock(m_);
  ++(was_new ? written_ : ignored_);
}

void observer_status::fail(std::string why) {
  std::lock_guard lock(m_);
  if (failed_) return;  // the first error is the one that explains the rest
  failed_ = true;
  error_ = std::move(why);
}

namespace {

struct writer {
  std::shared_ptr<journal> j;
  std::string run_id;
  std::shared_ptr<observer_status> status;
  step_keys keys;
  bool stopped = false;

  void operator()(const event& e) {
    // Keys are named even after a failure: they depend on the whole stream.
    const auto key = keys.key(e);
    if (!key || stopped) return;
    // A failed step is lost, not the ones after it (a shared journal's outage passes): each
    // is tried. But without the plan, later steps would be replayed against another one.
    try {
      const bool fresh = j->record_step(run_id, *key, to_string(e.kind), to_json_line(e));
      status->note(fresh);
    } catch (const std::exception& x) {
      stopped = *key == "plan";
      status->fail(x.what());
    } catch (...) {
      stopped = *key == "plan";
      status->fail("journal: unknown error");
    }
  }
};

}  // namespace

observer journal_observer(std::shared_ptr<journal> j, std::string run_id,
                          std::shared_ptr<observer_status> status) {
  if (!status) status = std::make_shared<observer_status>();
  const bool none = !j;
  if (none) status->fail("journal: none given");
  auto w = std::make_shared<writer>(
      writer{std::move(j), std::move(run_id), std::move(status), {}, none});
  // The std::function may be copied; every copy shares one writer (one key sequence).
  return [w](const event& e, const progress_map&) { (*w)(e); };
}

}  // namespace conclave::journal
