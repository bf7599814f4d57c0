// The mock's Anthropic Messages endpoint over a real loopback socket, with conclave's HTTP
// client and hand-written bodies (no Anthropic adapter in between): the streamed events in
// order, the faults in Anthropic's shapes, the rate-limit headers, tool use, the thinking
// replay check, the header checks and the per-wire counters.
#include "run.hpp"

#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <regex>

namespace integration_test_mock_anthropic {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
using namespace conclave;
namespace json = boost::json;

namespace {

const char* const add_tool =
    R"({"name":"add","description":"Adds","input_schema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}})";

struct fixture {
  explicit fixture(mock::mock_options o = {})
      : server(io.get_executor(), o), client(io.get_executor()) {
    server.start();
  }
  ~fixture() {
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }

  // POST `body` to .../messages with the headers Anthropic wants (those in `skip` left out),
  // plus `extra`.
  http::response post(std::string body, std::vector<std::pair<std::string, std::string>> extra = {},
                      const std::string& skip = "") {
    const auto parsed = http::parse_base_url(server.base_url());
    BOOST_REQUIRE(parsed);
    const http::base_url& base = *parsed;
    http::request_message m{boost::beast::http::verb::post, base.target("messages"), 11};
    m.set(boost::beast::http::field::content_type, "application/json");
    m.set(boost::beast::http::field::host, base.where.host);
    if (skip != "anthropic-version") m.set("anthropic-version", "2023-06-01");
    for (const auto& [name, value] : extra) m.set(name, value);
    m.body() = std::move(body);
    m.prepare_payload();
    return conclave::test::run(
        io, client.request(base.where, std::move(m), http::client::clock::now() + 10s));
  }

  // A request for `model` asking `question` (messages given whole with `messages`).
  static std::string ask(
      const std::string& model, bool stream = false, const std::string& more = "",
      const std::string& messages = R"([{"role":"user","content":"What is 2 + 3?"}])") {
    return R"({"model":")" + model + R"(","max_tokens":2048,"stream":)" +
           (stream ? "true" : "false") + R"(,"messages":)" + messages +
           (more.empty() ? "" : "," + more) + "}";
  }

  boost::asio::io_context io;
  mock::mock_server server;
  http::client client;
};

struct sse {
  std::string event;
  json::value data;  // null when the data line is not JSON
};

// The events of an SSE body, each "event: X\ndata: Y" block in order.
std::vector<sse> events_of(const std::string& body) {
  std::vector<sse> out;
  std::size_t at = 0;
  while (at < body.size()) {
    auto end = body.find("\n\n", at);
    if (end == std::string::npos) end = body.size();
    const std::string block = body.substr(at, end - at);
    at = end + 2;
    if (block.empty()) continue;
    sse e;
    const auto nl = block.find('\n');
    BOOST_REQUIRE_MESSAGE(block.starts_with("event: ") && nl != std::string::npos, block);
    e.event = block.substr(7, nl - 7);
    BOOST_REQUIRE(block.compare(nl + 1, 6, "data: ") == 0);
    boost::system::error_code ec;
    e.data = json::parse(block.substr(nl + 7), ec);
    if (ec) e.data = nullptr;
    out.push_back(std::move(e));
  }
  return out;
}

std::string error_type(const std::string& body) {
  const auto v = json::parse(body);
  BOOST_CHECK_EQUAL(v.at("type").as_string(), "error");
  BOOST_CHECK(v.at("request_id").as_string().starts_with("req_"));
  return std::string(v.at("error").at("type").as_string());
}

std::string header(const http::response& r, const std::string& name) {
  return std::string(r.headers[name]);
}

const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");

