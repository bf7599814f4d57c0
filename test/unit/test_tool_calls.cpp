// Tool calls from the OpenAI wire: fragments put back together (with and without index, names
// late, arguments split anywhere), whole messages, and what is refused.
#include <conclave/openai/tool_calls.hpp>
#include <conclave/openai/wire.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_tool_calls {  // file-local names stay apart in unity batches

using namespace conclave;
using conclave::openai::tool_call_accumulator;

namespace {

// Feeds each JSON fragment; returns the calls, or fails the test with the reason.
std::vector<tool_call> assemble(const std::vector<std::string>& fragments) {
  tool_call_accumulator acc;
  std::string why;
  for (const auto& f : fragments) BOOST_REQUIRE_MESSAGE(acc.add(boost::json::parse(f), why), why);
  std::vector<tool_call> out;
  BOOST_REQUIRE_MESSAGE(acc.finish(out, why), why);
  return out;
}

std::string refusal(const std::vector<std::string>& fragments) {
  tool_call_accumulator acc;
  std::string why;
  for (const auto& f : fragments) {
    if (!acc.add(boost::json::parse(f), why)) return why;
  }
  std::vector<tool_call> out;
  if (!acc.finish(out, why)) return why;
  return {};
}

http::sse_event data(std::string d) { return http::sse_event{"message", std::move(d), {}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(tool_calls)

BOOST_AUTO_TEST_CASE(indexed_fragments_interleaved) {
  const auto calls = assemble({
      R"({"index":0,"id":"call_a","type":"function","function":{"name":"weather","arguments":""}})",
      R"({"index":1,"id":"call_b","type":"function","function":{"name":"time","arguments":"{\"tz\""}})",
      R"({"index":0,"function":{"arguments":"{\"city\":"}})",
      R"({"index":1,"function":{"arguments":":\"UTC\"}"}})",
      R"({"index":0,"function":{"arguments":"\"Oslo\"}"}})",
  });
  BOOST_REQUIRE_EQUAL(calls.size(), 2u);
  BOOST_CHECK_EQUAL(calls[0].id, "call_a");
  BOOST_CHECK_EQUAL(calls[0].name, "weather");
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"city":"Oslo"})");
  BOOST_CHECK_EQUAL(calls[1].name, "time");
  BOOST_CHECK_EQUAL(calls[1].arguments, R"({"tz":"UTC"})");
}

BOOST_AUTO_TEST_CASE(without_index_a_new_id_opens_and_the_rest_continues) {
  const auto calls = assemble({
      R"({"id":"c1","function":{"name":"a","arguments":"{\"x\""}})",
      R"({"function":{"arguments":":1}"}})",
      R"({"id":"c2","function":{"name":"b"}})",
      R"({"function":{"arguments":"{}"}})",
  });
  BOOST_REQUIRE_EQUAL(calls.size(), 2u);
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"x":1})");
  BOOST_CHECK_EQUAL(calls[1].id, "c2");
  BOOST_CHECK_EQUAL(calls[1].arguments, "{}");
}

BOOST_AUTO_TEST_CASE(a_late_name_and_empty_arguments) {
  const auto calls =
      assemble({R"({"index":0,"id":"c"})", R"({"index":0,"function":{"name":"now"}})"});
  BOOST_REQUIRE_EQUAL(calls.size(), 1u);
  BOOST_CHECK_EQUAL(calls[0].name, "now");
  BOOST_CHECK_EQUAL(calls[0].arguments, "{}");  // "" means {}
}

BOOST_AUTO_TEST_CASE(what_is_refused) {
  const struct {
    std::vector<std::string> fragments;
    const char* says;
  } rows[] = {
      {{R"([1])"}, "not an object"},
      {{R"({"index":-1})"}, "index"},
      {{R"({"index":"0"})"}, "index"},
      {{R"({"index":0,"function":"f"})"}, "function is not an object"},
      {{R"({"index":0,"function":{"name":"f","arguments":{}}})"}, "arguments are not a string"},
      {{R"({"index":0,"function":{"arguments":"{}"}})"}, "no name"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.fragments.front()) {
      const std::string why = refusal(row.fragments);
      BOOST_CHECK_MESSAGE(why.find(row.says) != std::string::npos, why);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_hostile_stream_cannot_grow_without_bound) {
  std::vector<std::string> many;
  for (int i = 0; i <= 128; ++i) {
    many.push_back(R"({"index":)" + std::to_string(i) + R"(,"function":{"name":"f"}})");
  }
  BOOST_CHECK(refusal(many).find("more than 128 tool calls") != std::string::npos);
  const std::string piece(64 * 1024, 'a');
  std::vector<std::string> huge{R"({"index":0,"function":{"name":"f","arguments":"{\"a\":\""}})"};
  for (int i = 0; i < 17; ++i)
    huge.push_back(R"({"index":0,"function":{"arguments":")" + piece + R"("}})");
  BOOST_CHECK(refusal(huge).find("exceed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_stream_with_tool_calls_is_tool_use_whatever_finish_reason_says) {
  openai::stream_decoder d;
  openai::stream_pieces delta;
  d.on_event(
      data(
          R"({"model":"m","choices":[{"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"c","function":{"name":"calc","arguments":"{\"ex"}}]}}]})"),
      delta);
  d.on_event(
      data(
          R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"pr\":\"1+1\"}"}}]},"finish_reason":"stop"}]})"),
      delta);
  BOOST_CHECK(d.on_event(data("[DONE]"), delta) == openai::stream_decoder::step::done);
  const auto& r = d.response();
  BOOST_CHECK(r.stop == stop_reason::tool_use);
  const auto calls = r.message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 1u);
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"expr":"1+1"})");
  BOOST_CHECK(r.text().empty());
}

