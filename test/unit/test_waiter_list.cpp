#include <conclave/engine/waiter_list.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <climits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace unit_test_waiter_list {  // file-local names stay apart in unity batches

using list = conclave::waiter_list<std::string>;

namespace {

// What the list should hold, kept the obvious way: a vector sorted on demand.
struct reference_model {
  struct entry {
    list::id_type id;
    int priority;
    std::string value;
  };
  std::vector<entry> waiting;

  std::vector<entry> in_service_order() const {
    auto out = waiting;
    std::stable_sort(out.begin(), out.end(), [](const entry& a, const entry& b) {
      return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
    });
    return out;
  }
};

std::vector<std::string> drain(list& l) {
  std::vector<std::string> out;
  while (auto v = l.pop()) out.push_back(*v);
  return out;
}

// A value whose move can be told to throw, for push's exception safety.
struct fragile {
  explicit fragile(bool b) : boom(b) {}
  fragile(fragile&& o) : boom(o.boom) {
    if (boom) throw std::runtime_error("no memory");
  }
  fragile& operator=(fragile&&) = default;
  bool boom;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(waiter_list)

BOOST_AUTO_TEST_CASE(an_empty_list_has_nothing_to_give) {
  list l;
  BOOST_CHECK(l.empty());
  BOOST_CHECK_EQUAL(l.size(), 0u);
  BOOST_CHECK(!l.pop());
  BOOST_CHECK(l.front() == nullptr);
  BOOST_CHECK(!l.remove(1));
  BOOST_CHECK(!l.position(1));
  BOOST_CHECK(l.find(1) == nullptr);
  BOOST_CHECK(!l.contains(0));
}

BOOST_AUTO_TEST_CASE(higher_priority_is_served_first) {
  list l;
  l.push("low", -5);
  l.push("normal");
  l.push("high", 7);
  l.push("higher", 8);
  BOOST_CHECK_EQUAL(*l.front(), "higher");
  const std::vector<std::string> want{"higher", "high", "normal", "low"};
  BOOST_CHECK(drain(l) == want);
  BOOST_CHECK(l.empty());
}

BOOST_AUTO_TEST_CASE(first_come_first_served_within_a_priority) {
  list l;
  for (int i = 0; i < 5; ++i) {
    l.push("a" + std::to_string(i), 1);
    l.push("b" + std::to_string(i), 0);
  }
  const std::vector<std::string> want{"a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"};
  BOOST_CHECK(drain(l) == want);
}

BOOST_AUTO_TEST_CASE(a_late_high_priority_waiter_overtakes_but_not_its_equals) {
  list l;
  l.push("first", 2);
  l.push("second");
  l.pop();  // "first" served
  l.push("urgent", 2);
  l.push("third");
  const std::vector<std::string> want{"urgent", "second", "third"};
  BOOST_CHECK(drain(l) == want);
}

BOOST_AUTO_TEST_CASE(extreme_priorities_order_correctly) {
  // INT_MIN could not be negated: the order must not depend on it.
  list l;
  l.push("min", INT_MIN);
  l.push("max", INT_MAX);
  l.push("zero", 0);
  l.push("min2", INT_MIN);
  l.push("max2", INT_MAX);
  const std::vector<std::string> want{"max", "max2", "zero", "min", "min2"};
  std::vector<int> priorities;
  l.for_each([&](list::id_type, int p, const std::string&) { priorities.push_back(p); });
  BOOST_CHECK(priorities == (std::vector<int>{INT_MAX, INT_MAX, 0, INT_MIN, INT_MIN}));
  BOOST_CHECK(drain(l) == want);
}

BOOST_AUTO_TEST_CASE(ids_are_distinct_and_never_reused) {
  list l;
  const auto a = l.push("a");
  const auto b = l.push("b");
  BOOST_CHECK_NE(a, b);
  l.pop();
  l.pop();
  const auto c = l.push("c");
  BOOST_CHECK_NE(c, a);
  BOOST_CHECK_NE(c, b);
  BOOST_CHECK(!l.remove(a));  // an old id names nobody, even with the list refilled
  BOOST_CHECK_EQUAL(l.size(), 1u);
}

BOOST_AUTO_TEST_CASE(remove_takes_a_waiter_out_and_says_nothing_for_a_served_one) {
  list l;
  const auto a = l.push("a");
  const auto b = l.push("b");
  const auto c = l.push("c");
  auto got = l.remove(b);
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(*got, "b");
  BOOST_CHECK(!l.contains(b));
  BOOST_CHECK(!l.remove(b));  // twice: the second finds nothing
  BOOST_CHECK_EQUAL(*l.pop(), "a");
  BOOST_CHECK(!l.remove(a));  // served: nothing to take back, nothing changes
  BOOST_CHECK_EQUAL(l.size(), 1u);
  BOOST_CHECK(l.contains(c));
  BOOST_CHECK_EQUAL(*l.remove(c), "c");
  BOOST_CHECK(l.empty());
}

BOOST_AUTO_TEST_CASE(position_counts_those_ahead) {
  list l;
  const auto a = l.push("a");
  const auto b = l.push("b");
  const auto hi = l.push("hi", 3);
  BOOST_CHECK_EQUAL(*l.position(hi), 0u);
  BOOST_CHECK_EQUAL(*l.position(a), 1u);
  BOOST_CHECK_EQUAL(*l.position(b), 2u);
  l.remove(a);
  BOOST_CHECK_EQUAL(*l.position(b), 1u);
  BOOST_CHECK(!l.position(a));
  l.pop();
  BOOST_CHECK_EQUAL(*l.position(b), 0u);
  l.pop();
  BOOST_CHECK(!l.position(b));
}

BOOST_AUTO_TEST_CASE(find_gives_a_waiting_value_to_change_in_place) {
  list l;
  const auto a = l.push("a");
  std::string* v = l.find(a);
  BOOST_REQUIRE(v);
  *v = "changed";
  BOOST_CHECK_EQUAL(*l.front(), "changed");
  l.pop();
  BOOST_CHECK(l.find(a) == nullptr);
}

BOOST_AUTO_TEST_CASE(for_each_visits_in_service_order_with_ids_and_priorities) {
  list l;
  const auto a = l.push("a", 1);
  const auto b = l.push("b", 5);
  const auto c = l.push("c", 1);
  std::vector<list::id_type> ids;
  std::vector<int> priorities;
  std::string values;
  l.for_each([&](list::id_type id, int p, const std::string& v) {
    ids.push_back(id);
    priorities.push_back(p);
    values += v;
  });
  BOOST_CHECK(ids == (std::vector<list::id_type>{b, a, c}));
  BOOST_CHECK(priorities == (std::vector<int>{5, 1, 1}));
  BOOST_CHECK_EQUAL(values, "bac");
  BOOST_CHECK_EQUAL(l.size(), 3u);  // visiting leaves everyone in place
}

BOOST_AUTO_TEST_CASE(holds_move_only_values) {
  conclave::waiter_list<std::unique_ptr<int>> l;
  const auto a = l.push(std::make_unique<int>(1));
  l.push(std::make_unique<int>(2), 1);
  auto first = l.pop();
  BOOST_REQUIRE(first && *first);
  BOOST_CHECK_EQUAL(**first, 2);
  auto removed = l.remove(a);
  BOOST_REQUIRE(removed && *removed);
  BOOST_CHECK_EQUAL(**removed, 1);
}

BOOST_AUTO_TEST_CASE(a_push_that_throws_leaves_the_list_as_it_was) {
  conclave::waiter_list<fragile> l;
  const auto a = l.push(fragile(false));
  BOOST_CHECK_THROW(l.push(fragile(true), 4), std::runtime_error);
  BOOST_CHECK_EQUAL(l.size(), 1u);
  BOOST_CHECK_EQUAL(*l.position(a), 0u);
  const auto b = l.push(fragile(false));
  BOOST_CHECK_EQUAL(*l.position(b), 1u);
  BOOST_CHECK(l.remove(a));
  BOOST_CHECK(l.remove(b));
  BOOST_CHECK(l.empty());
}

BOOST_AUTO_TEST_CASE(many_random_operations_agree_with_a_reference_model) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng(seed);
      list l;
      reference_model ref;
      std::vector<list::id_type> ever;  // every id handed out, waiting or not
      auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
      };
      for (int step = 0; step < 3000; ++step) {
        const auto op = pick(10);
        if (op < 4) {
          static const int priorities[] = {INT_MIN, -1, 0, 0, 0, 1, 2, INT_MAX};
          const int p = priorities[pick(8)];
          const std::string v = "v" + std::to_string(step);
          const auto id = l.push(v, p);
          BOOST_REQUIRE(std::find(ever.begin(), ever.end(), id) == ever.end());
          ever.push_back(id);
          ref.waiting.push_back({id, p, v});
        } else if (op < 6) {
          const auto want = ref.in_service_order();
          auto got = l.pop();
          if (want.empty()) {
            BOOST_REQUIRE(!got);
          } else {
            BOOST_REQUIRE(got);
            BOOST_REQUIRE_EQUAL(*got, want.front().value);
            std::erase_if(ref.waiting, [&](const auto& e) { return e.id == want.front().id; });
          }
        } else if (op < 8 && !ever.empty()) {
          // Remove any id ever given: waiting ones come out, served or removed ones do not.
          const auto id = ever[pick(ever.size())];
          auto it = std::find_if(ref.waiting.begin(), ref.waiting.end(),
                                 [&](const auto& e) { return e.id == id; });
          auto got = l.remove(id);
          if (it == ref.waiting.end()) {
            BOOST_REQUIRE(!got);
          } else {
            BOOST_REQUIRE(got);
            BOOST_REQUIRE_EQUAL(*got, it->value);
            ref.waiting.erase(it);
          }
        } else if (!ever.empty()) {
          const auto id = ever[pick(ever.size())];
          const auto want = ref.in_service_order();
          auto it =
              std::find_if(want.begin(), want.end(), [&](const auto& e) { return e.id == id; });
          const auto pos = l.position(id);
          BOOST_REQUIRE_EQUAL(l.contains(id), it != want.end());
          BOOST_REQUIRE_EQUAL(l.find(id) != nullptr, it != want.end());
          if (it == want.end()) {
            BOOST_REQUIRE(!pos);
          } else {
            BOOST_REQUIRE(pos);
            BOOST_REQUIRE_EQUAL(*pos, static_cast<std::size_t>(it - want.begin()));
            BOOST_REQUIRE_EQUAL(*l.find(id), it->value);
          }
        }
        // The whole list, every step: size, front and the visiting order.
        const auto want = ref.in_service_order();
        BOOST_REQUIRE_EQUAL(l.size(), want.size());
        BOOST_REQUIRE_EQUAL(l.empty(), want.empty());
        BOOST_REQUIRE_EQUAL(l.front() == nullptr, want.empty());
        if (!want.empty()) BOOST_REQUIRE_EQUAL(*l.front(), want.front().value);
        std::size_t i = 0;
        bool same = true;
        l.for_each([&](list::id_type id, int p, const std::string& v) {
          same = same && i < want.size() && want[i].id == id && want[i].priority == p &&
                 want[i].value == v;
          ++i;
        });
        BOOST_REQUIRE(same && i == want.size());
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_waiter_list
