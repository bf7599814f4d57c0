// Plans over the fake model: subtasks start as their own dependencies finish (no superstep),
// exclusive ones never overlap, failed dependencies skip their dependents, the ways to combine,
// the bounded verify stage, the decomposer choosing N, and the report as a fold of the events.
#include "ask_fixture.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/report_fold.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>

namespace engine_test_plans {  // file-local names stay apart in unity batches

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

// Runs the plan (async_ask on `p.question` when `ask_question`), cancelled after `cancel_after`
// when given; then checks that nothing was left running.
ask_result run_plan(rig& r, plan p, ask_options opts = quick_options(0),
                    std::optional<std::chrono::microseconds> cancel_after = std::nullopt,
                    bool ask_question = false) {
  auto result = std::make_shared<ask_result>();
  opts.observers.push_back(
      [result](const event& ev, const progress_map&) { result->events.push_back(ev); });
  bool done = false;
  boost::asio::cancellation_signal cancel;
  auto handler = boost::asio::bind_cancellation_slot(
      cancel.slot(), [&, result](boost::system::error_code ec, run_report rep) {
        result->ec = ec;
        result->report = std::move(rep);
        done = true;
      });
  if (ask_question) {
    async_ask(r.eng, p.question, std::move(opts), std::move(handler));
  } else {
    async_run_plan(r.eng, std::move(p), std::move(opts), std::move(handler));
  }
  boost::asio::steady_timer timer(r.io);
  if (cancel_after) {
    timer.expires_after(*cancel_after);
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec && !done) cancel.emit(boost::asio::cancellation_type::terminal);
    });
  }
  BOOST_REQUIRE_MESSAGE(pump_until(
                            r.io, [&] { return done; }, 20s),
                        "the plan did not finish");
  timer.cancel();
  expect_no_leftover_work(r.io);
  return *result;
}

