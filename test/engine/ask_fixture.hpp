// Shared set-up for engine tests: a fake model with the usual script (decompose into N,
// answer each sub-question, echo synthesis input), and a helper that runs one ask.
#pragma once

#include "ask_run.hpp"
#include "fake_model.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/progress.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <mutex>

namespace conclave::test {

/// Agent `i` (from its sub-question "Part i of ...") gets `agent(i)`; decomposition and
/// synthesis answer at once unless `decomposition` / `synthesis` say otherwise.
struct scripted {
  std::function<fake_reply(int agent)> agent = [](int i) {
    return fake_reply{std::chrono::milliseconds(5), "Decision of part " + std::to_string(i), {}, 3};
  };
  /// When set, used instead of `agent`: also told which attempt (1, 2, ...) this is.
  std::function<fake_reply(int agent, int attempt)> agent_attempt;
  std::function<fake_reply(int n)> decomposition = [](int n) {
    boost::json::array parts;
    for (int i = 0; i < n; ++i)
      parts.emplace_back("Part " + std::to_string(i) + " of the question?");
    return fake_reply{std::chrono::milliseconds(1), boost::json::serialize(parts), {}, 1};
  };
  std::function<fake_reply(const std::string& input)> synthesis = [](const std::string& input) {
    return fake_reply{std::chrono::milliseconds(1), "SYNTHESIS OF:\n" + input, {}, 1};
  };

  fake_model::script as_script() const {
    auto attempts = std::make_shared<std::pair<std::mutex, std::map<int, int>>>();
    return [s = *this, attempts](const chat_request& r) {
      switch (kind_of(r)) {
        case request_kind::decomposition: {
          const auto& text = last_user(r);
          const auto at = text.find("into ");
          return s.decomposition(std::stoi(text.substr(at + 5)));
        }
        case request_kind::synthesis:
          return s.synthesis(last_user(r));
        case request_kind::agent: {
          const auto& q = last_user(r);
          const auto at = q.find("Part ");
          const int index = at == std::string::npos ? -1 : std::stoi(q.substr(at + 5));
          if (!s.agent_attempt) return s.agent(index);
          int attempt = 0;
          {
            std::lock_guard lock(attempts->first);
            attempt = ++attempts->second[index];
          }
          return s.agent_attempt(index, attempt);
        }
      }
      return fake_reply{};
    };
  }
};

/// Options for a test run: `agents` agents, retries that still happen but quickly (5 ms, at
/// most 20 ms), jitter from a fixed seed.
inline ask_options quick_options(int agents, std::uint64_t seed = 42) {
  ask_options o;
  o.agents = agents;
  o.retry.initial_delay = std::chrono::milliseconds(5);
  o.retry.max_delay = std::chrono::milliseconds(20);
  o.random_seed = seed;
  return o;
}

/// One io_context, a fake model following a script, and an engine over it.
struct rig {
  explicit rig(const scripted& s) : rig(s.as_script()) {}
  explicit rig(fake_model::script s)
      : model(io.get_executor(), std::move(s)), eng(io.get_executor(), model) {}
  boost::asio::io_context io;
  fake_model model;
  engine eng;
};

}  // namespace conclave::test
