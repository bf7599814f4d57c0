// A resumed run: the journaled events of a run cut short are read back (run_replay.hpp), its
// plan is taken instead of decomposing, its finished agents are replayed without a model call,
// only the missing ones run, and the recorded spend still counts against the budget.
#include "ask_fixture.hpp"

#include <conclave/engine/events.hpp>
#include <conclave/engine/run_replay.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>

namespace engine_test_resume {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace conclave::test;
using namespace std::chrono_literals;

namespace {

// The fake model's script, counting the calls of each kind.
struct counted {
  std::shared_ptr<std::atomic<int>> decompositions = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> agents = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> syntheses = std::make_shared<std::atomic<int>>(0);
  fake_model::script script(const scripted& s) const {
    return [inner = s.as_script(), c = *this](const chat_request& r) {
      switch (kind_of(r)) {
        case request_kind::decomposition:
          ++*c.decompositions;
          break;
        case request_kind::synthesis:
          ++*c.syntheses;
          break;
        case request_kind::agent:
          ++*c.agents;
          break;
      }
      return inner(r);
    };
  }
};

std::vector<std::string> lines_of(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(to_json_line(e));
  return out;
}

// The journal of a run killed after its first `finished` agents ended: the plan, those agents'
// last events, and a failed attempt of one that never finished.
std::vector<std::string> cut_after(const std::vector<event>& events, std::size_t finished) {
  std::vector<std::string> out;
  std::size_t ended = 0;
  for (const auto& e : events) {
    if (e.kind == event_kind::decomposed) out.push_back(to_json_line(e));
    if (e.kind == event_kind::completed && ended < finished) {
      out.push_back(to_json_line(e));
      ++ended;
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resume)

BOOST_AUTO_TEST_CASE(the_decomposed_event_carries_the_whole_plan_and_reads_back) {
  counted c;
  rig r(c.script(scripted{}));
  const ask_result first = ask(r.io, r.eng, "What about five things?", quick_options(5));
  BOOST_REQUIRE(!first.ec);
  std::string why;
  const auto rec = read_recorded_run(lines_of(first.events), why);
  BOOST_REQUIRE_MESSAGE(rec, why);
  BOOST_REQUIRE(rec->plan_ran);
  BOOST_TEST(rec->plan_ran->subtasks.size() == 5u);
  BOOST_TEST(rec->finished.size() == 5u);
  BOOST_TEST(rec->decomposition.decomposition_attempts == 1);
}

BOOST_AUTO_TEST_CASE(finished_agents_are_replayed_and_only_the_missing_ones_run) {
  counted c;
  rig r(c.script(scripted{}));
  const ask_result first = ask(r.io, r.eng, "What about five things?", quick_options(5));
  BOOST_REQUIRE(!first.ec);
  BOOST_TEST(*c.agents == 5);

  std::string why;
  auto rec = read_recorded_run(cut_after(first.events, 3), why);
  BOOST_REQUIRE_MESSAGE(rec, why);
  BOOST_TEST(rec->finished.size() == 3u);
  ask_options again = quick_options(5);
  again.replay = std::make_shared<const recorded_run>(std::move(*rec));
  const ask_result resumed = ask(r.io, r.eng, "What about five things?", again);
  BOOST_REQUIRE(!resumed.ec);
  BOOST_TEST(*c.decompositions == 1);  // the plan was taken, not asked for again
  BOOST_TEST(*c.agents == 5 + 2);      // only the two missing agents ran
  BOOST_TEST(*c.syntheses == 2);
  BOOST_REQUIRE_EQUAL(resumed.report.agents.size(), 5u);
  std::size_t replayed = 0;
  for (const auto& a : resumed.report.agents) {
    BOOST_TEST(a.answer == first.report.agents[a.index].answer);
    replayed += a.replayed ? 1 : 0;
  }
  BOOST_TEST(replayed == 3u);
  // The totals count the recorded spend as well: the same as the whole first run's.
  BOOST_TEST(resumed.report.total_tokens().total() == first.report.total_tokens().total());
}

BOOST_AUTO_TEST_CASE(the_recorded_spend_counts_against_the_budget) {
  counted c;
  rig r(c.script(scripted{}));
  const ask_result first = ask(r.io, r.eng, "What about five things?", quick_options(5));
  BOOST_REQUIRE(!first.ec);
  std::string why;
  auto rec = read_recorded_run(cut_after(first.events, 4), why);
  BOOST_REQUIRE(rec);
  const usage spent = recorded_spend(*rec);
  BOOST_TEST(spent.total() > 0);
  // A cap the recorded steps already reached: the resumed run starts no new agent call.
  ask_options again = quick_options(5);
  again.budget.max_tokens = spent.total();
  again.replay = std::make_shared<const recorded_run>(std::move(*rec));
  const int agent_calls_before = *c.agents;
  const ask_result resumed = ask(r.io, r.eng, "What about five things?", again);
  BOOST_TEST(*c.agents == agent_calls_before);
  BOOST_TEST(resumed.report.budget_exhausted);
}

BOOST_AUTO_TEST_CASE(a_corrupt_journal_line_is_refused_not_half_replayed) {
  std::string why;
  const auto rec = read_recorded_run({"{\"event\":\"decomposed\"", "not json"}, why);
  BOOST_TEST(!rec);
  BOOST_TEST(why.find("step 1") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_resume
