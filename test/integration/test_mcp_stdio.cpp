// The MCP client over stdio against a scripted server (test/support/mcp_script_server.mjs):
// pagination, calls, errors the model sees, a server that dies at start or mid-call, non-JSON
// on stdout, a hung call cancelled, a clean environment, and no process left behind.
#include "mcp_servers.hpp"
#include "run.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/mcp/client.hpp>
#include <conclave/mcp/host.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>

namespace integration_test_mcp_stdio {  // file-local names stay apart in unity batches

using namespace conclave;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

namespace {

mcp::server_config scripted(const std::string& mode, std::string name = "script") {
  mcp::server_config s;
  s.name = std::move(name);
  s.command = CONCLAVE_NODE;
  s.args = {std::string(CONCLAVE_SOURCE_DIR) + "/test/support/mcp_script_server.mjs", mode};
  return s;
}

using test::gone;

// Processes of process group `group` that are not zombies, from /proc/<pid>/stat.
int live_members(int group) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const auto close = line.rfind(')');  // the command may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    int parent = 0, pgrp = 0;
    rest >> state >> parent >> pgrp;
    n += pgrp == group && state != 'Z';
  }
  return n;
}

struct started {
  std::shared_ptr<mcp::client> client;
  std::vector<mcp::remote_tool> tools;
};

awaitable<started> connect(std::string mode) {
  auto c = mcp::client::create(co_await asio::this_coro::executor, scripted(mode));
  auto [ec, why] = co_await c->async_connect(tuple);
  BOOST_REQUIRE_MESSAGE(!ec, why);
  auto [lec, tools, lwhy] = co_await c->async_list_tools(tuple);
  BOOST_REQUIRE_MESSAGE(!lec, lwhy);
  co_return started{c, tools};
}

awaitable<tool_output> call(mcp::client& c, std::string name, std::string args = "{}") {
  auto [ec, out] = co_await c.async_call_tool(std::move(name), std::move(args), tuple);
  BOOST_REQUIRE_MESSAGE(!ec, out.content);
  co_return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mcp_stdio)

