// Waiters in priority order, first come first served within a priority: the one ordering shared
// by the connection pool, the rate limiter's permits, the run's slots and serve's task queue.
// Sans-io: it holds values and decides who is next; the async wrappers (async_semaphore.hpp,
// the pool, the task queue) do the waiting and the locking. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace conclave {

template <typename T>
class waiter_list {
 public:
  using id_type = std::uint64_t;

  /// Adds a waiter; a higher priority is served first, equal ones in arrival order (any int
  /// is a valid priority). Returns its id, for remove() and position(); ids are never reused.
  id_type push(T value, int priority = 0) {
    const id_type id = next_id_;
    // Index first: if the second insertion throws, the first is undone and nothing changed.
    priority_of_.emplace(id, priority);
    try {
      order_.emplace(key{priority, id}, std::move(value));
    } catch (...) {
      priority_of_.erase(id);
      throw;
    }
    ++next_id_;
    return id;
  }

  /// The first waiter, taken out; none when empty.
  std::optional<T> pop() {
    if (order_.empty()) return std::nullopt;
    auto it = order_.begin();
    std::optional<T> out(std::move(it->second));
    priority_of_.erase(it->first.id);
    order_.erase(it);
    return out;
  }

  /// A waiter leaving before its turn (cancelled): its value, or none if it was served already.
  std::optional<T> remove(id_type id) {
    auto p = priority_of_.find(id);
    if (p == priority_of_.end()) return std::nullopt;
    auto it = order_.find(key{p->second, id});
    std::optional<T> out(std::move(it->second));
    order_.erase(it);
    priority_of_.erase(p);
    return out;
  }

  /// The first waiter, left in place; null when empty.
  const T* front() const { return order_.empty() ? nullptr : &order_.begin()->second; }
  /// A waiting waiter's value, left in place; null when it is not waiting.
  T* find(id_type id) {
    auto p = priority_of_.find(id);
    return p == priority_of_.end() ? nullptr : &order_.find(key{p->second, id})->second;
  }
  bool contains(id_type id) const { return priority_of_.count(id) != 0; }

  /// How many are ahead of `id` (0: it is next); none when it is not waiting. Linear.
  std::optional<std::size_t> position(id_type id) const {
    if (!contains(id)) return std::nullopt;
    std::size_t ahead = 0;
    for (auto it = order_.begin(); it->first.id != id; ++it) ++ahead;
    return ahead;
  }

  std::size_t size() const noexcept { return order_.size(); }
  bool empty() const noexcept { return order_.empty(); }

  /// Visits every waiter in service order: f(id, priority, value).
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [k, v] : order_) f(k.id, k.priority, v);
  }

 private:
  struct key {
    int priority;
    id_type id;  // arrival order
  };
  // Compared as served: higher priority first, then earlier arrival. (Not by negating the
  // priority, which overflows for INT_MIN.)
  struct served_first {
    bool operator()(const key& a, const key& b) const noexcept {
      return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
    }
  };
  std::map<key, T, served_first> order_;
  std::unordered_map<id_type, int> priority_of_;
  id_type next_id_ = 1;
};

}  // namespace conclave
