// The Anthropic Messages wire without a socket, request side: system, roles merged, tool
// turns, replayed thinking, tool_choice, the tool check and the HTTP request the codec builds.
// Replies: test_anthropic_reply.cpp; streams: test_anthropic_stream.cpp.
#include <conclave/anthropic/wire.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_anthropic_wire {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;
using namespace conclave::anthropic;

namespace {

json::object encode(const chat_request& req, bool stream = false) {
  return json::parse(encode_messages_request(req, "claude-x", stream)).as_object();
}

// A copy: a reference into a temporary body would dangle.
json::array messages_of(const chat_request& req) { return encode(req).at("messages").as_array(); }

std::string compact(const json::value& v) { return json::serialize(v); }

chat_message tool_turn(std::string words, std::vector<tool_call> calls, replay_blocks replay = {}) {
  auto m = assistant_message(std::move(words), std::move(calls));
  m.replay = std::move(replay);
  return m;
}

chat_request with_tools(tool_choice choice, std::optional<bool> parallel = std::nullopt) {
  chat_request req;
  req.messages = {{role::user, "hi"}};
  req.tools = {{"weather", "Weather by city", R"({"type":"object","properties":{}})"},
               {"time", "", R"({"type":"object"})"}};
  req.choice = std::move(choice);
  req.parallel_tool_calls = parallel;
  return req;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(anthropic_wire)

BOOST_AUTO_TEST_CASE(system_goes_top_level_and_max_tokens_is_always_sent) {
  chat_request req;
  req.messages = {{role::system, "be brief"}, {role::user, "hi"}, {role::system, "be kind"}};
  const auto body = encode(req);
  BOOST_CHECK_EQUAL(body.at("model").as_string(), "claude-x");
  BOOST_CHECK_EQUAL(body.at("max_tokens").as_int64(), 4096);
  BOOST_CHECK_EQUAL(body.at("system").as_string(), "be brief\n\nbe kind");
  BOOST_REQUIRE_EQUAL(body.at("messages").as_array().size(), 1u);
  BOOST_CHECK_EQUAL(compact(body.at("messages").as_array()[0]),
                    R"({"role":"user","content":[{"type":"text","text":"hi"}]})");
  BOOST_CHECK(!body.contains("stream"));
  BOOST_CHECK(!body.contains("temperature"));
  BOOST_CHECK(!body.contains("tools"));

  req.messages = {{role::user, "hi"}};
  req.model = "claude-y";
  req.max_tokens = 64;
  req.temperature = 0.5;
  const auto set = encode(req, true);
  BOOST_CHECK(!set.contains("system"));
  BOOST_CHECK_EQUAL(set.at("model").as_string(), "claude-y");
  BOOST_CHECK_EQUAL(set.at("max_tokens").as_int64(), 64);
  BOOST_CHECK_EQUAL(set.at("temperature").as_double(), 0.5);
  BOOST_CHECK(set.at("stream").as_bool());
}

BOOST_AUTO_TEST_CASE(a_tool_turn_replays_thinking_first_then_text_then_tool_use) {
  const std::string thinking =
      R"([{"type":"thinking","thinking":"Let me see.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"}])";
  chat_request req;
  req.messages = {{role::user, "weather?"},
                  tool_turn("Checking.", {{"toolu_1", "weather", R"({"city":"Oslo"})"}},
                            {"anthropic", thinking}),
                  chat_message::from_result({"toolu_1", "rain", false})};
  const auto m = messages_of(req);
  BOOST_REQUIRE_EQUAL(m.size(), 3u);
  BOOST_CHECK_EQUAL(m[1].at("role").as_string(), "assistant");
  const auto& content = m[1].at("content").as_array();
  BOOST_REQUIRE_EQUAL(content.size(), 4u);
  BOOST_CHECK_EQUAL(compact(content[0]), compact(json::parse(thinking).as_array()[0]));
  BOOST_CHECK_EQUAL(compact(content[1]), compact(json::parse(thinking).as_array()[1]));
  BOOST_CHECK_EQUAL(compact(content[2]), R"({"type":"text","text":"Checking."})");
  BOOST_CHECK_EQUAL(
      compact(content[3]),
      R"({"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Oslo"}})");
  BOOST_CHECK_EQUAL(
      compact(m[2]),
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"rain"}]})");
}