BOOST_AUTO_TEST_CASE(lists_pages_calls_and_shuts_down_without_zombies) {
  asio::io_context io;
  const int pid = test::run(io, [&]() -> awaitable<int> {
    auto [c, tools] = co_await connect("normal");
    BOOST_TEST(c->info().name == "scripted");
    BOOST_TEST(c->info().protocol_version == "2025-11-25");
    BOOST_REQUIRE_EQUAL(tools.size(), 10u);  // two pages
    BOOST_TEST(tools[0].name == "echo");
    BOOST_TEST(tools[9].name == "dotted.name/x");
    BOOST_TEST(
        boost::json::parse(tools[0].input_schema).at("properties").as_object().contains("message"));

    tool_output out = co_await call(*c, "echo", R"({"message":"hi"})");
    BOOST_TEST(out.content == "hi");
    BOOST_TEST(!out.is_error);
    out = co_await call(*c, "fail");
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content == "MCP error -32602: bad arguments for fail");
    out = co_await call(*c, "is_error");
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content == "it went wrong");
    out = co_await call(*c, "ping_me");  // the server pings us mid-call; we answer
    BOOST_TEST(out.content == "pong ok");
    out = co_await call(*c, "echo", "[1]");
    BOOST_TEST(out.is_error);
    out = co_await call(*c, "pid");
    BOOST_TEST(std::stoi(out.content) == c->pid());
    const int child = c->pid();
    co_await c->async_close(use_awaitable);
    auto [ec, after] = co_await c->async_call_tool("echo", "{}", tuple);
    BOOST_CHECK_MESSAGE(ec == error::connection_failed, ec.message());
    co_return child;
  }());
  BOOST_TEST(gone(pid));
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(concurrent_calls_are_matched_by_id) {
  asio::io_context io;
  test::run(io, [&]() -> awaitable<int> {
    auto [c, tools] = co_await connect("normal");
    std::vector<std::string> got(20);
    int done = 0;
    for (int i = 0; i < 20; ++i)
      c->async_call_tool("echo", R"({"message":"m)" + std::to_string(i) + "\"}",
                         [&, i](boost::system::error_code ec, tool_output out) {
                           BOOST_TEST(!ec);
                           got[static_cast<std::size_t>(i)] = out.content;
                           ++done;
                         });
    while (done < 20) co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
    for (int i = 0; i < 20; ++i)
      BOOST_TEST(got[static_cast<std::size_t>(i)] == "m" + std::to_string(i));
    co_await c->async_close(use_awaitable);
    co_return 0;
  }());
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_hung_call_is_cancelled_and_the_server_told) {
  asio::io_context io;
  test::run(io, [&]() -> awaitable<int> {
    auto [c, tools] = co_await connect("normal");
    asio::cancellation_signal cancel;
    bool finished = false;
    boost::system::error_code got;
    c->async_call_tool(
        "hang", "{}",
        asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, tool_output) {
          got = ec;
          finished = true;
        }));
    // Let the request reach the server, then cancel: the call completes at once.
    tool_output out = co_await call(*c, "echo", R"({"message":"still here"})");
    BOOST_TEST(out.content == "still here");
    BOOST_TEST(!finished);
    cancel.emit(asio::cancellation_type::terminal);
    while (!finished) co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
    BOOST_CHECK_MESSAGE(got == error::cancelled, got.message());
    out = co_await call(*c, "cancelled");  // the ids the server was told about
    BOOST_TEST(out.content == "[4]");      // 1 initialize, 2-3 tools/list, 4 hang, 5 echo
    co_await c->async_close(use_awaitable);
    co_return 0;
  }());
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(the_environment_is_clean) {
  ::setenv("OPENAI_API_KEY", "sk-test-must-not-leak", 1);
  asio::io_context io;
  test::run(io, [&]() -> awaitable<int> {
    auto cfg = scripted("normal");
    cfg.env = {{"MCP_GIVEN", "yes"}};
    auto c = mcp::client::create(co_await asio::this_coro::executor, cfg);
    auto [ec, why] = co_await c->async_connect(tuple);
    BOOST_REQUIRE_MESSAGE(!ec, why);
    tool_output out = co_await call(*c, "env");
    BOOST_TEST(out.content.find("OPENAI_API_KEY") == std::string::npos, out.content);
    BOOST_TEST(out.content.find("MCP_GIVEN") != std::string::npos, out.content);
    BOOST_TEST(out.content.find("PATH") != std::string::npos, out.content);
    co_await c->async_close(use_awaitable);
    co_return 0;
  }());
  ::unsetenv("OPENAI_API_KEY");
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(start_failures_say_why) {
  struct row {
    std::string mode;
    boost::system::error_code ec;
    std::string why_has;
  };
  const std::vector<row> rows{
      {"exit_at_start", error::connection_failed, "cannot open the database"},
      {"non_json", error::bad_response, "not JSON"},
      {"bad_version", error::bad_response, "1999-01-01"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.mode) {
      asio::io_context io;
      int pid = 0;
      auto [ec, why] =
          test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
            auto c = mcp::client::create(co_await asio::this_coro::executor, scripted(r.mode));
            auto [e, w] = co_await c->async_connect(tuple);
            pid = c->pid();
            co_return std::pair{e, w};
          }());
      BOOST_CHECK_MESSAGE(ec == r.ec, ec.message());
      BOOST_TEST(why.find(r.why_has) != std::string::npos, why);
      BOOST_TEST(why.find("\"script\"") != std::string::npos, why);
      BOOST_TEST(pid == 0);  // reaped
      test::expect_no_leftover_work(io);
    }
  }
  asio::io_context io;
  auto [ec, why] =
      test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
        mcp::server_config cfg{.name = "ghost", .command = "no-such-mcp-server-xyz"};
        auto c = mcp::client::create(co_await asio::this_coro::executor, cfg);
        auto [e, w] = co_await c->async_connect(tuple);
        co_return std::pair{e, w};
      }());
  BOOST_CHECK_MESSAGE(ec == error::connection_failed, ec.message());
  BOOST_TEST(why.find("no-such-mcp-server-xyz") != std::string::npos, why);
}