// The tool_result user turn answering every tool_use of `content`, with "5".
std::string results_for(const json::array& content) {
  std::string out;
  for (const auto& b : content) {
    if (b.at("type").as_string() != "tool_use") continue;
    out += std::string(out.empty() ? "" : ",") + R"({"type":"tool_result","tool_use_id":)" +
           json::serialize(b.at("id")) + R"(,"content":"5"})";
  }
  return R"({"role":"user","content":[)" + out + "]}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_anthropic)

BOOST_AUTO_TEST_CASE(a_streamed_reply_in_anthropic_order_with_pings) {
  fixture f;
  const auto r = f.post(fixture::ask("mock", true));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  BOOST_CHECK(header(r, "content-type").starts_with("text/event-stream"));
  BOOST_CHECK(header(r, "request-id").starts_with("req_"));
  const auto events = events_of(r.body);
  BOOST_REQUIRE_GE(events.size(), 7u);
  for (const auto& e : events) BOOST_CHECK_EQUAL(e.data.at("type").as_string(), e.event);
  BOOST_CHECK_EQUAL(events[0].event, "message_start");
  BOOST_CHECK_EQUAL(events[1].event, "ping");
  BOOST_CHECK_EQUAL(events[2].event, "content_block_start");
  BOOST_CHECK_EQUAL(events[events.size() - 3].event, "content_block_stop");
  BOOST_CHECK_EQUAL(events[events.size() - 2].event, "message_delta");
  BOOST_CHECK_EQUAL(events.back().event, "message_stop");
  std::string text;
  for (std::size_t i = 3; i + 3 < events.size(); ++i) {
    BOOST_CHECK_EQUAL(events[i].event, "content_block_delta");
    text += events[i].data.at("delta").at("text").as_string();
  }
  // The same words as the whole reply, and the same usage.
  const auto whole = json::parse(f.post(fixture::ask("mock")).body);
  BOOST_CHECK_EQUAL(text, whole.at("content").at(0).at("text").as_string());
  BOOST_CHECK_EQUAL(events[events.size() - 2].data.at("usage").at("output_tokens"),
                    whole.at("usage").at("output_tokens"));
  BOOST_CHECK_EQUAL(events[0].data.at("message").at("usage").at("input_tokens"),
                    whole.at("usage").at("input_tokens"));
}

BOOST_AUTO_TEST_CASE(overloaded_is_529_and_faults_take_anthropic_shapes) {
  fixture f;
  for (const char* model : {"mock-529", "mock-503"}) {
    const auto r = f.post(fixture::ask(model));
    BOOST_CHECK_EQUAL(r.status, 529u);
    BOOST_CHECK_EQUAL(error_type(r.body), "overloaded_error");
    BOOST_CHECK_EQUAL(json::parse(r.body).at("error").at("message").as_string(), "Overloaded");
  }
  auto r = f.post(fixture::ask("mock-500"));
  BOOST_CHECK_EQUAL(r.status, 500u);
  BOOST_CHECK_EQUAL(error_type(r.body), "api_error");
  r = f.post(fixture::ask("mock-429"));
  BOOST_CHECK_EQUAL(r.status, 429u);
  BOOST_CHECK_EQUAL(error_type(r.body), "rate_limit_error");
  BOOST_CHECK_GE(std::stoi(header(r, "retry-after")), 1);
  BOOST_CHECK_EQUAL(header(r, "anthropic-ratelimit-requests-remaining"), "0");
  BOOST_CHECK_EQUAL(json::parse(r.body).at("request_id").as_string(), header(r, "request-id"));
}

BOOST_AUTO_TEST_CASE(an_error_event_after_200_then_close) {
  fixture f;
  const auto opened = f.client.stats().connections_opened;
  const auto r = f.post(fixture::ask("mock-error-event", true));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  const auto events = events_of(r.body);
  BOOST_REQUIRE_GE(events.size(), 2u);
  BOOST_CHECK_EQUAL(events.front().event, "message_start");
  BOOST_CHECK_EQUAL(events.back().event, "error");
  BOOST_CHECK_EQUAL(events.back().data.at("error").at("type").as_string(), "overloaded_error");
  bool text = false, stopped = false;
  for (const auto& e : events) {
    text = text || e.event == "content_block_delta";
    stopped = stopped || e.event == "message_stop";
  }
  BOOST_CHECK(text);      // some words went out first
  BOOST_CHECK(!stopped);  // never a message_stop
  // The server closed that connection: the next call needs a new one.
  BOOST_CHECK_EQUAL(f.post(fixture::ask("mock")).status, 200u);
  BOOST_CHECK_EQUAL(f.client.stats().connections_opened, opened + 2);
  // The other cut streams: truncated ends without message_stop, malformed sends bad JSON.
  auto cut = events_of(f.post(fixture::ask("mock-truncated", true)).body);
  BOOST_CHECK_NE(cut.back().event, "message_stop");
  cut = events_of(f.post(fixture::ask("mock-malformed", true)).body);
  BOOST_CHECK(cut.back().data.is_null());
}

BOOST_AUTO_TEST_CASE(rate_limit_headers_on_every_reply_and_the_enforced_limit) {
  mock::mock_options o;
  o.rate_limit_requests = 1;
  fixture f(o);
  auto r = f.post(fixture::ask("mock"));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  for (const char* kind : {"requests", "tokens", "input-tokens", "output-tokens"}) {
    const std::string prefix = std::string("anthropic-ratelimit-") + kind;
    BOOST_TEST_CONTEXT(prefix) {
      BOOST_CHECK(!header(r, prefix + "-limit").empty());
      BOOST_CHECK(!header(r, prefix + "-remaining").empty());
      BOOST_CHECK(std::regex_match(header(r, prefix + "-reset"), rfc3339));
    }
  }
  BOOST_CHECK_EQUAL(header(r, "anthropic-ratelimit-requests-limit"), "1");
  BOOST_CHECK_EQUAL(header(r, "anthropic-ratelimit-requests-remaining"), "0");
  r = f.post(fixture::ask("mock"));
  BOOST_CHECK_EQUAL(r.status, 429u);
  BOOST_CHECK_EQUAL(error_type(r.body), "rate_limit_error");
  BOOST_CHECK(!header(r, "retry-after").empty());
  BOOST_CHECK_EQUAL(f.server.stats().rate_limited, 1u);
}

BOOST_AUTO_TEST_CASE(a_tool_loop) {
  fixture f;
  const std::string tools = std::string(R"("tools":[)") + add_tool + "]";
  const std::string question = R"({"role":"user","content":"What is 2 + 3?"})";
  auto r = f.post(fixture::ask("mock", false, tools));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  const auto first = json::parse(r.body);
  BOOST_CHECK_EQUAL(first.at("stop_reason").as_string(), "tool_use");
  const auto& call = first.at("content").at(0);
  BOOST_CHECK_EQUAL(call.at("type").as_string(), "tool_use");
  BOOST_CHECK(call.at("id").as_string().starts_with("toolu_"));
  BOOST_CHECK_EQUAL(call.at("input"), json::parse(R"({"a":2,"b":3})"));
  const std::string loop = "[" + question + R"(,{"role":"assistant","content":)" +
                           json::serialize(first.at("content")) + "}," +
                           results_for(first.at("content").as_array()) + "]";
  r = f.post(fixture::ask("mock", true, tools, loop));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  std::string text;
  std::string stop;
  for (const auto& e : events_of(r.body)) {
    if (e.event == "content_block_delta") text += e.data.at("delta").at("text").as_string();
    if (e.event == "message_delta") stop = e.data.at("delta").at("stop_reason").as_string();
  }
  BOOST_CHECK_EQUAL(stop, "end_turn");
  BOOST_CHECK_MESSAGE(text.ends_with("Tool add said: 5."), text);
  // A result for a call that was never made: Anthropic's 400.
  const std::string stray = "[" + question + R"(,{"role":"assistant","content":"Sure."},)" +
                            results_for(first.at("content").as_array()) + "]";
  r = f.post(fixture::ask("mock", false, tools, stray));
  BOOST_CHECK_EQUAL(r.status, 400u);
  BOOST_CHECK_EQUAL(error_type(r.body), "invalid_request_error");
}

BOOST_AUTO_TEST_CASE(thinking_must_be_replayed_in_a_tool_loop) {
  fixture f;
  const std::string tools = std::string(R"("tools":[)") + add_tool + "]";
  const std::string question = R"({"role":"user","content":"What is 2 + 3?"})";
  auto r = f.post(fixture::ask("mock-think-tools", false, tools));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  const auto first = json::parse(r.body);
  const auto& content = first.at("content").as_array();
  BOOST_REQUIRE_EQUAL(content.size(), 2u);
  BOOST_CHECK_EQUAL(content[0].at("type").as_string(), "thinking");
  BOOST_CHECK_EQUAL(content[1].at("type").as_string(), "tool_use");
  auto loop = [&](const json::array& assistant) {
    return "[" + question + R"(,{"role":"assistant","content":)" + json::serialize(assistant) +
           "}," + results_for(content) + "]";
  };
  // Replayed as given: 200, and the answer thinks again before it speaks.
  r = f.post(fixture::ask("mock-think-tools", false, tools, loop(content)));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  const auto next = json::parse(r.body);
  BOOST_CHECK_EQUAL(next.at("content").at(0).at("type").as_string(), "thinking");
  BOOST_CHECK(next.at("content").at(1).at("text").as_string().ends_with("Tool add said: 5."));
  // Dropped: 400 naming the turn.
  json::array without(content.begin() + 1, content.end());
  r = f.post(fixture::ask("mock-think-tools", false, tools, loop(without)));
  BOOST_CHECK_EQUAL(r.status, 400u);
  BOOST_CHECK_EQUAL(error_type(r.body), "invalid_request_error");
  const std::string message(json::parse(r.body).at("error").at("message").as_string());
  BOOST_CHECK_MESSAGE(message.starts_with("messages.1.content.0.type: Expected `thinking`"),
                      message);
  // Edited: 400 on its signature.
  json::array edited = content;
  edited[0].as_object()["thinking"] = "I never thought that.";
  r = f.post(fixture::ask("mock-think-tools", false, tools, loop(edited)));
  BOOST_CHECK_EQUAL(r.status, 400u);
  BOOST_CHECK(std::string(json::parse(r.body).at("error").at("message").as_string())
                  .ends_with("Invalid `signature` in `thinking` block"));
}

BOOST_AUTO_TEST_CASE(headers_anthropic_requires) {
  mock::mock_options o;
  o.required_api_key = "sk-ant-right";
  fixture f(o);
  auto r = f.post(fixture::ask("mock"), {{"x-api-key", "sk-ant-right"}}, "anthropic-version");
  BOOST_CHECK_EQUAL(r.status, 400u);
  BOOST_CHECK_EQUAL(json::parse(r.body).at("error").at("message").as_string(),
                    "anthropic-version: header is required");
  r = f.post(fixture::ask("mock"), {{"x-api-key", "sk-ant-wrong"}});
  BOOST_CHECK_EQUAL(r.status, 401u);
  BOOST_CHECK_EQUAL(error_type(r.body), "authentication_error");
  r = f.post(fixture::ask("mock"));
  BOOST_CHECK_EQUAL(r.status, 401u);
  BOOST_CHECK_EQUAL(json::parse(r.body).at("error").at("message").as_string(),
                    "x-api-key header is required");
  BOOST_CHECK_EQUAL(f.post(fixture::ask("mock"), {{"x-api-key", "sk-ant-right"}}).status, 200u);
  BOOST_CHECK_EQUAL(f.post(fixture::ask("mock"), {{"authorization", "Bearer sk-ant-right"}}).status,
                    200u);
  r = f.post(R"({"model":"mock","messages":[{"role":"user","content":"Hi"}]})",
             {{"x-api-key", "sk-ant-right"}});
  BOOST_CHECK_EQUAL(r.status, 400u);
  BOOST_CHECK_EQUAL(json::parse(r.body).at("error").at("message").as_string(),
                    "max_tokens: Field required");
}

BOOST_AUTO_TEST_CASE(calls_are_counted_per_wire) {
  fixture f;
  for (const char* model : {"mock", "mock-529", "mock-think"}) f.post(fixture::ask(model));
  f.post(fixture::ask("mock"), {}, "anthropic-version");  // refused, still a call on the wire
  auto s = f.server.stats();
  BOOST_CHECK_EQUAL(s.anthropic_calls, 4u);
  BOOST_CHECK_EQUAL(s.openai_calls, 0u);
  BOOST_CHECK_EQUAL(s.completions, 2u);  // mock and mock-think answered normally
  BOOST_CHECK_EQUAL(s.faults_by_kind["529"], 1u);
  // One call on the OpenAI wire, and the stats endpoint says the same.
  const auto base = *http::parse_base_url(f.server.base_url());
  http::request_message m{boost::beast::http::verb::post, base.target("chat/completions"), 11};
  m.set(boost::beast::http::field::host, base.where.host);
  m.body() = R"({"model":"mock","messages":[{"role":"user","content":"Hi"}]})";
  m.prepare_payload();
  const auto chat = conclave::test::run(f.io, f.client.request(base.where, std::move(m)));
  BOOST_CHECK_EQUAL(chat.status, 200u);
  s = f.server.stats();
  BOOST_CHECK_EQUAL(s.openai_calls, 1u);
  BOOST_CHECK_EQUAL(s.anthropic_calls, 4u);
  http::request_message get{boost::beast::http::verb::get, base.target("stats"), 11};
  get.set(boost::beast::http::field::host, base.where.host);
  const auto stats =
      json::parse(conclave::test::run(f.io, f.client.request(base.where, std::move(get))).body);
  BOOST_CHECK_EQUAL(stats.at("calls_by_wire"), json::parse(R"({"openai":1,"anthropic":4})"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_mock_anthropic
