// The journal's observer: which events are steps and under which keys, what it stores, that a
// replay writes nothing new, that a failing journal never throws into the run; and the
// default path.
#include "temp_file.hpp"

#include <conclave/engine/progress.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/report_fold.hpp>
#include <conclave/journal/journal.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sys/stat.h>

namespace unit_test_journal_observer {  // file-local names stay apart in unity batches

namespace cj = conclave::journal;
using conclave::agent_report;
using conclave::event;
using conclave::event_kind;
using conclave::run_report;
namespace fs = std::filesystem;

using conclave::test::temp_dir;

namespace {

std::shared_ptr<const agent_report> answered(std::size_t i, int revisions, std::string answer) {
  auto r = std::make_shared<agent_report>();
  r->index = i;
  r->id = "s" + std::to_string(i + 1);
  r->status = conclave::agent_status::ok;
  r->answer = std::move(answer);
  r->turns = 2;
  r->attempts = 3;
  r->tokens = {.prompt_tokens = 120, .completion_tokens = 30};
  r->tool_calls.push_back({.name = "read_file", .turn = 1, .arguments_bytes = 12});
  r->revisions = revisions;
  return r;
}

// A run of two agents as the engine tells it: chatter around the steps, a failed attempt,
// a verify round that revises agent 1 (whose revision fails once too), a budget cap.
std::vector<event> a_run() {
  auto plan = std::make_shared<run_report>();
  plan->question = "q";
  plan->sub_questions = {"a", "b"};
  auto combined = std::make_shared<run_report>();
  combined->answer = "the answer";
  auto totals = std::make_shared<run_report>();
  totals->wall = std::chrono::milliseconds(900);
  auto failed_judged = std::make_shared<agent_report>(*answered(1, 0, "b?"));
  failed_judged->verdict = "fail";
  auto revised = std::make_shared<agent_report>(*answered(1, 1, "b!"));
  revised->verdict = "fail";  // as merge_revision keeps it: the verdict that asked for it
  return {
      {.kind = event_kind::decomposed, .count = 2, .run = plan},
      {.kind = event_kind::queued, .agent = 0, .text = "a"},
      {.kind = event_kind::queued, .agent = 1, .text = "b"},
      {.kind = event_kind::started, .agent = 0, .attempt = 1, .turn = 1},
      {.kind = event_kind::progress, .agent = 0, .text = "par"},
      {.kind = event_kind::retrying, .agent = 0, .text = "HTTP 500", .attempt = 2, .turn = 1},
      {.kind = event_kind::tool_call_started, .agent = 0, .turn = 1, .tool = "read_file"},
      {.kind = event_kind::tool_call_finished, .agent = 0, .turn = 1, .tool = "read_file"},
      {.kind = event_kind::completed, .agent = 0, .attempt = 3, .report = answered(0, 0, "a!")},
      {.kind = event_kind::completed, .agent = 1, .attempt = 3, .report = answered(1, 0, "b?")},
      {.kind = event_kind::judged, .agent = 0, .text = "pass", .report = answered(0, 0, "a!")},
      {.kind = event_kind::judged, .agent = 1, .text = "fail", .report = failed_judged},
      {.kind = event_kind::started, .agent = 1, .attempt = 1, .turn = 1},
      {.kind = event_kind::retrying, .agent = 1, .text = "HTTP 529", .attempt = 2, .turn = 1},
      {.kind = event_kind::completed, .agent = 1, .attempt = 5, .report = revised},
      {.kind = event_kind::synthesis_started, .text = "synthesize", .count = 2},
      {.kind = event_kind::progress, .text = "the"},
      {.kind = event_kind::budget_exhausted, .text = "tokens"},
      {.kind = event_kind::combined, .run = combined},
      {.kind = event_kind::finished, .text = "ok", .run = totals},
  };
}

const std::vector<std::string> expected_keys = {
    "plan",
    "attempt/0/0/2",
    "agent/0/completed/0",
    "agent/1/completed/0",
    "agent/0/judged/0",
    "agent/1/judged/0",
    "attempt/1/1/2",  // agent 1's revision: its attempts count again from 1
    "agent/1/completed/1",
    "budget_exhausted",
    "combined",
    "finished",
};

std::vector<std::string> keys_of(const std::vector<cj::journal::step>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(s.key);
  return out;
}

void feed(const conclave::observer& o, const std::vector<event>& events) {
  conclave::progress_map progress;
  for (const auto& e : events) {
    progress.apply(e);
    o(e, progress);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal)

BOOST_AUTO_TEST_CASE(observer_writes_the_steps_only) {
  temp_dir dir;
  auto j = cj::journal::open((dir.path() / "j.db").string());
  const std::string id = j->begin_run("ask", "q", "{}", "");
  auto status = std::make_shared<cj::observer_status>();
  feed(cj::journal_observer(j, id, status), a_run());

  const auto steps = j->steps(id);
  BOOST_TEST(keys_of(steps) == expected_keys, boost::test_tools::per_element());
  BOOST_TEST(!status->failed());
  BOOST_TEST(status->written() == expected_keys.size());

  // Each step is the event's JSON line, payload included: the steps fold back into the report,
  // the revised answer (the last written) holding.
  conclave::report_fold fold;
  std::map<std::string, std::string> kinds;
  for (const auto& s : steps) {
    event e;
    std::string why;
    BOOST_REQUIRE_MESSAGE(conclave::from_json_line(s.json, e, why), why);
    BOOST_TEST(s.kind == conclave::to_string(e.kind));
    fold.apply(e);
  }
  const run_report& r = fold.report();
  BOOST_REQUIRE_EQUAL(r.agents.size(), 2u);
  BOOST_TEST(r.sub_questions == (std::vector<std::string>{"a", "b"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.agents[0].answer == "a!");
  BOOST_TEST(r.agents[0].verdict == "");  // the judged event's report was made without one
  BOOST_TEST(r.agents[1].answer == "b!");
  BOOST_TEST(r.agents[1].revisions == 1);
  BOOST_TEST(r.agents[1].turns == 2);
  BOOST_REQUIRE_EQUAL(r.agents[1].tool_calls.size(), 1u);
  BOOST_TEST(r.agents[1].tool_calls[0].name == "read_file");
  BOOST_TEST(r.agents[1].tokens.total() == 150);
  BOOST_TEST(r.answer == "the answer");
  BOOST_TEST(r.wall.count() == 900'000);
}

BOOST_AUTO_TEST_CASE(observer_replay_writes_nothing_new) {
  temp_dir dir;
  auto j = cj::journal::open((dir.path() / "j.db").string());
  const std::string id = j->begin_run("ask", "q", "{}", "");
  const auto events = a_run();
  const std::vector<event> first_part(events.begin(), events.begin() + 10);
  feed(cj::journal_observer(j, id), first_part);  // killed here
  const std::size_t before = j->steps(id).size();
  BOOST_TEST(before == 4u);
  // The resume replays what was recorded, then runs the rest: the same keys, written once.
  auto status = std::make_shared<cj::observer_status>();
  feed(cj::journal_observer(j, id, status), events);
  BOOST_TEST(keys_of(j->steps(id)) == expected_keys, boost::test_tools::per_element());
  BOOST_TEST(status->ignored() == before);
  BOOST_TEST(status->written() == expected_keys.size() - before);
}

BOOST_AUTO_TEST_CASE(observer_never_throws_into_the_run) {
  temp_dir dir;
  auto j = cj::journal::open((dir.path() / "j.db").string());
  const auto events = a_run();

  // A run the journal does not have: the plan fails, then nothing more is tried.
  auto status = std::make_shared<cj::observer_status>();
  auto o = cj::journal_observer(j, "run_00000000000000bb", status);
  BOOST_CHECK_NO_THROW(feed(o, {events[0]}));
  BOOST_TEST(status->failed());
  BOOST_TEST(status->first_error().find("no run run_00000000000000bb") != std::string::npos,
             status->first_error());
  j->begin_run_with_id("run_00000000000000bb", "ask", "q", "{}", "");
  BOOST_CHECK_NO_THROW(feed(o, events));
  BOOST_TEST(j->steps("run_00000000000000bb").empty());
  BOOST_TEST(status->written() == 0u);

  // A journal closed under a running observer: the first error is kept.
  auto later = std::make_shared<cj::observer_status>();
  auto o2 = cj::journal_observer(j, "run_00000000000000bb", later);
  feed(o2, {events[0]});
  BOOST_TEST(later->written() == 1u);
  j->close();
  BOOST_CHECK_NO_THROW(feed(o2, events));
  BOOST_TEST(later->failed());
  BOOST_TEST(later->first_error().find("closed") != std::string::npos, later->first_error());

  // No journal at all.
  auto none = std::make_shared<cj::observer_status>();
  BOOST_CHECK_NO_THROW(feed(cj::journal_observer(nullptr, "x", none), events));
  BOOST_TEST(none->failed());
}

BOOST_AUTO_TEST_CASE(step_keys_name_steps_and_skip_chatter) {
  cj::step_keys keys;
  BOOST_TEST(!keys.key({.kind = event_kind::queued, .agent = 0}));
  BOOST_TEST(!keys.key({.kind = event_kind::started, .agent = 0}));
  BOOST_TEST(!keys.key({.kind = event_kind::progress, .agent = 0, .text = "x"}));
  BOOST_TEST(!keys.key({.kind = event_kind::tool_call_finished, .agent = 0}));
  BOOST_TEST(!keys.key({.kind = event_kind::synthesis_started}));
  BOOST_TEST(!keys.key({.kind = event_kind::progress}));
  // An agent that never ran ends once, without a report of any revision.
  BOOST_TEST(*keys.key({.kind = event_kind::skipped, .agent = 4}) == "agent/4/skipped/0");
  BOOST_TEST(*keys.key({.kind = event_kind::retrying, .agent = 3, .attempt = 2}) ==
             "attempt/3/0/2");
  BOOST_TEST(*keys.key({.kind = event_kind::timed_out, .agent = 3}) == "agent/3/timed_out/0");
  BOOST_TEST(*keys.key({.kind = event_kind::retrying, .agent = 3, .attempt = 2}) ==
             "attempt/3/1/2");
}

BOOST_AUTO_TEST_CASE(default_path_follows_the_state_directory) {
  temp_dir dir;
  std::map<std::string, std::string> vars;
  auto env = [&vars](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
  const std::string root = dir.str();

  vars = {{"XDG_STATE_HOME", root + "/state/"}, {"HOME", root}};
  BOOST_TEST(cj::default_journal_path(env) == root + "/state/conclave/journal.db");
  struct stat st;
  BOOST_REQUIRE(::stat((root + "/state/conclave").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);

  vars = {{"XDG_STATE_HOME", "relative/state"}, {"HOME", root}};  // relative: ignored
  BOOST_TEST(cj::default_journal_path(env) == root + "/.local/state/conclave/journal.db");
  BOOST_TEST(fs::is_directory(root + "/.local/state/conclave"));

  vars = {{"HOME", root + "/no-such-home"}};
  BOOST_TEST(cj::default_journal_path(env).empty());
  BOOST_TEST(!fs::exists(root + "/no-such-home"));  // HOME is never made

  vars = {{"HOME", "relative"}};
  BOOST_TEST(cj::default_journal_path(env).empty());
  vars = {};
  BOOST_TEST(cj::default_journal_path(env).empty());

  // The journal opens where the path says.
  vars = {{"HOME", root}};
  auto j = cj::journal::open(cj::default_journal_path(env));
  BOOST_TEST(j->recent(1).empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_journal_observer
