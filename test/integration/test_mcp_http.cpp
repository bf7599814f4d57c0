// The Streamable HTTP transport against a scripted HTTP server: a JSON reply carrying the
// session id, 202 for a notification, an SSE reply with a notification before the response,
// a JSON-RPC error the model sees, an HTTP error, and DELETE on close (405 ignored); the
// session id and negotiated version travel on every later request.
#include "run.hpp"
#include "scripted_server.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mcp/client.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

namespace integration_test_mcp_http {  // file-local names stay apart in unity batches

using namespace conclave;
namespace asio = boost::asio;
using asio::awaitable;
constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

namespace {
std::string json_reply(const std::string& body, const std::string& extra = "") {
  return test::http_reply("200 OK", "content-type: application/json\r\n" + extra, body);
}
bool has(const std::string& request, const std::string& text) {
  return boost::algorithm::icontains(request, text);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(mcp_http)

BOOST_AUTO_TEST_CASE(session_version_sse_and_errors) {
  asio::io_context io;
  const std::string sse_body =
      "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
      "\"params\":{}}\r\n\r\n"
      "id: 7\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\r\ndata: \"result\":{\"tools\":[{\"name\":"
      "\"echo\"}]}}\r\n\r\n";
  test::scripted_server server(
      io, {json_reply(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}})",
                      "Mcp-Session-Id: sess-1\r\n"),
           test::http_reply("202 Accepted", "", ""),
           test::http_reply("200 OK", "content-type: text/event-stream\r\n", sse_body),
           json_reply(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"no such"}})"),
           test::http_reply("500 Internal Server Error", "content-type: text/plain\r\n", "boom"),
           test::http_reply("405 Method Not Allowed", "", "")});
  http::client web(io.get_executor());
  mcp::server_config cfg{.name = "web",
                         .url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp",
                         .headers = {{"Authorization", "Bearer t0k"}}};
  auto c = mcp::client::create(io.get_executor(), cfg, &web);
  test::run(io, [&]() -> awaitable<int> {
    auto [ec, why] = co_await c->async_connect(tuple);
    BOOST_REQUIRE_MESSAGE(!ec, why);
    BOOST_TEST(c->info().protocol_version == "2025-06-18");
    auto [lec, tools, lwhy] = co_await c->async_list_tools(tuple);
    BOOST_REQUIRE_MESSAGE(!lec, lwhy);
    BOOST_REQUIRE_EQUAL(tools.size(), 1u);
    BOOST_TEST(tools[0].name == "echo");
    auto [cec, out] = co_await c->async_call_tool("echo", "{}", tuple);
    BOOST_TEST(!cec);
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content == "MCP error -32602: no such");
    auto [fec, failed] = co_await c->async_call_tool("echo", "{}", tuple);
    BOOST_CHECK_MESSAGE(fec == error::provider_error, fec.message());
    BOOST_TEST(failed.content.find("HTTP 500") != std::string::npos, failed.content);
    BOOST_TEST(failed.content.find("boom") != std::string::npos, failed.content);
    co_await c->async_close(asio::use_awaitable);
    co_return 0;
  }());
  const auto& req = server.requests();
  BOOST_REQUIRE_EQUAL(req.size(), 6u);
  BOOST_TEST(req[0].starts_with("POST /mcp "));
  BOOST_TEST(has(req[0], "accept: application/json, text/event-stream"));
  BOOST_TEST(has(req[0], "content-type: application/json"));
  BOOST_TEST(has(req[0], "authorization: Bearer t0k"));
  BOOST_TEST(!has(req[0], "mcp-session-id"));
  BOOST_TEST(has(req[0], R"("protocolVersion":"2025-11-25")"));
  BOOST_TEST(has(req[1], "notifications/initialized"));
  for (std::size_t i = 1; i < req.size(); ++i) {
    BOOST_TEST_CONTEXT(i) {
      BOOST_TEST(has(req[i], "mcp-session-id: sess-1"));
      BOOST_TEST(has(req[i], "mcp-protocol-version: 2025-06-18"));
      BOOST_TEST(has(req[i], "authorization: Bearer t0k"));
    }
  }
  BOOST_TEST(req[5].starts_with("DELETE /mcp "));
  c.reset();
  server.stop();
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_reply_that_is_not_json_rpc_is_a_clear_error) {
  asio::io_context io;
  test::scripted_server server(io, json_reply("<html>hello</html>"));
  http::client web(io.get_executor());
  mcp::server_config cfg{.name = "web",
                         .url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp"};
  auto c = mcp::client::create(io.get_executor(), cfg, &web);
  auto [ec, why] =
      test::run(io, [&]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
        auto [e, w] = co_await c->async_connect(tuple);
        co_return std::pair{e, w};
      }());
  BOOST_CHECK_MESSAGE(ec == error::bad_response, ec.message());
  BOOST_TEST(why.find("not JSON") != std::string::npos, why);
  BOOST_TEST(why.find("\"web\"") != std::string::npos, why);
  c.reset();
  server.stop();
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_stream_that_ends_without_our_response_fails_the_request) {
  asio::io_context io;
  test::scripted_server server(
      io,
      {json_reply(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25"}})"),
       test::http_reply("202 Accepted", "", ""),
       test::http_reply("200 OK", "content-type: text/event-stream\r\n",
                        "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n")});
  http::client web(io.get_executor());
  mcp::server_config cfg{.name = "web",
                         .url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp"};
  auto c = mcp::client::create(io.get_executor(), cfg, &web);
  test::run(io, [&]() -> awaitable<int> {
    auto [ec, why] = co_await c->async_connect(tuple);
    BOOST_REQUIRE_MESSAGE(!ec, why);
    auto [lec, tools, lwhy] = co_await c->async_list_tools(tuple);
    BOOST_CHECK_MESSAGE(lec == error::bad_response, lec.message());
    BOOST_TEST(lwhy.find("no response") != std::string::npos, lwhy);
    co_return 0;
  }());
  c.reset();
  server.stop();
  test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_mcp_http
