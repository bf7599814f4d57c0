// The mock playing tool use, driven by the OpenAI adapter over loopback: whole and streamed
// tool turns, the compatible servers' stream shapes, results fed back, and the tool faults.
#include "model_call.hpp"
#include "run.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

namespace integration_test_mock_tools {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
using namespace conclave;

namespace {

using outcome = conclave::test::call_result;

const char* const add_schema =
    R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]})";
const char* const echo_schema =
    R"({"type":"object","properties":{"message":{"type":"string"}},"required":["message"]})";

struct fixture {
  fixture() : server(io.get_executor(), mock_opts()), client(io.get_executor()) {
    server.start();
    openai::openai_options o;
    o.base_url = server.base_url();
    o.default_model = "mock";
    o.request_timeout = 10s;
    llm = std::make_unique<openai::openai_model>(client, o);
  }
  ~fixture() {
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }

  static mock::mock_options mock_opts() {
    mock::mock_options m;
    m.drip_interval = 1ms;
    return m;
  }

  // The question with the calculator and echo tools offered.
  static chat_request question(const std::string& model, bool stream) {
    chat_request req;
    req.model = model;
    req.stream = stream;
    req.messages = {{role::system, "Use tools."}, {role::user, "What is 2 + 3?"}};
    req.tools = {{"add", "Adds two numbers", add_schema}, {"echo", "Echoes", echo_schema}};
    return req;
  }

  outcome call(chat_request req) { return conclave::test::complete(io, *llm, std::move(req)); }

  // The mock's reply to a hand-written body, as bytes (no adapter in between).
  http::response post(std::string body) {
    const auto parsed = http::parse_base_url(server.base_url());
    BOOST_REQUIRE(parsed);
    const http::base_url& base = *parsed;
    http::request_message m{boost::beast::http::verb::post, base.target("chat/completions"), 11};
    m.set(boost::beast::http::field::content_type, "application/json");
    m.set(boost::beast::http::field::host, base.where.host);
    m.body() = std::move(body);
    m.prepare_payload();
    return conclave::test::run(
        io, client.request(base.where, std::move(m), http::client::clock::now() + 10s));
  }

  boost::asio::io_context io;
  mock::mock_server server;
  http::client client;
  std::unique_ptr<openai::openai_model> llm;
};

// What the tools would say: "5" for add, the message for echo.
void feed_results(chat_request& req, const chat_response& turn) {
  req.messages.push_back(turn.message);
  for (const auto& c : turn.message.tool_calls()) {
    req.messages.push_back(chat_message::from_result({c.id, c.name == "add" ? "5" : "hello"}));
  }
}

std::string described(const std::vector<tool_call>& calls) {
  std::string out;
  for (const auto& c : calls) out += c.id + " " + c.name + " " + c.arguments + "\n";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_tools)

BOOST_AUTO_TEST_CASE(a_whole_tool_turn_then_a_final_text_quoting_the_results) {
  fixture f;
  auto req = fixture::question("mock", false);
  auto turn = f.call(req);
  BOOST_REQUIRE_MESSAGE(!turn.ec, turn.ec.message() + ": " + turn.response.diag.message);
  BOOST_CHECK(turn.response.stop == stop_reason::tool_use);
  BOOST_CHECK_EQUAL(turn.response.finish_reason, "tool_calls");
  BOOST_CHECK(turn.response.text().empty());
  const auto calls = turn.response.message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 2u);  // two tools, parallel calls allowed
  std::set<std::string> names;
  for (const auto& c : calls) {
    names.insert(c.name);
    BOOST_CHECK_EQUAL(c.arguments, c.name == "add" ? R"({"a":2,"b":3})" : R"({"message":"hello"})");
  }
  BOOST_CHECK_EQUAL(names.size(), 2u);
  BOOST_CHECK_EQUAL(calls[0].id, "call_1");
  BOOST_CHECK_EQUAL(calls[1].id, "call_2");
  BOOST_CHECK_GT(turn.response.tokens.completion_tokens, 0);

  feed_results(req, turn.response);
  auto final = f.call(req);
  BOOST_REQUIRE_MESSAGE(!final.ec, final.response.diag.message);
  BOOST_CHECK(final.response.stop == stop_reason::end);
  BOOST_CHECK(!final.response.message.has_tool_calls());
  const std::string text = final.response.text();
  BOOST_CHECK_MESSAGE(text.find("Tool add said: 5.") != std::string::npos, text);
  BOOST_CHECK_MESSAGE(text.find("Tool echo said: hello.") != std::string::npos, text);
  BOOST_CHECK(text.starts_with("On \"What is 2 + 3?\":"));
}

