// Plans over the fake model: subtasks start as their own dependencies finish (no superstep),
// exclusive ones never overlap, failed dependencies skip their dependents, the ways to combine,
// the bounded verify stage, the decomposer choosing N, and the report as a fold of the events.
#include "ask_fixture.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/report_fold.hpp>

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <map>

using namespace conclave;
using namespace conclave::test;
using namespace std::chrono_literals;

namespace {

bool contains(const chat_request& r, std::string_view what) {
  for (const auto& m : r.messages) {
    if (m.text().find(what) != std::string::npos) return true;
  }
  return false;
}

// Each agent's reply per the first word of its subtask's prompt ("slow ...", "fail ...").
fake_reply by_prompt(const chat_request& r) {
  const std::string ask = last_user(r);
  if (ask.starts_with("slow")) return {200ms, "slow decision", {}, 1};
  if (ask.starts_with("fail")) return {5ms, "", error::bad_request, 1};
  return {10ms, "decision on " + ask.substr(0, ask.find('\n')), {}, 1};
}

subtask task(std::string id, std::string prompt, std::vector<std::string> deps = {},
             std::vector<std::string> exclusive = {}) {
  subtask s;
  s.id = std::move(id);
  s.prompt = std::move(prompt);
  s.depends_on = std::move(deps);
  s.exclusive = std::move(exclusive);
  return s;
}

ask_result run_plan(rig& r, plan p, ask_options opts = quick_options(0)) {
  auto result = std::make_shared<ask_result>();
  opts.observers.push_back(
      [result](const event& ev, const progress_map&) { result->events.push_back(ev); });
  bool done = false;
  async_run_plan(r.eng, std::move(p), std::move(opts),
                 [&, result](boost::system::error_code ec, run_report rep) {
                   result->ec = ec;
                   result->report = std::move(rep);
                   done = true;
                 });
  BOOST_REQUIRE_MESSAGE(pump_until(
                            r.io, [&] { return done; }, 20s),
                        "the plan did not finish");
  return *result;
}

// When agent `i`'s first `started` and its last event came, from the events.
std::pair<std::chrono::microseconds, std::chrono::microseconds> span_of(const ask_result& r,
                                                                        std::size_t i) {
  std::chrono::microseconds begin{-1}, end{-1};
  for (const auto& e : r.events) {
    if (e.agent != i) continue;
    if (e.kind == event_kind::started && begin.count() < 0) begin = e.at;
    if (is_terminal(e.kind)) end = e.at;
  }
  return {begin, end};
}

std::size_t order_of(const ask_result& r, std::size_t agent, event_kind kind) {
  for (std::size_t k = 0; k < r.events.size(); ++k) {
    if (r.events[k].agent == agent && r.events[k].kind == kind) return k;
  }
  return r.events.size();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plan_runs)

BOOST_AUTO_TEST_CASE(a_fast_branch_finishes_before_a_slow_sibling_ends) {
  rig r([](const chat_request& req) {
    if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged", {}, 1};
    return by_prompt(req);
  });
  plan p;
  p.question = "q";
  p.subtasks = {task("a", "fast a"), task("b", "slow b"), task("c", "fast c after a", {"a"})};
  const auto res = run_plan(r, p);
  BOOST_REQUIRE(!res.ec);
  // c depended on a only: it ran and finished while b was still running.
  BOOST_TEST(order_of(res, 2, event_kind::completed) < order_of(res, 1, event_kind::completed));
  BOOST_CHECK(res.report.agents[2].status == agent_status::ok);
  BOOST_TEST(res.report.agents[2].depends_on == std::vector<std::string>{"a"});
  // c saw a's decision, not its dialogue.
  bool saw = false;
  for (const auto& req : r.model.seen()) {
    const std::string u = last_user(req);
    if (u.starts_with("fast c")) saw = u.find("Decision: decision on fast a") != std::string::npos;
  }
  BOOST_TEST(saw);
}

BOOST_AUTO_TEST_CASE(exclusive_subtasks_never_overlap) {
  rig r([](const chat_request& req) {
    if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged", {}, 1};
    return by_prompt(req);
  });
  plan p;
  p.question = "q";
  p.subtasks = {task("x", "x", {}, {"gpu"}), task("y", "y", {}, {"gpu"}),
                task("z", "z", {}, {"gpu", "disk"}), task("w", "w free")};
  const auto res = run_plan(r, p);
  BOOST_REQUIRE(!res.ec);
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = i + 1; j < 3; ++j) {
      const auto [bi, ei] = span_of(res, i);
      const auto [bj, ej] = span_of(res, j);
      BOOST_TEST_INFO("subtasks " << i << " and " << j);
      BOOST_TEST((ei <= bj || ej <= bi));
    }
  }
  // The free one ran beside the first holder.
  const auto [bw, ew] = span_of(res, 3);
  const auto [bx, ex] = span_of(res, 0);
  BOOST_TEST(bw < ex);
}

