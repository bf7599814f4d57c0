// The MCP client against the reference servers from npm (pinned in package-lock.json):
// server-everything over stdio and over Streamable HTTP, server-filesystem over stdio.
// Each test starts and stops its servers itself; none is left running.
#include "mcp_servers.hpp"
#include "process.hpp"
#include "run.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mcp/client.hpp>
#include <conclave/mcp/host.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>

namespace conformance_test_mcp_servers {  // file-local names stay apart in unity batches

using namespace conclave;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

namespace {

using test::gone;

std::string package_entry(const std::string& package) {
  return test::mcp_package_entry(CONCLAVE_NPM_DIR, package);
}

bool has_tool(const std::vector<std::shared_ptr<tool>>& tools, const std::string& name) {
  return std::any_of(tools.begin(), tools.end(),
                     [&](const auto& t) { return t->spec().name == name; });
}

std::shared_ptr<tool> find_tool(const std::vector<std::shared_ptr<tool>>& tools,
                                const std::string& name) {
  for (const auto& t : tools)
    if (t->spec().name == name) return t;
  BOOST_FAIL("no tool " + name);
  return nullptr;
}

awaitable<std::pair<boost::system::error_code, tool_output>> invoke(std::shared_ptr<tool> t,
                                                                    std::string args) {
  auto [ec, out] = co_await t->async_invoke(std::move(args), tuple);
  co_return std::pair{ec, out};
}

// initialize, tools/list (all pages), echo, get-sum, wrong arguments, an unknown tool, an
// image placeholder: the same checks over either transport.
void check_everything(asio::io_context& io, mcp::host& h, const std::string& server) {
  auto tools = h.tools();
  BOOST_TEST_MESSAGE(server << ": " << tools.size() << " tools");
  BOOST_REQUIRE(has_tool(tools, server + "__echo"));
  BOOST_REQUIRE(has_tool(tools, server + "__get-sum"));
  BOOST_TEST(mcp::is_known_protocol_version(h.clients().at(0)->info().protocol_version));

  auto [ec, out] =
      test::run(io, invoke(find_tool(tools, server + "__echo"), R"({"message":"hi"})"));
  BOOST_TEST(!ec);
  BOOST_TEST(!out.is_error);
  BOOST_TEST(out.content == "Echo: hi");

  std::tie(ec, out) =
      test::run(io, invoke(find_tool(tools, server + "__get-sum"), R"({"a":2,"b":3.5})"));
  BOOST_TEST(!ec);
  BOOST_TEST(!out.is_error);
  BOOST_TEST(out.content.find("5.5") != std::string::npos, out.content);

  std::tie(ec, out) = test::run(io, invoke(find_tool(tools, server + "__get-sum"), R"({"a":"x"})"));
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(out.is_error, out.content);
  BOOST_TEST(!out.content.empty());

  auto [cec, cout] =
      test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, tool_output>> {
        auto [e, o] = co_await h.clients().at(0)->async_call_tool("no-such-tool", "{}", tuple);
        co_return std::pair{e, o};
      }());
  BOOST_TEST(!cec);
  BOOST_TEST(cout.is_error, cout.content);

