#include <conclave/engine/plan.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <set>

namespace unit_test_plan_state {  // file-local names stay apart in unity batches

using namespace conclave;

namespace {

using list = std::vector<std::string>;
using indices = std::vector<std::size_t>;

subtask task(std::string id, list deps = {}, list exclusive = {}, int priority = 0,
             bool optional = false) {
  subtask t;
  t.prompt = "Work on " + id;
  t.id = std::move(id);
  t.depends_on = std::move(deps);
  t.exclusive = std::move(exclusive);
  t.priority = priority;
  t.optional = optional;
  return t;
}

plan make_plan(std::vector<subtask> tasks) {
  plan p;
  p.question = "Q?";
  p.subtasks = std::move(tasks);
  return p;
}

// Finishes `i` and checks which subtasks it skipped.
void finish(plan_state& s, std::size_t i, bool ok, const indices& skipped = {}) {
  const auto got = s.finish(i, ok);
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), skipped.begin(), skipped.end());
}

void starts(plan_state& s, const indices& expected) {
  const auto got = s.start_ready();
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), expected.begin(), expected.end());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plan_state_logic)

BOOST_AUTO_TEST_CASE(names) {
  BOOST_CHECK_EQUAL(to_string(subtask_status::waiting), "waiting");
  BOOST_CHECK_EQUAL(to_string(subtask_status::running), "running");
  BOOST_CHECK_EQUAL(to_string(subtask_status::succeeded), "ok");
  BOOST_CHECK_EQUAL(to_string(subtask_status::failed), "failed");
  BOOST_CHECK_EQUAL(to_string(subtask_status::skipped), "skipped");
}

BOOST_AUTO_TEST_CASE(chain_runs_one_at_a_time) {
  plan_state s(make_plan({task("a"), task("b", {"a"}), task("c", {"b"})}), 4);
  BOOST_CHECK_EQUAL(s.size(), 3u);
  BOOST_CHECK(s.dependencies(2) == indices{1});
  for (std::size_t i = 0; i < 3; ++i) {
    starts(s, {i});
    starts(s, {});
    BOOST_CHECK_EQUAL(s.running(), 1u);
    BOOST_CHECK(!s.done());
    finish(s, i, true);
  }
  BOOST_CHECK(s.done());
  BOOST_CHECK(s.status(2) == subtask_status::succeeded);
}

BOOST_AUTO_TEST_CASE(diamond_runs_the_middle_together) {
  plan_state s(make_plan({task("a"), task("b", {"a"}), task("c", {"a"}), task("d", {"b", "c"})}),
               4);
  starts(s, {0});
  finish(s, 0, true);
  starts(s, {1, 2});
  finish(s, 1, true);
  starts(s, {});  // d still needs c
  finish(s, 2, true);
  starts(s, {3});
  finish(s, 3, true);
  BOOST_CHECK(s.done());
}

BOOST_AUTO_TEST_CASE(wide_plan_fills_the_slots_in_priority_order) {
  std::vector<subtask> tasks;
  for (int i = 0; i < 20; ++i) tasks.push_back(task("t" + std::to_string(i), {}, {}, i % 3));
  plan_state s(make_plan(std::move(tasks)), 4);
  // Priority 2 first (2, 5, 8, 11, 14, 17), ties in plan order.
  starts(s, {2, 5, 8, 11});
  BOOST_CHECK_EQUAL(s.running(), 4u);
  starts(s, {});
  finish(s, 5, true);
  starts(s, {14});
  finish(s, 2, false);
  finish(s, 8, true);
  starts(s, {17, 1});  // then priority 1
  BOOST_CHECK_EQUAL(s.running(), 4u);
  std::size_t finished = 3;
  while (!s.done()) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.status(i) == subtask_status::running) {
        s.finish(i, true);
        ++finished;
      }
    }
    BOOST_CHECK_LE(s.start_ready().size(), 4u);
  }
  BOOST_CHECK_EQUAL(finished, 20u);
}

BOOST_AUTO_TEST_CASE(exclusive_resources_are_held_one_at_a_time) {
  plan_state s(make_plan({task("x", {}, {"gpu"}), task("y", {}, {"gpu", "disk"}), task("z")}), 4);
  starts(s, {0, 2});  // y waits for the gpu; z runs beside x
  starts(s, {});
  finish(s, 2, true);
  starts(s, {});
  finish(s, 0, true);
  starts(s, {1});
  finish(s, 1, true);
  BOOST_CHECK(s.done());
}

BOOST_AUTO_TEST_CASE(a_blocked_high_priority_subtask_never_blocks_a_lower_one) {
  {  // blocked by a resource
    plan_state s(make_plan({task("holder", {}, {"gpu"}, 10), task("hi", {}, {"gpu"}, 9),
                            task("lo", {}, {}, 0)}),
                 3);
    starts(s, {0, 2});
    finish(s, 0, true);
    starts(s, {1});
  }
  {  // blocked by a dependency, then by a resource, with two slots
    plan_state s(make_plan({task("hi", {"a"}, {}, 9), task("mid", {}, {"gpu"}, 5),
                            task("lo", {}, {}, 1), task("a", {}, {"gpu"}, 0)}),
                 2);
    starts(s, {1, 2});
    finish(s, 2, true);
    starts(s, {});  // hi needs a, a needs the gpu
    finish(s, 1, true);
    starts(s, {3});
    finish(s, 3, true);
    starts(s, {0});
  }
}