BOOST_AUTO_TEST_CASE(what_a_tool_turn_sends_when_the_model_sent_odd_things) {
  const struct {
    const char* arguments;
    const char* input;
  } cases[] = {{"{}", "{}"},
               {"", "{}"},  // nothing: no arguments
               {R"({"a":[1,2]})", R"({"a":[1,2]})"},
               {"{\"city\":", "{}"},  // the model's broken JSON: the API takes only objects
               {"[1]", "{}"},
               {"\"text\"", "{}"}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("arguments: " << c.arguments) {
      chat_request req;
      req.messages = {{role::user, "go"}, tool_turn("", {{"t1", "f", c.arguments}})};
      const auto m = messages_of(req);
      const auto& content = m[1].at("content").as_array();
      BOOST_REQUIRE_EQUAL(content.size(), 1u);  // no empty text block
      BOOST_CHECK_EQUAL(compact(content[0].at("input")), c.input);
    }
  }
  // Another wire's replay, or one that is not an array, is not sent to Anthropic.
  for (replay_blocks replay : {replay_blocks{"openai", R"([{"type":"thinking"}])"},
                               replay_blocks{"anthropic", R"({"type":"thinking"})"},
                               replay_blocks{"anthropic", "[oops"}}) {
    chat_request req;
    req.messages = {{role::user, "go"}, tool_turn("", {{"t1", "f", "{}"}}, replay)};
    req.messages[1].reasoning = "unsigned reasoning from elsewhere";
    BOOST_CHECK_EQUAL(messages_of(req)[1].at("content").as_array().size(), 1u);
  }
}

BOOST_AUTO_TEST_CASE(results_of_one_turn_go_in_one_user_message_in_order) {
  chat_request req;
  req.messages = {{role::user, "two things"},
                  tool_turn("", {{"a", "f", "{}"}, {"b", "g", "{}"}}),
                  chat_message::from_result({"a", "one", false}),
                  chat_message::from_result({"b", "no such file", true}),
                  {role::user, "and then?"}};
  const auto m = messages_of(req);
  BOOST_REQUIRE_EQUAL(m.size(), 3u);
  BOOST_CHECK_EQUAL(
      compact(m[2]),
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"one"},)"
      R"({"type":"tool_result","tool_use_id":"b","content":"no such file","is_error":true},)"
      R"({"type":"text","text":"and then?"}]})");
}

BOOST_AUTO_TEST_CASE(consecutive_messages_of_one_role_are_merged) {
  chat_request req;
  req.messages = {{role::user, "one"},    {role::user, "two"}, {role::assistant, "a"},
                  {role::assistant, "b"}, {role::system, "s"}, {role::assistant, "c"},
                  {role::user, ""}};
  const auto body = encode(req);
  const auto& m = body.at("messages").as_array();
  BOOST_REQUIRE_EQUAL(m.size(), 3u);
  BOOST_CHECK_EQUAL(
      compact(m[0]),
      R"({"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]})");
  BOOST_CHECK_EQUAL(m[1].at("content").as_array().size(), 3u);  // a system between: still one
  BOOST_CHECK_EQUAL(m[2].at("content").as_array().size(), 0u);  // as sent; the server decides
  BOOST_CHECK_EQUAL(body.at("system").as_string(), "s");

  // A leading assistant message is encoded as it is: not ours to refuse.
  chat_request lead;
  lead.messages = {{role::assistant, "prefill"}};
  BOOST_CHECK_EQUAL(messages_of(lead)[0].at("role").as_string(), "assistant");
}

