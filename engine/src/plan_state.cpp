#include <conclave/engine/plan.hpp>
#include <conclave/engine/text.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace conclave {

bool is_valid_subtask_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

namespace {

// An id as a message shows it: bad ids may be long or hold anything, so cut and neutralise.
std::string shown(std::string_view id) {
  if (is_valid_subtask_id(id)) return std::string(id);
  return "\"" + text::for_terminal(text::quote(id, 64), false) + "\"";
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + shown(id);
  return out;
}

plan_problem problem(std::string what, std::vector<std::string> ids) {
  return {what + ": " + joined(ids), std::move(ids)};
}

// Every subtask on a dependency cycle (Tarjan's strongly connected components, iteratively so
// a long chain cannot exhaust the stack), and one cycle's path through the first of them.
plan_problem cycle_problem(const plan& p, const std::vector<std::vector<std::size_t>>& deps) {
  const std::size_t n = deps.size();
  constexpr std::size_t unseen = static_cast<std::size_t>(-1);
  std::vector<std::size_t> index(n, unseen), low(n, 0), component(n, unseen), stack;
  std::vector<bool> on_stack(n, false);
  std::vector<std::size_t> component_size;
  std::size_t next = 0;
  for (std::size_t root = 0; root < n; ++root) {
    if (index[root] != unseen) continue;
    std::vector<std::pair<std::size_t, std::size_t>> frames{{root, 0}};  // node, next edge
    index[root] = low[root] = next++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!frames.empty()) {
      auto& [v, edge] = frames.back();
      if (edge < deps[v].size()) {
        const std::size_t w = deps[v][edge++];
        if (index[w] == unseen) {
          index[w] = low[w] = next++;
          stack.push_back(w);
          on_stack[w] = true;
          frames.emplace_back(w, 0);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const std::size_t done = v;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      if (low[done] != index[done]) continue;
      const std::size_t c = component_size.size();
      component_size.push_back(0);
      std::size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component[w] = c;
        ++component_size[c];
      } while (w != done);
    }
  }
  std::vector<std::string> ids;
  std::size_t first = unseen;
  for (std::size_t i = 0; i < n; ++i) {
    if (component_size[component[i]] < 2) continue;
    ids.push_back(p.subtasks[i].id);
    if (first == unseen) first = i;
  }
  // The shortest way back to `first` inside its component, breadth first.
  std::vector<std::size_t> parent(n, unseen);
  std::vector<std::size_t> queue{first};
  std::size_t last = unseen;
  for (std::size_t at = 0; at < queue.size() && last == unseen; ++at) {
    for (std::size_t w : deps[queue[at]]) {
      if (component[w] != component[first]) continue;
      if (w == first) {
        last = queue[at];
        break;
      }
      if (parent[w] == unseen) {
        parent[w] = queue[at];
        queue.push_back(w);
      }
    }
  }
  std::vector<std::size_t> path;
  for (std::size_t v = last; v != first; v = parent[v]) path.push_back(v);
  std::string message = "dependency cycle: " + p.subtasks[first].id;
  for (auto it = path.rbegin(); it != path.rend(); ++it) message += " -> " + p.subtasks[*it].id;
  message += " -> " + p.subtasks[first].id;
  return {std::move(message), std::move(ids)};
}

}  // namespace

const char* to_string(combine_mode m) noexcept {
  switch (m) {
    case combine_mode::synthesize:
      return "synthesize";
    case combine_mode::vote:
      return "vote";
    case combine_mode::select:
      return "select";
  }
  return "synthesize";
}

std::optional<combine_mode> combine_mode_from(std::string_view name) noexcept {
  for (auto m : {combine_mode::synthesize, combine_mode::vote, combine_mode::select}) {
    if (name == to_string(m)) return m;
  }
  return std::nullopt;
}

const char* to_string(subtask_status s) noexcept {
  switch (s) {
    case subtask_status::waiting:
      return "waiting";
    case subtask_status::running:
      return "running";
    case subtask_status::succeeded:
      return "ok";
    case subtask_status::failed:
      return "failed";
    case subtask_status::skipped:
      return "skipped";
  }
  return "waiting";
}