BOOST_AUTO_TEST_CASE(streamed_tool_turns_arrive_in_fragments_and_decode_whole) {
  fixture f;
  const auto whole = f.call(fixture::question("mock", false));
  BOOST_REQUIRE(!whole.ec);
  const std::string expected = described(whole.response.message.tool_calls());
  // OpenAI's shape, and the compatible servers': no index, the name late, both.
  for (const char* model :
       {"mock", "mock-tools-noindex", "mock-tools-late-name", "mock-tools-noindex-late-name"}) {
    BOOST_TEST_CONTEXT("model: " << model) {
      auto o = f.call(fixture::question(model, true));
      BOOST_REQUIRE_MESSAGE(!o.ec, o.ec.message() + ": " + o.response.diag.message);
      BOOST_CHECK(o.response.stop == stop_reason::tool_use);
      BOOST_CHECK_EQUAL(o.response.finish_reason, "tool_calls");
      BOOST_CHECK_EQUAL(described(o.response.message.tool_calls()), expected);
      // Per call: an opening fragment, then its arguments in three pieces.
      BOOST_CHECK_EQUAL(o.tool_fragment_strings.size(), 8u);
      std::string arguments;
      for (const auto& s : o.tool_fragment_strings) arguments += s.substr(s.rfind('|') + 1);
      std::string whole_arguments;
      for (const auto& c : whole.response.message.tool_calls()) whole_arguments += c.arguments;
      BOOST_CHECK_EQUAL(arguments, whole_arguments);
      // Usage counted as for the whole reply.
      BOOST_CHECK_EQUAL(o.response.tokens.completion_tokens,
                        whole.response.tokens.completion_tokens);
      BOOST_CHECK(o.deltas.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(rounds_choice_and_a_plain_request) {
  fixture f;
  for (bool stream : {false, true}) {
    BOOST_TEST_CONTEXT("stream: " << stream) {
      // mock-tools-3: three tool rounds, then the answer.
      auto req = fixture::question("mock-tools-3", stream);
      for (int round = 0; round < 3; ++round) {
        auto turn = f.call(req);
        BOOST_REQUIRE_MESSAGE(!turn.ec, turn.response.diag.message);
        BOOST_REQUIRE(turn.response.stop == stop_reason::tool_use);
        feed_results(req, turn.response);
      }
      auto final = f.call(req);
      BOOST_REQUIRE(!final.ec);
      BOOST_CHECK(final.response.stop == stop_reason::end);
      BOOST_CHECK(final.response.text().find(" said: ") != std::string::npos);

      // A named tool alone, one call when parallel calls are off, none with "none".
      auto named = fixture::question("mock", stream);
      named.choice = {tool_choice::mode::named, "echo"};
      auto n = f.call(named);
      BOOST_REQUIRE(!n.ec);
      BOOST_CHECK_EQUAL(described(n.response.message.tool_calls()),
                        "call_1 echo {\"message\":\"hello\"}\n");
      auto single = fixture::question("mock", stream);
      single.parallel_tool_calls = false;
      BOOST_CHECK_EQUAL(f.call(single).response.message.tool_calls().size(), 1u);
      auto none = fixture::question("mock", stream);
      none.choice = {tool_choice::mode::none, ""};
      auto t = f.call(none);
      BOOST_CHECK(t.response.stop == stop_reason::end);
      BOOST_CHECK(!t.response.text().empty());

      // No tools offered: mock-tools answers as the plain mock does.
      auto plain = fixture::question("mock-tools", stream);
      plain.tools.clear();
      auto p = f.call(plain);
      BOOST_REQUIRE(!p.ec);
      BOOST_CHECK(p.response.stop == stop_reason::end);
      BOOST_CHECK(p.response.text().starts_with("On \"What is 2 + 3?\":"));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_tool_turn_may_say_stop_and_is_still_a_tool_turn) {
  fixture f;
  for (bool stream : {false, true}) {
    auto o = f.call(fixture::question("mock-tools-finish-stop", stream));
    BOOST_REQUIRE(!o.ec);
    BOOST_CHECK_EQUAL(o.response.finish_reason, "stop");
    BOOST_CHECK(o.response.stop == stop_reason::tool_use);
    BOOST_CHECK_EQUAL(o.response.message.tool_calls().size(), 2u);
  }
}

BOOST_AUTO_TEST_CASE(tool_faults_are_observable) {
  fixture f;
  for (bool stream : {false, true}) {
    BOOST_TEST_CONTEXT("stream: " << stream) {
      // Arguments that are not JSON arrive as sent, for the agent to refuse with an error
      // result the model can act on.
      auto malformed = f.call(fixture::question("mock-tools-malformed", stream));
      BOOST_REQUIRE(!malformed.ec);
      const auto sent = malformed.response.message.tool_calls();
      BOOST_REQUIRE(!sent.empty());
      BOOST_CHECK_MESSAGE(sent[0].arguments.back() != '}', sent[0].arguments);
      // ...and fed back as an error result, the next turn answers.
      auto req = fixture::question("mock-tools-malformed", stream);
      req.messages.push_back(assistant_message("", {{"call_1", "add", "{}"}}));
      req.messages.push_back(chat_message::from_result({"call_1", "bad arguments", true}));
      auto after = f.call(req);
      BOOST_REQUIRE(!after.ec);
      BOOST_CHECK(after.response.text().find("Tool add said: Error: bad arguments.") !=
                  std::string::npos);

      // A tool that was not offered decodes fine; the engine must refuse it.
      auto unknown = f.call(fixture::question("mock-tools-unknown", stream));
      BOOST_REQUIRE(!unknown.ec);
      BOOST_CHECK_EQUAL(unknown.response.message.tool_calls().at(0).name, "no_such_tool");

      // Endless: the same call every turn; varied: the arguments change.
      for (const char* model : {"mock-tools-endless", "mock-tools-endless-varied"}) {
        auto loop = fixture::question(model, stream);
        loop.parallel_tool_calls = false;
        std::set<std::string> calls;
        for (int turn = 0; turn < 4; ++turn) {
          auto o = f.call(loop);
          BOOST_REQUIRE(!o.ec);
          BOOST_REQUIRE(o.response.stop == stop_reason::tool_use);
          const auto c = o.response.message.tool_calls().at(0);
          calls.insert(c.name + c.arguments);
          feed_results(loop, o.response);
        }
        BOOST_CHECK_EQUAL(calls.size(), std::string_view(model).ends_with("varied") ? 4u : 1u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(transport_faults_strike_tool_turns_too) {
  fixture f;
  auto dripped = f.call(fixture::question("mock-drip", true));
  BOOST_REQUIRE(!dripped.ec);
  BOOST_CHECK_EQUAL(dripped.response.message.tool_calls().size(), 2u);
  BOOST_CHECK(f.call(fixture::question("mock-truncated", true)).ec == error::stream_truncated);
  BOOST_CHECK(f.call(fixture::question("mock-malformed", true)).ec == error::bad_response);
  BOOST_CHECK(f.call(fixture::question("mock-malformed", false)).ec == error::bad_response);
}

// The streamed shapes themselves, as bytes: OpenAI's numbered fragments, none numbered, the name
// in the second fragment.
BOOST_AUTO_TEST_CASE(stream_shapes_on_the_wire) {
  fixture f;
  const auto body = [](const std::string& model) {
    return R"({"model":")" + model +
           R"(","stream":true,"messages":[{"role":"user","content":"What is 2 + 3?"}],)"
           R"("tools":[{"type":"function","function":{"name":"add","parameters":)" +
           std::string(add_schema) + "}}]}";
  };
  const auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  const auto openai = f.post(body("mock"));
  BOOST_REQUIRE_EQUAL(openai.status, 200u);
  BOOST_CHECK_EQUAL(count(openai.body, R"("tool_calls":[{"index":0,)"), 4u);
  BOOST_CHECK_EQUAL(
      count(
          openai.body,
          R"({"index":0,"id":"call_1","type":"function","function":{"arguments":"","name":"add"}})"),
      1u);
  BOOST_CHECK_EQUAL(count(openai.body, R"("delta":{"role":"assistant","content":null})"), 1u);
  BOOST_CHECK_EQUAL(count(openai.body, R"("finish_reason":"tool_calls")"), 1u);
  BOOST_CHECK(openai.body.ends_with("data: [DONE]\n\n"));

  const auto no_index = f.post(body("mock-tools-noindex"));
  BOOST_CHECK_EQUAL(count(no_index.body, R"("tool_calls":[{"index")"), 0u);
  BOOST_CHECK_EQUAL(count(no_index.body, R"("tool_calls":[{"id":"call_1")"), 1u);

  const auto late = f.post(body("mock-tools-late-name"));
  BOOST_CHECK_EQUAL(count(late.body, R"("function":{"arguments":""})"), 1u);
  BOOST_CHECK_EQUAL(count(late.body, R"("name":"add")"), 1u);
  BOOST_CHECK_EQUAL(count(late.body, R"("function":{"arguments":"{\"a\"","name":"add"})"), 1u);

  // A bad tools shape: a 400 with an OpenAI error body saying what is wrong.
  const auto bad = f.post(
      R"({"model":"mock","messages":[{"role":"user","content":"x"}],"tools":[{"type":"retrieval"}]})");
  BOOST_CHECK_EQUAL(bad.status, 400u);
  const auto error = boost::json::parse(bad.body).at("error");
  BOOST_CHECK_EQUAL(error.at("type").as_string(), "invalid_request_error");
  BOOST_CHECK(std::string(error.at("message").as_string()).find("'type': \"function\"") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_mistyped_tool_mode_is_a_bad_request) {
  fixture f;
  auto o = f.call(fixture::question("mock-tools-endles", false));
  BOOST_CHECK(o.ec == error::bad_request);
  BOOST_CHECK_EQUAL(o.response.diag.http_status, 400);
  BOOST_CHECK_MESSAGE(
      o.response.diag.message.find("unknown tool mode 'endles'") != std::string::npos,
      o.response.diag.message);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_mock_tools