BOOST_AUTO_TEST_CASE(failure_skips_dependents_transitively_with_reasons) {
  plan_state s(make_plan({task("a"), task("b", {"a"}), task("c", {"b"}), task("d"),
                          task("e", {"c", "d"}), task("f", {"a"}, {}, 0, true), task("g", {"f"})}),
               8);
  starts(s, {0, 3});
  finish(s, 0, false, {1, 2, 4, 5});
  BOOST_CHECK_EQUAL(s.skip_reason(1), "dependency a failed");
  BOOST_CHECK_EQUAL(s.skip_reason(2), "dependency b was skipped");
  BOOST_CHECK_EQUAL(s.skip_reason(4), "dependency c was skipped");
  BOOST_CHECK_EQUAL(s.skip_reason(5), "dependency a failed");
  BOOST_CHECK(s.status(5) == subtask_status::skipped);
  BOOST_CHECK_EQUAL(s.skip_reason(3), "");
  starts(s, {6});  // f is optional: g runs without it
  finish(s, 6, true);
  finish(s, 3, true);
  BOOST_CHECK(s.done());
  BOOST_CHECK(s.status(0) == subtask_status::failed);
}

BOOST_AUTO_TEST_CASE(an_optional_failure_lets_dependents_run) {
  plan_state s(make_plan({task("a", {}, {}, 0, true), task("b", {"a"})}), 2);
  starts(s, {0});
  finish(s, 0, false, {});
  starts(s, {1});
  finish(s, 1, true);
  BOOST_CHECK(s.done());
}

BOOST_AUTO_TEST_CASE(skip_waiting_leaves_running_ones_to_finish) {
  plan_state s(make_plan({task("a"), task("b", {"a"}), task("c", {"b"})}), 2);
  starts(s, {0});
  const auto skipped = s.skip_waiting("the run was cancelled");
  BOOST_CHECK(skipped == (indices{1, 2}));
  BOOST_CHECK_EQUAL(s.skip_reason(2), "the run was cancelled");
  BOOST_CHECK(!s.done());
  starts(s, {});
  finish(s, 0, false, {});  // already skipped: nothing more to skip
  BOOST_CHECK(s.done());
  BOOST_CHECK(s.skip_waiting("again").empty());
  BOOST_CHECK_THROW(s.finish(0, true), std::logic_error);
}

BOOST_AUTO_TEST_CASE(zero_slots_means_one) {
  plan_state s(make_plan({task("a"), task("b")}), 0);
  starts(s, {0});
}