BOOST_AUTO_TEST_CASE(a_failed_dependency_skips_its_dependents_unless_optional) {
  rig r([](const chat_request& req) {
    if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged", {}, 1};
    return by_prompt(req);
  });
  plan p;
  p.question = "q";
  p.subtasks = {task("a", "fail a"), task("b", "after a", {"a"}), task("c", "after b", {"b"}),
                task("o", "fail optional"), task("d", "after o", {"o"})};
  p.subtasks[3].optional = true;
  const auto res = run_plan(r, p);
  BOOST_REQUIRE(!res.ec);  // d answered
  const auto& a = res.report.agents;
  BOOST_CHECK(a[0].status == agent_status::failed);
  BOOST_CHECK(a[1].status == agent_status::skipped);
  BOOST_CHECK(a[1].error == error::dependency_failed);
  BOOST_TEST(a[1].diag.message.find("a") != std::string::npos);
  BOOST_CHECK(a[2].status == agent_status::skipped);
  BOOST_CHECK(a[3].status == agent_status::failed);
  BOOST_CHECK(a[4].status == agent_status::ok);
  BOOST_TEST(a[1].attempts == 0);
  BOOST_CHECK(res.report.count(agent_status::skipped) == 2u);
}

BOOST_AUTO_TEST_CASE(an_invalid_plan_is_refused_before_any_call_naming_the_ids) {
  rig r(by_prompt);
  plan p;
  p.question = "q";
  p.subtasks = {task("a", "a", {"b"}), task("b", "b", {"a"})};
  const auto res = run_plan(r, p);
  BOOST_CHECK(res.ec == error::invalid_plan);
  BOOST_TEST(res.report.stop_note.find("a") != std::string::npos);
  BOOST_TEST(res.report.stop_note.find("b") != std::string::npos);
  BOOST_TEST(r.model.seen().empty());
}

BOOST_AUTO_TEST_CASE(vote_takes_the_majority_and_reports_a_tie) {
  for (const bool tie : {false, true}) {
    auto n = std::make_shared<std::atomic<int>>(0);
    rig r([n, tie](const chat_request&) {
      const int k = (*n)++;
      const std::string pick = tie ? (k % 2 ? "Paris" : "Lyon") : (k == 2 ? "Lyon" : "Paris");
      return fake_reply{2ms, "Thinking...\nANSWER: " + pick, {}, 1};
    });
    auto o = quick_options(tie ? 4 : 3);
    o.combine = combine_mode::vote;
    const auto res = ask(r.io, r.eng, "Capital of France?", o);
    BOOST_TEST_INFO("tie " << tie);
    BOOST_REQUIRE(!res.ec);
    BOOST_TEST(res.report.combine == "vote");
    BOOST_TEST(res.report.decomposition_attempts == 0);  // the same question, N times
    BOOST_TEST(res.report.vote_tie == tie);
    BOOST_TEST(res.report.degraded == tie);
    if (!tie) {
      BOOST_TEST(res.report.answer == "Paris");
      BOOST_REQUIRE(res.report.votes.size() == 2u);
      BOOST_TEST(res.report.votes[0].agents.size() == 2u);
    }
    BOOST_TEST(res.report.synthesis_attempts == 0);  // counting needs no call
  }
}

BOOST_AUTO_TEST_CASE(select_returns_the_chosen_answer_verbatim) {
  auto n = std::make_shared<std::atomic<int>>(0);
  rig r([n](const chat_request& req) {
    if (contains(req, "most consistent with the others"))
      return fake_reply{1ms, "The second agrees with both.\nSELECTED: 2", {}, 1};
    return fake_reply{2ms, "answer number " + std::to_string((*n)++), {}, 1};
  });
  auto o = quick_options(3);
  o.combine = combine_mode::select;
  const auto res = ask(r.io, r.eng, "q?", o);
  BOOST_REQUIRE(!res.ec);
  BOOST_REQUIRE(res.report.selected.has_value());
  BOOST_TEST(res.report.answer == res.report.agents[*res.report.selected].answer);
  BOOST_TEST(*res.report.selected == 1u);
  BOOST_TEST(res.report.synthesis_attempts == 1);
}

