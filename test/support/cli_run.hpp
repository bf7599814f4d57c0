// Running the `conclave` CLI from a test: a clean environment (no key, no base URL, no config:
// the built-in mock answers), its JSON parsed, and usage errors checked row by row.
#pragma once

#include "process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

namespace conclave::test {

inline const std::map<std::string, std::string> clean_env = {
    {"OPENAI_API_KEY", ""},     {"OPENAI_BASE_URL", ""}, {"ANTHROPIC_API_KEY", ""},
    {"ANTHROPIC_BASE_URL", ""}, {"CONCLAVE_CONFIG", ""}, {"HOME", "/nonexistent"}};

/// The clean environment with `extra` set on top.
inline std::map<std::string, std::string> env_with(std::map<std::string, std::string> extra) {
  auto e = clean_env;
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

inline boost::json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), "not a JSON object: " << text);
  return v.as_object();
}

/// Extra arguments to `ask "x"` and words the usage error must contain.
struct usage_case {
  std::vector<std::string> args;
  std::string says;
};

/// Each case must exit 2 (before any call) with a message containing its words.
inline void check_usage_errors(const std::string& cli, const std::vector<usage_case>& cases) {
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.args.at(0)) {
      std::vector<std::string> args{"ask", "x"};
      args.insert(args.end(), c.args.begin(), c.args.end());
      auto r = process(cli, args, clean_env).wait();
      BOOST_CHECK_EQUAL(r.exit_code, 2);
      BOOST_CHECK_MESSAGE(r.err.find(c.says) != std::string::npos, r.err);
    }
  }
}

}  // namespace conclave::test