// Random valid plans, finished in random order: the invariants hold and every run ends.
BOOST_AUTO_TEST_CASE(never_stuck) {
  std::mt19937 rng(20240611);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const list resources = {"gpu", "disk", "net"};
  for (int round = 0; round < 400; ++round) {
    const int n = pick(1, 30);
    // Dependencies point to earlier ids (a DAG); the plan order is then shuffled.
    std::vector<subtask> tasks;
    for (int i = 0; i < n; ++i) {
      list deps, exclusive;
      for (int j = 0; j < i; ++j) {
        if (pick(0, 5) == 0) deps.push_back("t" + std::to_string(j));
      }
      for (const auto& r : resources) {
        if (pick(0, 3) == 0) exclusive.push_back(r);
      }
      tasks.push_back(task("t" + std::to_string(i), deps, exclusive, pick(-2, 2), pick(0, 3) == 0));
    }
    std::shuffle(tasks.begin(), tasks.end(), rng);
    const plan p = make_plan(tasks);
    BOOST_REQUIRE(!validate(p));
    const std::size_t max_running = static_cast<std::size_t>(pick(1, 5));
    plan_state s(p, max_running);

    std::vector<std::size_t> running;
    int steps = 0;
    while (!s.done()) {
      BOOST_REQUIRE_LT(++steps, 1000);
      const auto started = s.start_ready();
      // Deadlock-freedom: nothing running and something waiting means something starts.
      BOOST_REQUIRE(!(running.empty() && started.empty()));
      for (std::size_t i : started) {
        for (std::size_t d : s.dependencies(i)) {
          const auto st = s.status(d);
          BOOST_REQUIRE(st == subtask_status::succeeded ||
                        (p.subtasks[d].optional &&
                         (st == subtask_status::failed || st == subtask_status::skipped)));
        }
        running.push_back(i);
      }
      BOOST_REQUIRE_EQUAL(s.running(), running.size());
      BOOST_REQUIRE_LE(running.size(), max_running);
      std::multiset<std::string> held;
      for (std::size_t i : running) {
        const std::set<std::string> mine(p.subtasks[i].exclusive.begin(),
                                         p.subtasks[i].exclusive.end());
        held.insert(mine.begin(), mine.end());
      }
      for (const auto& r : resources) BOOST_REQUIRE_LE(held.count(r), 1u);

      const std::size_t at =
          static_cast<std::size_t>(pick(0, static_cast<int>(running.size()) - 1));
      const std::size_t i = running[at];
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(at));
      for (std::size_t k : s.finish(i, pick(0, 4) != 0)) {
        BOOST_REQUIRE(s.status(k) == subtask_status::skipped);
        BOOST_REQUIRE(!s.skip_reason(k).empty());
      }
      if (round % 50 == 0 && steps == 3) s.skip_waiting("out of budget");
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto st = s.status(i);
      BOOST_REQUIRE(st == subtask_status::succeeded || st == subtask_status::failed ||
                    st == subtask_status::skipped);
      // A subtask ran only when its dependencies allowed it; one skipped has a reason.
      BOOST_REQUIRE_EQUAL(st == subtask_status::skipped, !s.skip_reason(i).empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(every_invalid_shape_is_named) {
  std::vector<subtask> many;
  for (int i = 0; i < 10'001; ++i) many.push_back(task("t" + std::to_string(i)));
  auto with = [](std::vector<subtask> tasks, auto change) {
    plan p = make_plan(std::move(tasks));
    change(p);
    return p;
  };
  auto same = [](plan&) {};
  struct row {
    const char* name;
    plan p;
    std::string message;
    list ids;
  };
  const row rows[] = {
      {"empty", plan{}, "the plan has no subtasks", {}},
      {"too many", make_plan(many), "the plan has 10001 subtasks; at most 10000 are allowed", {}},
      {"bad ids",
       make_plan({task("ok"), task("a b"), task(""), task(std::string(65, 'x')), task("é")}),
       "bad subtask ids (1-64 of A-Za-z0-9_.-): \"a b\", \"\", \"" + std::string(64, 'x') +
           "...\", \"é\"",
       {"a b", "", std::string(65, 'x'), "é"}},
      {"duplicate ids",
       make_plan({task("a"), task("b"), task("a"), task("c"), task("b"), task("a")}),
       "duplicate subtask ids: a, b",
       {"a", "b"}},
      {"blank prompt",
       with({task("a"), task("b"), task("c")},
            [](plan& p) {
              p.subtasks[1].prompt = " \n\t";
              p.subtasks[2].prompt = "";
            }),
       "blank prompt in subtasks: b, c",
       {"b", "c"}},
      {"unknown dependency",
       make_plan({task("a"), task("b", {"a", "z"})}),
       "subtask b depends on unknown id: z",
       {"b"}},
      {"unknown dependencies",
       make_plan({task("a", {"x", "y"}), task("b", {"z"})}),
       "subtask a depends on unknown ids: x, y; subtask b depends on unknown id: z",
       {"a", "b"}},
      {"self dependency",
       make_plan({task("a"), task("b", {"a", "b"})}),
       "subtask b depends on itself",
       {"b"}},
      {"three-cycle",
       make_plan({task("d"), task("a", {"c", "d"}), task("b", {"a"}), task("c", {"b"}),
                  task("e", {"a"})}),
       "dependency cycle: a -> c -> b -> a",
       {"a", "b", "c"}},
      {"two cycles",
       make_plan({task("x", {"y"}), task("y", {"x"}), task("p", {"q"}), task("q", {"p"}),
                  task("r", {"x"})}),
       "dependency cycle: x -> y -> x",
       {"x", "y", "p", "q"}},
      {"empty resource",
       make_plan({task("a", {}, {"gpu", ""}), task("b", {}, {"gpu"})}),
       "empty exclusive resource name in subtasks: a",
       {"a"}},
      {"verify rounds",
       with({task("a")}, [](plan& p) { p.verify_rounds = 9; }),
       "verify_rounds 9 is outside 0..3",
       {}},
      {"valid", with({task("a"), task("b", {"a"}, {"gpu"}, 3, true)}, same), "", {}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const auto got = validate(r.p);
      BOOST_REQUIRE_EQUAL(got.has_value(), !r.message.empty());
      if (!got) continue;
      BOOST_CHECK_EQUAL(got->message, r.message);
      BOOST_CHECK_EQUAL_COLLECTIONS(got->ids.begin(), got->ids.end(), r.ids.begin(), r.ids.end());
    }
  }
  BOOST_CHECK(validate(make_plan(many), 10'001) == std::nullopt);
  BOOST_CHECK_EQUAL(validate(make_plan({task("a"), task("b")}), 1)->message,
                    "the plan has 2 subtasks; at most 1 are allowed");
}

BOOST_AUTO_TEST_CASE(combine_mode_names) {
  for (auto m : {combine_mode::synthesize, combine_mode::vote, combine_mode::select}) {
    BOOST_CHECK(combine_mode_from(to_string(m)) == m);
  }
  BOOST_CHECK_EQUAL(to_string(combine_mode::vote), "vote");
  BOOST_CHECK(!combine_mode_from("Vote"));
  BOOST_CHECK(!combine_mode_from(""));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_plan_state