BOOST_AUTO_TEST_CASE(a_server_dying_mid_call_fails_the_call_with_its_stderr) {
  asio::io_context io;
  test::run(io, [&]() -> awaitable<int> {
    auto [c, tools] = co_await connect("normal");
    auto [ec, out] = co_await c->async_call_tool("die", "{}", tuple);
    BOOST_CHECK_MESSAGE(ec == error::connection_failed, ec.message());
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content.find("dying on purpose") != std::string::npos, out.content);
    co_await c->async_close(use_awaitable);
    BOOST_TEST(c->pid() == 0);
    co_return 0;
  }());
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_server_ignoring_eof_is_killed_and_reaped) {
  asio::io_context io;
  const int pid = test::run(io, [&]() -> awaitable<int> {
    auto [c, tools] = co_await connect("ignore_eof");
    const int child = c->pid();
    BOOST_TEST(child > 0);
    co_await c->async_close(use_awaitable);  // EOF, 2 s grace, SIGKILL, reap
    co_return child;
  }());
  BOOST_TEST(gone(pid));
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(host_names_tools_and_reports_failing_servers) {
  asio::io_context io;
  std::vector<int> pids;
  {
    mcp::host h(io.get_executor());
    auto [ec, why] =
        test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
          std::vector<mcp::server_config> servers;  // not a braced list: GCC 12 coroutine bug
          servers.push_back(scripted("normal", "one"));
          servers.push_back(scripted("exit_at_start", "broken"));
          servers.push_back(scripted("normal", "two"));
          auto [e, w] = co_await h.async_start(std::move(servers), tuple);
          co_return std::pair{e, w};
        }());
    BOOST_CHECK_MESSAGE(ec == error::connection_failed, ec.message());
    BOOST_TEST(why.find("\"broken\"") != std::string::npos, why);
    BOOST_TEST(why.find("cannot open the database") != std::string::npos, why);
    BOOST_TEST(why.find("\"one\"") == std::string::npos, why);
    auto tools = h.tools();
    BOOST_REQUIRE_EQUAL(tools.size(), 20u);
    BOOST_TEST(tools[0]->spec().name == "one__echo");
    BOOST_TEST(tools[9]->spec().name == "one__dotted_name_x");
    BOOST_TEST(tools[10]->spec().name == "two__echo");
    for (auto& c : h.clients()) pids.push_back(c->pid());
    auto [tec, out] =
        test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, tool_output>> {
          auto [e, o] = co_await tools[10]->async_invoke(R"({"message":"via tool"})", tuple);
          co_return std::pair{e, o};
        }());
    BOOST_TEST(!tec);
    BOOST_TEST(out.content == "via tool");
    // No async_shutdown: the destructor kills and reaps.
  }
  BOOST_REQUIRE_EQUAL(pids.size(), 2u);
  for (int pid : pids) BOOST_TEST(gone(pid));
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_host_with_no_servers_starts_and_stops_at_once) {
  asio::io_context io;
  mcp::host h(io.get_executor());
  auto [ec, why] =
      test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
        auto [e, w] = co_await h.async_start(std::vector<mcp::server_config>{}, tuple);
        co_await h.async_shutdown(use_awaitable);
        co_return std::pair{e, w};
      }());
  BOOST_TEST(!ec);
  BOOST_TEST(h.tools().empty());
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_times_out_at_start) {
  asio::io_context io;
  mcp::host h(io.get_executor(), nullptr, mcp::host_options{std::chrono::milliseconds(300)});
  auto [ec, why] =
      test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
        std::vector<mcp::server_config> servers;
        servers.push_back(scripted("silent", "mute"));
        auto [e, w] = co_await h.async_start(std::move(servers), tuple);
        co_return std::pair{e, w};
      }());
  BOOST_CHECK_MESSAGE(ec == error::timeout, ec.message());
  BOOST_TEST(why.find("\"mute\": did not start within 300 ms") != std::string::npos, why);
  BOOST_TEST(why.find("scripted server: initialize") != std::string::npos, why);
  BOOST_TEST(h.tools().empty());
  test::expect_no_leftover_work(io);
}