BOOST_AUTO_TEST_CASE(arguments_that_are_not_an_object_are_passed_on_for_the_agent_to_refuse) {
  // The model wrote broken JSON: the call still arrives, as sent, so the agent can answer it
  // with an error result and the model can try again (failing the reply would lose the turn).
  openai::stream_decoder d;
  openai::stream_pieces delta;
  d.on_event(
      data(
          R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"a\":"}}]}}]})"),
      delta);
  BOOST_CHECK(d.on_event(data("[DONE]"), delta) == openai::stream_decoder::step::done);
  const auto calls = d.response().message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 1u);
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"a":)");
  BOOST_REQUIRE_EQUAL(delta.tool_fragments.size(), 1u);
  BOOST_CHECK_EQUAL(delta.tool_fragments[0].name, "f");
  std::vector<tool_call> whole;
  std::string why;
  BOOST_REQUIRE(openai::decode_tool_calls(
      boost::json::parse(R"([{"id":"c","function":{"name":"f","arguments":"[1,2]"}}])"), whole,
      why));
  BOOST_CHECK_EQUAL(whole[0].arguments, "[1,2]");
}

BOOST_AUTO_TEST_CASE(tool_turns_go_out_as_openai_expects) {
  chat_request req;
  req.messages.push_back({role::user, "add 2 and 3"});
  req.messages.push_back(assistant_message("", {{"c1", "add", R"({"a":2,"b":3})"}}, "thinking"));
  req.messages.push_back(chat_message::from_result({"c1", "5"}));
  req.messages.push_back(chat_message::from_result({"c2", "no such file", true}));
  req.messages.push_back(assistant_message("plain words"));
  const auto body = boost::json::parse(openai::encode_chat_request(req, "m"));
  const auto& m = body.at("messages").as_array();
  BOOST_REQUIRE_EQUAL(m.size(), 5u);
  const auto& asking = m[1].as_object();
  BOOST_CHECK(asking.at("content").is_null());  // said nothing: null, as OpenAI sends it
  BOOST_CHECK_EQUAL(asking.at("reasoning_content").as_string(), "thinking");  // replayed
  const auto& call = asking.at("tool_calls").as_array()[0].as_object();
  BOOST_CHECK_EQUAL(call.at("id").as_string(), "c1");
  BOOST_CHECK_EQUAL(call.at("type").as_string(), "function");
  BOOST_CHECK_EQUAL(call.at("function").at("name").as_string(), "add");
  BOOST_CHECK_EQUAL(call.at("function").at("arguments").as_string(), R"({"a":2,"b":3})");
  BOOST_CHECK_EQUAL(m[2].at("role").as_string(), "tool");
  BOOST_CHECK_EQUAL(m[2].at("tool_call_id").as_string(), "c1");
  BOOST_CHECK_EQUAL(m[2].at("content").as_string(), "5");
  BOOST_CHECK_EQUAL(m[3].at("content").as_string(), "Error: no such file");
  BOOST_CHECK_EQUAL(m[4].at("content").as_string(), "plain words");
  BOOST_CHECK(!m[4].as_object().contains("reasoning_content"));
}