std::optional<plan_problem> validate(const plan& p, std::size_t max_subtasks) {
  const auto& tasks = p.subtasks;
  if (tasks.empty()) return plan_problem{"the plan has no subtasks", {}};
  if (tasks.size() > max_subtasks) {
    return plan_problem{"the plan has " + std::to_string(tasks.size()) + " subtasks; at most " +
                            std::to_string(max_subtasks) + " are allowed",
                        {}};
  }
  std::vector<std::string> ids;
  for (const auto& t : tasks) {
    if (!is_valid_subtask_id(t.id)) ids.push_back(t.id);
  }
  if (!ids.empty()) return problem("bad subtask ids (1-64 of A-Za-z0-9_.-)", std::move(ids));

  std::unordered_map<std::string_view, std::size_t> index;
  std::unordered_set<std::string_view> repeated;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (!index.emplace(tasks[i].id, i).second && repeated.insert(tasks[i].id).second) {
      ids.push_back(tasks[i].id);
    }
  }
  if (!ids.empty()) return problem("duplicate subtask ids", std::move(ids));

  for (const auto& t : tasks) {
    if (text::is_blank(t.prompt)) ids.push_back(t.id);
  }
  if (!ids.empty()) return problem("blank prompt in subtasks", std::move(ids));

  std::string message;
  for (const auto& t : tasks) {
    std::string unknown;
    for (const auto& d : t.depends_on) {
      if (!index.contains(d)) unknown += (unknown.empty() ? "" : ", ") + shown(d);
    }
    if (unknown.empty()) continue;
    message += (message.empty() ? "" : "; ") + ("subtask " + t.id + " depends on unknown id");
    message += (unknown.find(", ") == std::string::npos ? ": " : "s: ") + unknown;
    ids.push_back(t.id);
  }
  if (!ids.empty()) return plan_problem{std::move(message), std::move(ids)};

  std::vector<std::vector<std::size_t>> deps(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    for (const auto& d : tasks[i].depends_on) {
      const std::size_t j = index.at(d);
      if (j == i && (ids.empty() || ids.back() != tasks[i].id)) ids.push_back(tasks[i].id);
      deps[i].push_back(j);
    }
  }
  if (!ids.empty()) {
    if (ids.size() == 1) return plan_problem{"subtask " + ids[0] + " depends on itself", ids};
    return problem("subtasks depending on themselves", std::move(ids));
  }

  // Kahn's algorithm: whatever cannot be ordered lies on or behind a cycle.
  std::vector<std::size_t> pending(tasks.size());
  std::vector<std::vector<std::size_t>> dependents(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    pending[i] = deps[i].size();
    for (std::size_t j : deps[i]) dependents[j].push_back(i);
  }
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::size_t ordered = 0;
  while (!ready.empty()) {
    const std::size_t v = ready.back();
    ready.pop_back();
    ++ordered;
    for (std::size_t w : dependents[v]) {
      if (--pending[w] == 0) ready.push_back(w);
    }
  }
  if (ordered != tasks.size()) return cycle_problem(p, deps);

  for (const auto& t : tasks) {
    if (std::find(t.exclusive.begin(), t.exclusive.end(), "") != t.exclusive.end()) {
      ids.push_back(t.id);
    }
  }
  if (!ids.empty()) return problem("empty exclusive resource name in subtasks", std::move(ids));

  if (p.verify_rounds < 0 || p.verify_rounds > 3) {
    return plan_problem{"verify_rounds " + std::to_string(p.verify_rounds) + " is outside 0..3",
                        {}};
  }
  return std::nullopt;
}