  if (has_tool(tools, server + "__get-tiny-image")) {
    std::tie(ec, out) = test::run(io, invoke(find_tool(tools, server + "__get-tiny-image"), "{}"));
    BOOST_TEST(!ec);
    BOOST_TEST(out.content.find("[image image/png, ") != std::string::npos, out.content);
  }
}

awaitable<std::pair<boost::system::error_code, std::string>> start(mcp::host& h,
                                                                   mcp::server_config s) {
  std::vector<mcp::server_config> servers;  // not a braced list: GCC 12 coroutine bug
  servers.push_back(std::move(s));
  auto [ec, why] = co_await h.async_start(std::move(servers), tuple);
  co_return std::pair{ec, why};
}

std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// Polls a TCP connect until the server listens (bounded; this is readiness, not async work).
bool wait_listening(std::uint16_t port, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mcp_everything_stdio)

BOOST_AUTO_TEST_CASE(tools_over_stdio) {
  ::setenv("OPENAI_API_KEY", "sk-test-must-not-leak", 1);
  asio::io_context io;
  int pid = 0;
  {
    mcp::host h(io.get_executor());
    mcp::server_config s{.name = "everything",
                         .command = CONCLAVE_NODE,
                         .args = {package_entry("server-everything"), "stdio"}};
    auto [ec, why] = test::run(io, start(h, s));
    BOOST_REQUIRE_MESSAGE(!ec, why);
    pid = h.clients().at(0)->pid();
    check_everything(io, h, "everything");
    if (has_tool(h.tools(), "everything__get-env")) {
      auto [eec, env] = test::run(io, invoke(find_tool(h.tools(), "everything__get-env"), "{}"));
      BOOST_TEST(!eec);
      BOOST_TEST(env.content.find("OPENAI_API_KEY") == std::string::npos);
      BOOST_TEST(env.content.find("PATH") != std::string::npos);
    }
    test::run(io, [&]() -> awaitable<int> {
      co_await h.async_shutdown(use_awaitable);
      co_return 0;
    }());
  }
  ::unsetenv("OPENAI_API_KEY");
  BOOST_TEST(gone(pid));
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mcp_everything_http)

BOOST_AUTO_TEST_CASE(tools_over_streamable_http) {
  const std::uint16_t port = free_port();
  test::process server(CONCLAVE_NODE, {package_entry("server-everything"), "streamableHttp"},
                       {{"PORT", std::to_string(port)}});
  BOOST_REQUIRE_MESSAGE(wait_listening(port, std::chrono::seconds(30)), "server did not listen");
  asio::io_context io;
  {
    http::client web(io.get_executor());
    mcp::host h(io.get_executor(), &web);
    mcp::server_config s{.name = "everything",
                         .url = "http://127.0.0.1:" + std::to_string(port) + "/mcp",
                         .headers = {{"X-Test", "conclave"}}};
    auto [ec, why] = test::run(io, start(h, s));
    BOOST_REQUIRE_MESSAGE(!ec, why);
    check_everything(io, h, "everything");
    test::run(io, [&]() -> awaitable<int> {
      co_await h.async_shutdown(use_awaitable);  // DELETEs the session
      co_return 0;
    }());
  }
  server.signal(SIGTERM);
  server.wait(std::chrono::seconds(10));
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_url_nobody_listens_on_is_a_clear_error) {
  asio::io_context io;
  mcp::host h(io.get_executor());  // makes its own HTTP client
  mcp::server_config s{.name = "nobody",
                       .url = "http://127.0.0.1:" + std::to_string(free_port()) + "/mcp"};
  auto [ec, why] = test::run(io, start(h, s));
  BOOST_CHECK_MESSAGE(ec == error::connection_failed, ec.message());
  BOOST_TEST(why.find("\"nobody\"") != std::string::npos, why);
  BOOST_TEST(h.tools().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mcp_filesystem)

BOOST_AUTO_TEST_CASE(reads_inside_its_root_and_refuses_outside) {
  namespace fs = std::filesystem;
  const fs::path root =
      fs::temp_directory_path() / ("conclave-mcp-fs-" + std::to_string(::getpid()));
  fs::create_directories(root);
  std::ofstream(root / "hello.txt") << "hello from conclave";
  asio::io_context io;
  int pid = 0;
  {
    mcp::host h(io.get_executor());
    mcp::server_config s{.name = "fs",
                         .command = CONCLAVE_NODE,
                         .args = {package_entry("server-filesystem"), root.string()}};
    auto [ec, why] = test::run(io, start(h, s));
    BOOST_REQUIRE_MESSAGE(!ec, why);
    pid = h.clients().at(0)->pid();
    auto tools = h.tools();
    BOOST_REQUIRE(has_tool(tools, "fs__list_directory"));
    BOOST_REQUIRE(has_tool(tools, "fs__read_text_file"));

    auto [lec, listing] = test::run(
        io, invoke(find_tool(tools, "fs__list_directory"), R"({"path":")" + root.string() + "\"}"));
    BOOST_TEST(!lec);
    BOOST_TEST(!listing.is_error, listing.content);
    BOOST_TEST(listing.content.find("hello.txt") != std::string::npos, listing.content);

    auto [rec, text] =
        test::run(io, invoke(find_tool(tools, "fs__read_text_file"),
                             R"({"path":")" + (root / "hello.txt").string() + "\"}"));
    BOOST_TEST(!rec);
    BOOST_TEST(!text.is_error, text.content);
    BOOST_TEST(text.content.find("hello from conclave") != std::string::npos, text.content);

    auto [oec, outside] =
        test::run(io, invoke(find_tool(tools, "fs__read_text_file"), R"({"path":"/etc/passwd"})"));
    BOOST_TEST(!oec);
    BOOST_TEST(outside.is_error, outside.content);
    BOOST_TEST(outside.content.find("root:") == std::string::npos);

    test::run(io, [&]() -> awaitable<int> {
      co_await h.async_shutdown(use_awaitable);
      co_return 0;
    }());
  }
  BOOST_TEST(gone(pid));
  fs::remove_all(root);
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace conformance_test_mcp_servers