// Every subtask has exactly one last event before any revision, and a named entry.
void expect_one_end_each(const ask_result& res, std::size_t n) {
  std::vector<int> ends(n, 0);
  for (const auto& e : res.events) {
    if (e.agent && is_terminal(e.kind) && *e.agent < n) ++ends[*e.agent];
  }
  BOOST_REQUIRE_EQUAL(res.report.agents.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    BOOST_TEST_INFO("agent " << i);
    BOOST_CHECK_EQUAL(ends[i], 1);
    BOOST_CHECK(!res.report.agents[i].sub_question.empty());
    BOOST_CHECK(res.report.agents[i].status == agent_status::ok ||
                res.report.agents[i].error);  // never a blank "not ok" with no reason
  }
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

// A cancel swept across the moment the first agents finish: the run always completes, every
// subtask ends exactly once, and no dependent starts after the cancel (asio#1241: a cancelled
// wait on the executor's channel must never lose a report nor the cancel itself).
BOOST_AUTO_TEST_CASE(a_cancel_at_any_moment_ends_every_subtask_once) {
  rig r([](const chat_request& req) {
    const std::string ask = last_user(req);
    return ask.starts_with("slow") ? fake_reply{300ms, "late", {}, 1}
                                   : fake_reply{5ms, "quick", {}, 1};
  });
  plan p;
  p.question = "q";
  for (int i = 0; i < 6; ++i) {
    const std::string k = std::to_string(i);
    p.subtasks.push_back(task("f" + k, "fast " + k));
    p.subtasks.push_back(task("s" + k, "slow " + k, {"f" + k}));
  }
  for (int step = 0; step <= 40; ++step) {
    const auto at = std::chrono::microseconds(4000 + step * 125);
    BOOST_TEST_INFO("cancel after " << at.count() << " us");
    const auto res = run_plan(r, p, quick_options(0), at);
    BOOST_CHECK(res.ec == error::cancelled);
    expect_one_end_each(res, p.subtasks.size());
    for (std::size_t i = 1; i < p.subtasks.size(); i += 2) {
      BOOST_CHECK(res.report.agents[i].status != agent_status::ok);  // none ran its 300 ms
    }
    BOOST_CHECK_LT(res.report.wall, 250ms);
  }
}

BOOST_AUTO_TEST_CASE(a_cancel_during_decomposition_or_verify_ends_cleanly) {
  rig r([](const chat_request& req) {
    if (contains(req, "split a large question"))
      return fake_reply{200ms, R"(["one?", "two?"])", {}, 1};
    if (contains(req, "Grade this answer"))
      return fake_reply{200ms, R"({"verdict": "fail", "critique": "x"})", {}, 1};
    if (contains(req, "merge the decisions")) return fake_reply{1ms, "merged", {}, 1};
    return fake_reply{2ms, "answer", {}, 1};
  });
  plan q;
  q.question = "a question long enough to be split into parts";
  auto o = quick_options(2);
  const auto decomposing = run_plan(r, q, o, 20ms, /*ask_question=*/true);
  BOOST_CHECK(decomposing.ec == error::cancelled);
  expect_one_end_each(decomposing, 1);  // the fallback subtask, said cancelled
  BOOST_CHECK(decomposing.report.agents[0].status == agent_status::cancelled);

  plan v;
  v.question = "q";
  v.subtasks = {task("a", "a"), task("b", "b")};
  v.verify = true;
  const auto before = r.model.seen().size();
  const auto verifying = run_plan(r, v, quick_options(0), 50ms);
  BOOST_CHECK(verifying.ec == error::cancelled);
  std::size_t merges = 0, revisions = 0;
  const auto seen = r.model.seen();
  for (std::size_t k = before; k < seen.size(); ++k) {
    merges += contains(seen[k], "merge the decisions");
    revisions += last_user(seen[k]).starts_with("Revise your answer");
  }
  BOOST_CHECK_EQUAL(merges, 0u);  // nothing is paid for after the cancel
  BOOST_CHECK_EQUAL(revisions, 0u);
  BOOST_CHECK_LT(verifying.report.wall, 150ms);
}

BOOST_AUTO_TEST_CASE(replay_holds_for_vote_select_and_verify_too) {
  for (const auto mode : {combine_mode::vote, combine_mode::select}) {
    auto n = std::make_shared<std::atomic<int>>(0);
    rig r([n](const chat_request& req) {
      if (contains(req, "Grade this answer")) {
        return fake_reply{1ms,
                          (*n)++ % 2 ? R"({"verdict": "pass", "critique": "fine"})"
                                     : R"({"verdict": "fail", "critique": "cite"})",
                          {},
                          1};
      }
      if (contains(req, "most consistent with the others"))
        return fake_reply{1ms, "SELECTED: 2", {}, 1};
      return fake_reply{2ms, "words\nANSWER: " + std::to_string((*n)++ % 2), {}, 1};
    });
    plan p;
    p.question = "q";
    p.subtasks = {task("a", "fast a"), task("b", "fast b"), task("c", "fail c")};
    p.combine = mode;
    p.verify = true;
    auto lines = std::make_shared<std::vector<std::string>>();
    auto o = quick_options(0);
    o.observers.push_back(
        [lines](const event& e, const progress_map&) { lines->push_back(to_json_line(e)); });
    const auto res = run_plan(r, p, o);
    report_fold fold;
    for (const auto& line : *lines) {
      event e;
      std::string why;
      BOOST_REQUIRE_MESSAGE(from_json_line(line, e, why), why << ": " << line);
      fold.apply(e);
    }
    BOOST_TEST_INFO(to_string(mode));
    BOOST_TEST(boost::json::serialize(to_json(fold.report())) ==
               boost::json::serialize(to_json(res.report)));
    BOOST_TEST(fold.report().sub_questions == res.report.sub_questions);
  }
}

BOOST_AUTO_TEST_CASE(hostile_event_lines_are_refused_not_folded) {
  report_fold fold;
  for (
      const char* line :
      {R"({"event":"completed","t_ms":1,"agent":1000000000,"report":{"agent":1,"status":"ok"}})",
       R"({"event":"decomposed","t_ms":1,"count":999999999,"run":{}})",
       R"({"event":"completed","t_ms":1,"agent":1,"report":{"agent":1,"status":"bogus"}})",
       R"({"event":"completed","t_ms":1,"agent":1,"report":{"agent":1,"tokens":{"input_tokens":"x"}}})",
       R"({"event":"nope","t_ms":1})", "[]", "{", ""}) {
    event e;
    std::string why;
    BOOST_TEST_INFO(line);
    BOOST_CHECK(!from_json_line(line, e, why));
    BOOST_CHECK(!why.empty());
  }
  event huge;
  huge.kind = event_kind::decomposed;
  huge.count = 1'000'000'000;
  huge.run = std::make_shared<run_report>();
  fold.apply(huge);
  BOOST_CHECK(fold.report().agents.empty());
}

// The fold keeps ended agents' entries as their events carry them until the whole report is
// asked for; before and after, it reads the same.
BOOST_AUTO_TEST_CASE(a_fold_reads_the_same_before_and_after_its_agents_vector_is_made) {
  auto ended = [](event_kind kind, std::size_t agent, std::string answer) {
    event e;
    e.kind = kind;
    e.agent = agent;
    auto rep = std::make_shared<agent_report>();
    rep->index = 99;  // the event's agent number wins
    rep->status = agent_status::ok;
    rep->answer = std::move(answer);
    e.report = rep;
    return e;
  };
  report_fold fold;
  event plan;
  plan.kind = event_kind::decomposed;
  plan.count = 3;
  plan.run = std::make_shared<run_report>();
  fold.apply(plan);
  fold.apply(ended(event_kind::completed, 2, "two"));
  BOOST_CHECK(fold.agent(0) == nullptr);  // not ended yet
  BOOST_REQUIRE(fold.agent(2) != nullptr);
  BOOST_CHECK_EQUAL(fold.agent(2)->answer, "two");
  BOOST_CHECK(fold.agent(3) == nullptr);

  fold.apply(ended(event_kind::completed, 4, "past the plan"));  // a longer replay
  const run_report& whole = fold.report();
  BOOST_REQUIRE_EQUAL(whole.agents.size(), 5u);
  for (std::size_t i = 0; i < whole.agents.size(); ++i) BOOST_CHECK_EQUAL(whole.agents[i].index, i);
  BOOST_CHECK_EQUAL(whole.agents[2].answer, "two");
  BOOST_CHECK_EQUAL(whole.agents[4].answer, "past the plan");
  BOOST_CHECK(whole.agents[0].status == agent_status::cancelled);  // a default entry

  fold.apply(ended(event_kind::completed, 0, "zero"));  // into the vector now
  fold.apply(ended(event_kind::judged, 2, "two, revised"));
  BOOST_CHECK_EQUAL(fold.report().agents[0].answer, "zero");
  BOOST_CHECK_EQUAL(fold.agent(2)->answer, "two, revised");
  BOOST_CHECK_EQUAL(fold.agent(2)->index, 2u);
  const run_report taken = fold.take();
  BOOST_CHECK_EQUAL(taken.agents.size(), 5u);
  BOOST_CHECK_EQUAL(taken.agents[0].answer, "zero");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_plans