BOOST_AUTO_TEST_CASE(tools_and_tool_choice) {
  const auto body = encode(with_tools({}));
  BOOST_CHECK_EQUAL(
      compact(body.at("tools")),
      R"([{"name":"weather","description":"Weather by city","input_schema":{"type":"object","properties":{}}},)"
      R"({"name":"time","input_schema":{"type":"object"}}])");
  using mode = tool_choice::mode;
  const struct {
    tool_choice choice;
    std::optional<bool> parallel;
    const char* expected;
  } cases[] = {
      {{mode::automatic, ""}, std::nullopt, R"({"type":"auto"})"},
      {{mode::required, ""}, std::nullopt, R"({"type":"any"})"},
      {{mode::named, "time"}, std::nullopt, R"({"type":"tool","name":"time"})"},
      {{mode::none, ""}, std::nullopt, R"({"type":"none"})"},
      {{mode::automatic, ""}, true, R"({"type":"auto"})"},
      {{mode::automatic, ""}, false, R"({"type":"auto","disable_parallel_tool_use":true})"},
      {{mode::required, ""}, false, R"({"type":"any","disable_parallel_tool_use":true})"},
      {{mode::named, "time"},
       false,
       R"({"type":"tool","name":"time","disable_parallel_tool_use":true})"},
      {{mode::none, ""}, false, R"({"type":"none"})"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("expected: " << c.expected) {
      BOOST_CHECK_EQUAL(compact(encode(with_tools(c.choice, c.parallel)).at("tool_choice")),
                        c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(check_refuses_what_cannot_be_sent) {
  std::string why;
  BOOST_CHECK(check_tools(with_tools({}), why));
  BOOST_CHECK(wire().check(with_tools({tool_choice::mode::named, "weather"}), why));

  auto with = [](auto change) {
    auto req = with_tools({});
    change(req);
    return req;
  };
  const struct {
    chat_request req;
    const char* says;
  } cases[] = {
      {with([](chat_request& r) { r.tools[0].name = ""; }), "is not 1-64"},
      {with([](chat_request& r) { r.tools[0].name = "has space"; }), "is not 1-64"},
      {with([](chat_request& r) { r.tools[0].name = std::string(65, 'a'); }), "is not 1-64"},
      {with([](chat_request& r) { r.tools[1].name = "weather"; }), "offered twice"},
      {with([](chat_request& r) { r.tools[0].parameters = "[]"; }), "not a JSON Schema object"},
      {with([](chat_request& r) { r.tools[0].parameters = "{oops"; }), "not a JSON Schema"},
      {with([](chat_request& r) {
         r.choice = {tool_choice::mode::named, "clock"};
       }),
       "not offered"},
      {with([](chat_request& r) {
         r.tools.clear();
         r.choice.how = tool_choice::mode::required;
       }),
       "no tool is offered"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("expected: " << c.says) {
      std::string reason;
      BOOST_CHECK(!wire().check(c.req, reason));
      BOOST_CHECK_NE(reason.find(c.says), std::string::npos);
    }
  }
  BOOST_CHECK(
      check_tools(with([](chat_request& r) { r.tools[0].name = std::string(64, 'a'); }), why));
}

BOOST_AUTO_TEST_CASE(the_codec_builds_the_http_request) {
  const auto base = *http::parse_base_url("https://api.anthropic.com");
  chat_request req;
  req.messages = {{role::user, "hi"}};
  BOOST_CHECK_EQUAL(wire().name(), "anthropic");
  BOOST_CHECK(wire().streams(req));  // always, whether the caller wants deltas or not
  const auto m = wire().encode(req, base, {"sk-ant-1", "claude-x"}, true);
  BOOST_CHECK(m.method() == boost::beast::http::verb::post);
  BOOST_CHECK_EQUAL(m.target(), "/v1/messages");
  BOOST_CHECK_EQUAL(m["x-api-key"], "sk-ant-1");
  BOOST_CHECK_EQUAL(m["anthropic-version"], "2023-06-01");
  BOOST_CHECK_EQUAL(m["content-type"], "application/json");
  BOOST_CHECK_EQUAL(m["accept"], "text/event-stream");
  BOOST_CHECK(json::parse(m.body()).as_object().at("stream").as_bool());

  const auto proxied = *http::parse_base_url("http://127.0.0.1:8080/anthropic/");
  const auto keyless = wire().encode(req, proxied, {"", "claude-x"}, false);
  BOOST_CHECK_EQUAL(keyless.target(), "/anthropic/v1/messages");
  BOOST_CHECK(keyless.find("x-api-key") == keyless.end());
  BOOST_CHECK(!json::parse(keyless.body()).as_object().contains("stream"));
}

BOOST_AUTO_TEST_CASE(dated_and_minor_versions_share_their_family_limits) {
  const std::pair<const char*, const char*> rows[] = {
      {"claude-sonnet-4-5-20250929", "claude-sonnet-4"},
      {"claude-sonnet-4-5", "claude-sonnet-4"},
      {"claude-sonnet-4-20250514", "claude-sonnet-4"},
      {"claude-opus-4-1", "claude-opus-4"},
      {"claude-3-5-haiku-latest", "claude-3-5-haiku"},
      {"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
      {"claude-haiku-4-5-x", "claude-haiku-4-5-x"},
      {"mock", "mock"},
      {"", ""},
  };
  for (const auto& [name, family] : rows) {
    BOOST_TEST_CONTEXT(name) { BOOST_CHECK_EQUAL(anthropic::model_family(name), family); }
  }
}

BOOST_AUTO_TEST_CASE(a_temperature_past_one_is_refused_before_sending) {
  chat_request req;
  req.messages = {{role::user, "hi"}};
  std::string why;
  req.temperature = 1.0;
  BOOST_CHECK(anthropic::wire().check(req, why));
  req.temperature = 1.5;
  BOOST_CHECK(!anthropic::wire().check(req, why));
  BOOST_CHECK(why.find("temperature") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_anthropic_wire