BOOST_AUTO_TEST_CASE(reasoning_is_read_whole_and_streamed) {
  chat_response whole;
  BOOST_REQUIRE(!openai::decode_chat_completion(
      R"({"choices":[{"message":{"content":"hi","reasoning_content":"because"},"finish_reason":"stop"}]})",
      whole));
  BOOST_CHECK_EQUAL(whole.message.reasoning, "because");
  openai::stream_decoder d;
  openai::stream_pieces delta;
  d.on_event(data(R"({"choices":[{"delta":{"reasoning_content":"be"}}]})"), delta);
  BOOST_CHECK_EQUAL(delta.reasoning, "be");
  d.on_event(data(R"({"choices":[{"delta":{"reasoning_content":"cause","content":"ok"}}]})"),
             delta);
  d.on_event(data("[DONE]"), delta);
  BOOST_CHECK_EQUAL(d.response().message.reasoning, "because");
  BOOST_CHECK_EQUAL(d.response().text(), "ok");
}

BOOST_AUTO_TEST_CASE(a_whole_message_with_tool_calls) {
  chat_response r;
  const auto ec = openai::decode_chat_completion(
      R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"a","arguments":"{\"n\": 1}"}},{"id":"c2","type":"function","function":{"name":"b","arguments":""}}]},"finish_reason":"tool_calls"}]})",
      r);
  BOOST_REQUIRE(!ec);
  BOOST_CHECK(r.stop == stop_reason::tool_use);
  const auto calls = r.message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 2u);
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"n":1})");
  BOOST_CHECK_EQUAL(calls[1].arguments, "{}");
  chat_response bad;
  BOOST_CHECK(
      openai::decode_chat_completion(
          R"({"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"c1","function":{"arguments":"{}"}}]}}]})",
          bad) == error::bad_response);
}

BOOST_AUTO_TEST_CASE(tools_and_the_choice_go_on_the_request) {
  chat_request req;
  req.messages = {{role::user, "hi"}};
  req.tools = {{"get_weather", "Weather for a city",
                R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"},
               {"now", "", R"({"type":"object"})"}};
  req.parallel_tool_calls = false;
  const struct {
    tool_choice choice;
    std::string expected;
  } rows[] = {
      {{tool_choice::mode::automatic, {}}, R"("auto")"},
      {{tool_choice::mode::none, {}}, R"("none")"},
      {{tool_choice::mode::required, {}}, R"("required")"},
      {{tool_choice::mode::named, "now"}, R"({"type":"function","function":{"name":"now"}})"},
  };
  for (const auto& row : rows) {
    req.choice = row.choice;
    std::string why;
    BOOST_REQUIRE_MESSAGE(openai::check_tools(req, why), why);
    const auto body = boost::json::parse(openai::encode_chat_request(req, "m")).as_object();
    BOOST_CHECK_EQUAL(boost::json::serialize(body.at("tool_choice")), row.expected);
    const auto& tools = body.at("tools").as_array();
    BOOST_REQUIRE_EQUAL(tools.size(), 2u);
    const auto& f = tools[0].as_object().at("function").as_object();
    BOOST_CHECK_EQUAL(tools[0].as_object().at("type").as_string(), "function");
    BOOST_CHECK_EQUAL(f.at("name").as_string(), "get_weather");
    BOOST_CHECK_EQUAL(f.at("parameters").as_object().at("required").as_array().size(), 1u);
    BOOST_CHECK(!tools[1].as_object().at("function").as_object().contains("description"));
    BOOST_CHECK_EQUAL(body.at("parallel_tool_calls").as_bool(), false);
  }
  chat_request plain;
  plain.messages = {{role::user, "hi"}};
  const auto body = boost::json::parse(openai::encode_chat_request(plain, "m")).as_object();
  BOOST_CHECK(!body.contains("tools") && !body.contains("tool_choice"));
}

BOOST_AUTO_TEST_CASE(tools_that_cannot_be_sent_are_refused) {
  const struct {
    std::vector<tool_spec> tools;
    tool_choice choice;
    const char* says;
  } rows[] = {
      {{{"", "", "{}"}}, {}, "is not 1-64"},
      {{{"has space", "", "{}"}}, {}, "is not 1-64"},
      {{{std::string(65, 'a'), "", "{}"}}, {}, "is not 1-64"},
      {{{"a", "", "{}"}, {"a", "", "{}"}}, {}, "offered twice"},
      {{{"a", "", "[1]"}}, {}, "not a JSON Schema object"},
      {{{"a", "", "{"}}, {}, "not a JSON Schema object"},
      {{{"a", "", "{}"}}, {tool_choice::mode::named, "b"}, "which is not offered"},
      {{}, {tool_choice::mode::required, {}}, "no tool is offered"},
  };
  for (const auto& row : rows) {
    chat_request req;
    req.tools = row.tools;
    req.choice = row.choice;
    std::string why;
    BOOST_CHECK(!openai::check_tools(req, why));
    BOOST_CHECK_MESSAGE(why.find(row.says) != std::string::npos, why);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_tool_calls