plan_state::plan_state(const plan& p, std::size_t max_running)
    : max_running_(std::max<std::size_t>(1, max_running)),
      waiting_(p.subtasks.size()),
      optional_(p.subtasks.size()),
      status_(p.subtasks.size(), subtask_status::waiting),
      reason_(p.subtasks.size()),
      deps_(p.subtasks.size()),
      dependents_(p.subtasks.size()),
      resources_(p.subtasks.size()),
      order_(p.subtasks.size()) {
  const std::size_t n = p.subtasks.size();
  std::unordered_map<std::string_view, std::size_t> index, resource;
  for (std::size_t i = 0; i < n; ++i) {
    ids_.push_back(p.subtasks[i].id);
    index.emplace(p.subtasks[i].id, i);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& t = p.subtasks[i];
    optional_[i] = t.optional;
    for (const auto& d : t.depends_on) {
      // An invalid plan's unknown ids and self-dependencies are left out rather than trusted.
      const auto it = index.find(d);
      if (it == index.end() || it->second == i) continue;
      if (std::find(deps_[i].begin(), deps_[i].end(), it->second) != deps_[i].end()) continue;
      deps_[i].push_back(it->second);
      dependents_[it->second].push_back(i);
    }
    for (const auto& r : t.exclusive) {
      const std::size_t k = resource.emplace(r, resource.size()).first->second;
      if (std::find(resources_[i].begin(), resources_[i].end(), k) == resources_[i].end()) {
        resources_[i].push_back(k);
      }
    }
  }
  held_.assign(resource.size(), false);
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
    return p.subtasks[a].priority > p.subtasks[b].priority;
  });
}

bool plan_state::satisfied(std::size_t dep) const {
  const auto s = status_[dep];
  return s == subtask_status::succeeded ||
         (optional_[dep] && (s == subtask_status::failed || s == subtask_status::skipped));
}

bool plan_state::can_start(std::size_t i) const {
  if (status_[i] != subtask_status::waiting) return false;
  for (std::size_t d : deps_[i]) {
    if (!satisfied(d)) return false;
  }
  for (std::size_t r : resources_[i]) {
    if (held_[r]) return false;
  }
  return true;
}

std::vector<std::size_t> plan_state::start_ready() {
  std::vector<std::size_t> started;
  // A subtask never goes back to waiting: the prefix that has none is skipped for good, so a
  // wide plan (10,000 subtasks, 16 at a time) costs no scan of what already ran.
  while (first_waiting_ < order_.size() &&
         status_[order_[first_waiting_]] != subtask_status::waiting)
    ++first_waiting_;
  for (std::size_t k = first_waiting_; k < order_.size(); ++k) {
    const std::size_t i = order_[k];
    if (running_ >= max_running_) break;
    if (!can_start(i)) continue;  // blocked: lower priorities may still start
    status_[i] = subtask_status::running;
    for (std::size_t r : resources_[i]) held_[r] = true;
    ++running_;
    --waiting_;
    started.push_back(i);
  }
  return started;
}

std::vector<std::size_t> plan_state::finish(std::size_t i, bool succeeded) {
  if (status_.at(i) != subtask_status::running) {
    throw std::logic_error("plan_state::finish: subtask " + ids_[i] + " is not running");
  }
  status_[i] = succeeded ? subtask_status::succeeded : subtask_status::failed;
  for (std::size_t r : resources_[i]) held_[r] = false;
  --running_;

  std::vector<std::size_t> skipped;
  if (succeeded || optional_[i]) return skipped;
  // Breadth first from the failure; an optional subtask that gets skipped stops the spread,
  // since its dependents may run without it.
  std::vector<std::size_t> queue{i};
  for (std::size_t at = 0; at < queue.size(); ++at) {
    const std::size_t v = queue[at];
    for (std::size_t w : dependents_[v]) {
      if (status_[w] != subtask_status::waiting) continue;
      status_[w] = subtask_status::skipped;
      reason_[w] = "dependency " + ids_[v] +
                   (status_[v] == subtask_status::failed ? " failed" : " was skipped");
      --waiting_;
      skipped.push_back(w);
      if (!optional_[w]) queue.push_back(w);
    }
  }
  std::sort(skipped.begin(), skipped.end());
  return skipped;
}

std::vector<std::size_t> plan_state::skip_waiting(std::string_view reason) {
  std::vector<std::size_t> skipped;
  for (std::size_t i = 0; i < status_.size(); ++i) {
    if (status_[i] != subtask_status::waiting) continue;
    status_[i] = subtask_status::skipped;
    reason_[i] = std::string(reason);
    skipped.push_back(i);
  }
  waiting_ = 0;
  return skipped;
}

}  // namespace conclave
