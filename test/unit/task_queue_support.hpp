// Helpers shared by serve's task queue tests: a fixed clock, counted ids, submit and start.
#pragma once

#include <conclave/serve/task_queue.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <functional>
#include <string>

namespace conclave::serve::test {

using queue = conclave::serve::task_queue;

inline constexpr std::int64_t t0 = 1'700'000'000'000;  // unix ms

inline std::function<std::string()> counter_ids() {
  return [n = 0]() mutable {
    char buf[32];
    std::snprintf(buf, sizeof buf, "task_%020x", ++n);
    return std::string(buf);
  };
}

inline queue::limits caps(std::size_t capacity, std::size_t keep_finished = 1000) {
  queue::limits l;
  l.capacity = capacity;
  l.keep_finished = keep_finished;
  return l;
}

inline task_spec spec(int priority, std::string question = "q") {
  task_spec s;
  s.question = std::move(question);
  s.priority = priority;
  return s;
}

inline std::string submit(task_queue& q, task_spec s, std::int64_t now = t0) {
  auto r = q.submit(std::move(s), now);
  BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}

inline std::string next_id(task_queue& q, std::int64_t now = t0) {
  const task_record* r = q.start_next(now);
  return r ? r->id : "";
}

}  // namespace conclave::serve::test
