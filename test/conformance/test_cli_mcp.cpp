// `conclave ask --mcp` end to end against the real server-everything (npm, pinned), on the
// built-in mock, which plays tool use: the closing measurement of the tool loop as a test.
#include "cli_run.hpp"
#include "mcp_servers.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

namespace conformance_test_cli_mcp {  // file-local names stay apart in unity batches

using conclave::test::clean_env;
using conclave::test::parse_object;
using conclave::test::process;
using conclave::test::temp_file;

namespace {

std::string everything_config() {
  const std::string entry =
      conclave::test::mcp_package_entry(CONCLAVE_NPM_DIR, "server-everything");
  return R"({"mcpServers": {"everything": {"command": ")" + std::string(CONCLAVE_NODE) +
         R"(", "args": [")" + entry + R"(", "stdio"]}}})";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_mcp)

BOOST_AUTO_TEST_CASE(every_agent_calls_a_real_servers_tools) {
  const temp_file config(everything_config());
  // A short tool timeout: server-everything has a long-running tool an agent may pick.
  auto r = process(CONCLAVE_CLI,
                   {"ask", "What can these tools do?", "-n", "8", "--mcp", config.path(),
                    "--tool-timeout", "2", "--json"},
                   clean_env)
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  int ok_calls = 0;
  for (const auto& a : o.at("agents").as_array()) {
    const auto& agent = a.as_object();
    BOOST_CHECK_EQUAL(agent.at("status").as_string(), "ok");
    const auto& calls = agent.at("tool_calls").as_array();
    BOOST_CHECK_GE(calls.size(), 1u);
    for (const auto& c : calls) {
      const std::string name(c.at("name").as_string());
      BOOST_CHECK_MESSAGE(name.starts_with("everything__"), name);
      ok_calls += c.at("outcome").as_string() == "ok";
    }
  }
  BOOST_CHECK_GE(ok_calls, 8);
}

BOOST_AUTO_TEST_CASE(a_server_that_cannot_start_stops_the_run_before_any_call) {
  const temp_file config(R"({"mcpServers": {"broken": {"command": ")" + std::string(CONCLAVE_NODE) +
                         R"(", "args": [")" + std::string(CONCLAVE_SOURCE_DIR) +
                         R"(/test/support/mcp_script_server.mjs", "exit_at_start"]}}})");
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--mcp", config.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_MESSAGE(r.err.find("MCP: ") != std::string::npos, r.err);
  BOOST_CHECK_MESSAGE(r.err.find("broken") != std::string::npos, r.err);
  BOOST_CHECK_MESSAGE(r.err.find("cannot open the database") != std::string::npos,
                      r.err);  // stderr
  BOOST_CHECK(r.out.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace conformance_test_cli_mcp