// A wrapper that leaves a child behind (`sh -c 'server; sleep'`, like npx starting node):
// the whole process group goes at close, so nothing keeps our pipes open or outlives us.
BOOST_AUTO_TEST_CASE(a_servers_own_children_go_with_it) {
  asio::io_context io;
  mcp::server_config wrapped = scripted("normal", "wrapped");
  wrapped.args = {"-c", std::string(CONCLAVE_NODE) + " '" + CONCLAVE_SOURCE_DIR +
                            "/test/support/mcp_script_server.mjs' normal; sleep 1000"};
  wrapped.command = "/bin/sh";
  const int group = test::run(io, [&]() -> awaitable<int> {
    auto c = mcp::client::create(co_await asio::this_coro::executor, wrapped);
    auto [ec, why] = co_await c->async_connect(tuple);
    BOOST_REQUIRE_MESSAGE(!ec, why);
    const int pid = c->pid();
    co_await c->async_close(use_awaitable);  // the shell waits on sleep: killed, group and all
    co_return pid;
  }());
  BOOST_TEST(gone(group));
  // The sleep was sent SIGKILL with its group; the kernel ends it a moment later (it is not
  // our child to wait for), so look for a bounded while. A zombie of init's may linger.
  int left = live_members(group);
  for (int tries = 0; left > 0 && tries < 200; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    left = live_members(group);
  }
  BOOST_TEST(left == 0);
  test::expect_no_leftover_work(io);
}

// Agents on their own strands, an io_context run by two threads: every call gets its own
// answer back, on its own strand.
BOOST_AUTO_TEST_CASE(calls_from_many_strands_on_two_threads) {
  asio::io_context io;
  mcp::host h(io.get_executor());
  auto [ec, why] =
      test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
        std::vector<mcp::server_config> servers;
        servers.push_back(scripted("normal", "mt"));
        auto [e, w] = co_await h.async_start(std::move(servers), tuple);
        co_return std::pair{e, w};
      }());
  BOOST_REQUIRE_MESSAGE(!ec, why);
  std::shared_ptr<tool> echo = h.tools().at(0);
  BOOST_REQUIRE(echo->spec().name == "mt__echo");
  const int pid = h.clients().at(0)->pid();

  io.restart();
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back([&] { io.run(); });
  constexpr int calls = 64;
  std::atomic<int> right{0}, finished{0};
  std::promise<void> all_done;
  for (int i = 0; i < calls; ++i) {
    auto strand = asio::make_strand(io);
    echo->async_invoke(
        R"({"message":"m)" + std::to_string(i) + "\"}",
        asio::bind_executor(strand, [&, i, strand](boost::system::error_code e, tool_output out) {
          if (!e && out.content == "m" + std::to_string(i) && strand.running_in_this_thread())
            ++right;
          if (++finished == calls) all_done.set_value();
        }));
  }
  const bool in_time =
      all_done.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  std::promise<void> shut;
  h.async_shutdown([&] { shut.set_value(); });
  shut.get_future().wait_for(std::chrono::seconds(10));
  guard.reset();
  for (auto& t : threads) t.join();
  BOOST_TEST(in_time);
  BOOST_TEST(right.load() == calls);
  BOOST_TEST(gone(pid));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_mcp_stdio