BOOST_AUTO_TEST_CASE(verify_revises_a_failed_decision_once_per_round) {
  for (const int rounds : {1, 2}) {
    rig r([](const chat_request& req) {
      if (contains(req, "Grade this answer")) {
        // The judge never passes: rounds are what bound the stage.
        return fake_reply{1ms, R"({"verdict": "fail", "critique": "cite a source"})", {}, 1};
      }
      if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged", {}, 1};
      if (last_user(req).starts_with("Revise your answer"))
        return fake_reply{2ms, "revised answer", {}, 1};
      return fake_reply{2ms, "first answer", {}, 1};
    });
    plan p;
    p.question = "q";
    p.subtasks = {task("a", "a"), task("b", "b")};
    p.verify = true;
    p.verify_rounds = rounds;
    const auto res = run_plan(r, p);
    BOOST_TEST_INFO("rounds " << rounds);
    BOOST_REQUIRE(!res.ec);
    BOOST_TEST(res.report.verify_rounds == rounds);
    for (const auto& a : res.report.agents) {
      BOOST_TEST(a.revisions == rounds);
      BOOST_TEST(a.verdict == "fail");
      BOOST_TEST(a.answer == "revised answer");
      BOOST_TEST(a.attempts == 1 + rounds);
    }
    int judged = 0;
    for (const auto& e : res.events) judged += e.kind == event_kind::judged;
    BOOST_TEST(judged == 2 * rounds);
    // A reviser sees the critique and the other decisions, not the other dialogues.
    for (const auto& req : r.model.seen()) {
      if (!last_user(req).starts_with("Revise your answer")) continue;
      BOOST_TEST(contains(req, "cite a source"));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_decomposer_chooses_n_when_the_user_did_not) {
  rig r([](const chat_request& req) {
    if (contains(req, "split a large question")) {
      BOOST_TEST(contains(req, "Choose how many sub-questions"));
      return fake_reply{
          1ms,
          R"({"subtasks": [{"id": "a", "prompt": "one"}, {"id": "b", "prompt": "two"}]})",
          {},
          1};
    }
    if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged", {}, 1};
    return fake_reply{1ms, "ok", {}, 1};
  });
  const auto res = ask(r.io, r.eng, "compare a and b", quick_options(0));
  BOOST_REQUIRE(!res.ec);
  BOOST_TEST(res.report.agents.size() == 2u);
  BOOST_TEST(res.report.agents[1].id == "b");
}

BOOST_AUTO_TEST_CASE(replaying_the_jsonl_events_rebuilds_the_report_exactly) {
  rig r([](const chat_request& req) {
    if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged answer", {}, 2};
    return by_prompt(req);
  });
  plan p;
  p.question = "diamond";
  p.subtasks = {task("a", "fast a"), task("b", "fast b", {"a"}), task("c", "fail c", {"a"}),
                task("d", "fast d", {"b", "c"})};
  auto lines = std::make_shared<std::vector<std::string>>();
  auto o = quick_options(0);
  o.observers.push_back(
      [lines](const event& e, const progress_map&) { lines->push_back(to_json_line(e)); });
  const auto res = run_plan(r, p, o);
  BOOST_REQUIRE(!res.ec);
  report_fold fold;
  for (const auto& line : *lines) {
    event e;
    std::string why;
    BOOST_REQUIRE_MESSAGE(from_json_line(line, e, why), why << ": " << line);
    fold.apply(e);
  }
  BOOST_TEST(boost::json::serialize(to_json(fold.report())) ==
             boost::json::serialize(to_json(res.report)));
  // And in process, the events the observer saw fold into the very report returned.
  report_fold direct;
  for (const auto& e : res.events) direct.apply(e);
  BOOST_TEST(boost::json::serialize(to_json(direct.report())) ==
             boost::json::serialize(to_json(res.report)));
  BOOST_CHECK(res.report.agents[3].status == agent_status::skipped);
}

BOOST_AUTO_TEST_SUITE_END()
