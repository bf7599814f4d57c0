// The mock's tool play with no socket: tool turns parsed from the wire, arguments filled from
// JSON Schemas, rounds counted, tools chosen, results quoted, and the model-name modes.
#include <conclave/mock/tool_play.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

namespace unit_test_mock_tools {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;
using namespace conclave::mock;

namespace {

const char* const add_schema =
    R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]})";
const char* const echo_schema =
    R"({"type":"object","properties":{"message":{"type":"string"}},"required":["message"]})";

incoming_request with_tools(std::string question, std::vector<tool_spec> tools) {
  incoming_request r;
  r.model = "mock";
  r.messages.push_back({role::user, std::move(question)});
  r.tools = std::move(tools);
  return r;
}

std::vector<tool_spec> add_and_echo() {
  return {{"add", "Adds", add_schema}, {"echo", "Echoes", echo_schema}};
}

// The conversation after `turn`: its calls, then one result per call.
void answer_turn(incoming_request& r, const tool_turn& turn, const std::string& result) {
  r.messages.push_back(assistant_message("", turn.calls));
  for (const auto& c : turn.calls) r.messages.push_back(chat_message::from_result({c.id, result}));
}

tool_mode mode_of(std::string_view model) {
  std::string why;
  auto m = tool_mode_from_model(model, why);
  BOOST_REQUIRE_MESSAGE(m, why);
  return *m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_tools)

BOOST_AUTO_TEST_CASE(arguments_are_filled_from_the_schema) {
  struct row {
    const char* schema;
    const char* expected;
  };
  const row rows[] = {
      {add_schema, R"({"a":2,"b":3})"},
      {echo_schema, R"({"message":"hello"})"},
      // Only required properties; none required, or no properties: {}.
      {R"({"type":"object","properties":{"x":{"type":"string"}}})", "{}"},
      {R"({"type":"object"})", "{}"},
      {"not json", "{}"},
      {"[1]", "{}"},
      // Types, in order: integer, boolean, null, two strings.
      {R"({"properties":{"n":{"type":"integer"},"f":{"type":"boolean"},"z":{"type":"null"},)"
       R"("s":{"type":"string"},"t":{"type":"string"}},"required":["n","f","z","s","t"]})",
       R"({"n":2,"f":true,"z":null,"s":"hello","t":"world"})"},
      // const, then default, then the first of enum.
      {R"({"properties":{"u":{"type":"string","enum":["celsius","kelvin"]},)"
       R"("d":{"type":"integer","default":7,"enum":[1]},"c":{"const":"fixed"}},)"
       R"("required":["u","d","c"]})",
       R"({"u":"celsius","d":7,"c":"fixed"})"},
      // The first of examples, before enum.
      {R"({"properties":{"x":{"type":"string","examples":["2 + 3"],"enum":["no"]}},"required":["x"]})",
       R"({"x":"2 + 3"})"},
      // Nested objects fill their own required properties; arrays hold one item of `items`.
      {R"({"properties":{"o":{"type":"object","properties":{"k":{"type":"integer"},)"
       R"("skip":{"type":"string"}},"required":["k"]},"l":{"type":"array","items":{"type":"string"}},)"
       R"("e":{"type":"array"}},"required":["o","l","e"]})",
       R"({"o":{"k":2},"l":["hello"],"e":[]})"},
      // A $ref is not followed; ["string","null"] is a string; anyOf takes its first branch.
      {R"({"properties":{"r":{"$ref":"#/$defs/x"},"t":{"type":["null","string"]},)"
       R"("a":{"anyOf":[{"type":"integer"},{"type":"string"}]}},"required":["r","t","a"]})",
       R"({"r":{},"t":"hello","a":2})"},
      // Numbers stay within minimum/maximum; a required name with no schema gets a word.
      {R"({"properties":{"p":{"type":"integer","minimum":10},"q":{"type":"number","maximum":1}},)"
       R"("required":["p","q","free"]})",
       R"({"p":10,"q":1,"free":"hello"})"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("schema: " << r.schema) {
      BOOST_CHECK_EQUAL(fill_arguments(r.schema), r.expected);
    }
  }
  // A variant shifts words and numbers: endless-varied calls differ turn to turn.
  BOOST_CHECK_EQUAL(fill_arguments(add_schema, 1), R"({"a":3,"b":4})");
  BOOST_CHECK_EQUAL(fill_arguments(echo_schema, 1), R"({"message":"world"})");
}

BOOST_AUTO_TEST_CASE(model_names_pick_the_mode) {
  const tool_mode plain = mode_of("mock");
  BOOST_CHECK_EQUAL(plain.rounds, 1);
  BOOST_CHECK(!plain.endless && !plain.malformed && !plain.no_index);
  BOOST_CHECK_EQUAL(mode_of("gpt-4o").rounds, 1);
  BOOST_CHECK_EQUAL(mode_of("mock-tools").rounds, 1);
  BOOST_CHECK_EQUAL(mode_of("mock-tools-3").rounds, 3);
  BOOST_CHECK_EQUAL(mode_of("mock-tools-0").rounds, 0);
  const tool_mode many = mode_of("mock-tools-2-noindex-late-name-finish-stop");
  BOOST_CHECK_EQUAL(many.rounds, 2);
  BOOST_CHECK(many.no_index && many.late_name && many.finish_stop);
  BOOST_CHECK(mode_of("mock-tools-malformed").malformed);
  BOOST_CHECK(mode_of("mock-tools-unknown").unknown);
  BOOST_CHECK(mode_of("mock-tools-endless").endless);
  BOOST_CHECK(!mode_of("mock-tools-endless").varied);
  BOOST_CHECK(mode_of("mock-tools-endless-varied").varied);
  for (const char* bad : {"mock-tools-typo", "mock-tools-101", "mock-tools-99999", "mock-toolsx",
                          "mock-tools-", "mock-tools-noindexx"}) {
    BOOST_TEST_CONTEXT("model: " << bad) {
      std::string why;
      BOOST_CHECK(!tool_mode_from_model(bad, why));
      BOOST_CHECK(!why.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(rounds_are_counted_after_the_last_user_message) {
  auto r = with_tools("What is 2 + 3?", add_and_echo());
  BOOST_CHECK_EQUAL(tool_rounds(r), 0);
  r.messages.push_back(assistant_message("", {{"call_1", "add", "{}"}}));
  r.messages.push_back(chat_message::from_result({"call_1", "5"}));
  BOOST_CHECK_EQUAL(tool_rounds(r), 1);
  r.messages.push_back(assistant_message("Thinking.", {{"call_2", "add", "{}"}}));
  BOOST_CHECK_EQUAL(tool_rounds(r), 2);
  r.messages.push_back({role::user, "And now?"});  // a new question starts again
  BOOST_CHECK_EQUAL(tool_rounds(r), 0);
}

BOOST_AUTO_TEST_CASE(one_round_then_a_final_text_quoting_the_results) {
  auto r = with_tools("What is 2 + 3?", add_and_echo());
  const auto turn = play_tools(r, tool_mode{});
  BOOST_REQUIRE(turn);
  BOOST_CHECK_EQUAL(turn->finish_reason, "tool_calls");
  // Parallel calls allowed by default and two tools offered: both, ids numbered.
  BOOST_REQUIRE_EQUAL(turn->calls.size(), 2u);
  BOOST_CHECK(turn->calls[0].name != turn->calls[1].name);
  BOOST_CHECK_EQUAL(turn->calls[0].id, "call_1");
  BOOST_CHECK_EQUAL(turn->calls[1].id, "call_2");
  BOOST_CHECK(play_tools(r, tool_mode{})->calls[0].name == turn->calls[0].name);  // deterministic

  answer_turn(r, *turn, "5");
  BOOST_CHECK(!play_tools(r, tool_mode{}));
  const std::string text = with_tool_results(r, "On it.");
  BOOST_CHECK_EQUAL(text, "On it. Tool " + turn->calls[0].name + " said: 5. Tool " +
                              turn->calls[1].name + " said: 5.");
}

BOOST_AUTO_TEST_CASE(n_rounds_with_ids_unique_in_the_conversation) {
  auto r = with_tools("What is 2 + 3?", add_and_echo());
  const tool_mode three = mode_of("mock-tools-3");
  std::set<std::string> ids;
  for (int round = 0; round < 3; ++round) {
    const auto turn = play_tools(r, three);
    BOOST_REQUIRE(turn);
    for (const auto& c : turn->calls) BOOST_CHECK(ids.insert(c.id).second);
    answer_turn(r, *turn, "result " + std::to_string(round));
  }
  BOOST_CHECK(!play_tools(r, three));
  // Only the last round is quoted.
  const std::string text = with_tool_results(r, "");
  BOOST_CHECK(text.find("said: result 2.") != std::string::npos);
  BOOST_CHECK(text.find("result 1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(tool_choice_and_parallel_calls) {
  auto r = with_tools("What is 2 + 3?", add_and_echo());
  r.choice = {tool_choice::mode::none, ""};
  BOOST_CHECK(!play_tools(r, tool_mode{}));

  r.choice = {tool_choice::mode::named, "echo"};
  auto named = play_tools(r, tool_mode{});
  BOOST_REQUIRE(named);
  BOOST_REQUIRE_EQUAL(named->calls.size(), 1u);
  BOOST_CHECK_EQUAL(named->calls[0].name, "echo");
  BOOST_CHECK_EQUAL(named->calls[0].arguments, R"({"message":"hello"})");

  // "required" calls at least once, even when the name asks for no rounds.
  r.choice = {tool_choice::mode::required, ""};
  BOOST_CHECK(play_tools(r, mode_of("mock-tools-0")));
  r.choice = {};
  BOOST_CHECK(!play_tools(r, mode_of("mock-tools-0")));

  r.parallel_tool_calls = false;
  BOOST_CHECK_EQUAL(play_tools(r, tool_mode{})->calls.size(), 1u);
  BOOST_CHECK(!play_tools(with_tools("Plain?", {}), tool_mode{}));  // no tools: text
}

BOOST_AUTO_TEST_CASE(different_subjects_spread_over_the_tools) {
  std::vector<tool_spec> tools;
  for (int i = 0; i < 8; ++i) tools.push_back({"t" + std::to_string(i), "", echo_schema});
  std::set<std::string> first;
  for (int q = 0; q < 20; ++q) {
    auto r = with_tools("Question " + std::to_string(q) + "?", tools);
    r.parallel_tool_calls = false;
    first.insert(play_tools(r, tool_mode{})->calls[0].name);
  }
  BOOST_CHECK_GT(first.size(), 3u);
}

BOOST_AUTO_TEST_CASE(fault_modes_shape_the_calls) {
  auto r = with_tools("What is 2 + 3?", {{"add", "", add_schema}});
  const auto malformed = play_tools(r, mode_of("mock-tools-malformed"));
  BOOST_REQUIRE(malformed);
  BOOST_CHECK_EQUAL(malformed->calls[0].arguments, R"({"a":2,"b":3)");
  boost::system::error_code ec;
  json::parse(malformed->calls[0].arguments, ec);
  BOOST_CHECK(ec);

  const auto unknown = play_tools(r, mode_of("mock-tools-unknown"));
  BOOST_REQUIRE(unknown);
  BOOST_CHECK_EQUAL(unknown->calls[0].name, "no_such_tool");

  BOOST_CHECK_EQUAL(play_tools(r, mode_of("mock-tools-finish-stop"))->finish_reason, "stop");

  // Endless: the same call every turn; varied: the arguments change.
  for (const char* model : {"mock-tools-endless", "mock-tools-endless-varied"}) {
    auto loop = r;
    std::set<std::string> arguments;
    for (int turn = 0; turn < 5; ++turn) {
      const auto t = play_tools(loop, mode_of(model));
      BOOST_REQUIRE(t);
      BOOST_CHECK_EQUAL(t->calls[0].name, "add");
      arguments.insert(t->calls[0].arguments);
      answer_turn(loop, *t, "5");
    }
    BOOST_CHECK_EQUAL(arguments.size(), std::string_view(model).ends_with("varied") ? 5u : 1u);
  }
}

BOOST_AUTO_TEST_CASE(results_are_quoted_cut_on_a_character_boundary) {
  auto r = with_tools("Q?", {{"echo", "", echo_schema}});
  r.messages.push_back(assistant_message("", {{"call_1", "echo", "{}"}}));
  // 79 ASCII bytes, then a 2-byte character across the 80-byte cut, and a newline before.
  std::string long_result = "line\n" + std::string(74, 'x') + "\xC3\xA9" + "tail";
  r.messages.push_back(chat_message::from_result({"call_1", long_result}));
  r.messages.push_back(chat_message::from_result({"call_9", "stray"}));
  const std::string text = with_tool_results(r, "");
  BOOST_CHECK_EQUAL(
      text, "Tool echo said: line " + std::string(74, 'x') + "... Tool call_9 said: stray.");
}

BOOST_AUTO_TEST_CASE(tool_turns_are_parsed_from_the_wire) {
  incoming_request r;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_request(
                            R"({"model":"mock","messages":[
            {"role":"user","content":[{"type":"text","text":"What is "},{"type":"text","text":"2+3?"}]},
            {"role":"assistant","content":null,"tool_calls":[
              {"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":2}"}}]},
            {"role":"assistant","tool_calls":[
              {"id":"call_2","type":"function","function":{"name":"add","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"5"},
            {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"6"}]}],
          "tools":[{"type":"function","function":{"name":"add","description":"Adds",
            "parameters":{"type":"object"}}},{"type":"function","function":{"name":"echo"}}],
          "tool_choice":{"type":"function","function":{"name":"echo"}},
          "parallel_tool_calls":false})",
                            r, why),
                        why);
  BOOST_REQUIRE_EQUAL(r.messages.size(), 5u);
  BOOST_CHECK_EQUAL(r.messages[0].text(), "What is 2+3?");
  BOOST_REQUIRE_EQUAL(r.messages[1].tool_calls().size(), 1u);
  BOOST_CHECK_EQUAL(r.messages[1].tool_calls()[0].arguments, R"({"a":2})");
  BOOST_CHECK(r.messages[3].who == role::tool);
  const auto& result = std::get<tool_result>(r.messages[4].parts.at(0));
  BOOST_CHECK_EQUAL(result.call_id, "call_2");
  BOOST_CHECK_EQUAL(result.content, "6");
  BOOST_REQUIRE_EQUAL(r.tools.size(), 2u);
  BOOST_CHECK_EQUAL(r.tools[0].description, "Adds");
  BOOST_CHECK_EQUAL(r.tools[1].parameters, R"({"type":"object","properties":{}})");
  BOOST_CHECK(r.choice.how == tool_choice::mode::named);
  BOOST_CHECK_EQUAL(r.choice.name, "echo");
  BOOST_CHECK(r.parallel_tool_calls == false);
  BOOST_CHECK_EQUAL(tool_rounds(r), 2);

  std::string many = R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[)";
  for (std::size_t i = 0; i <= max_tools; ++i) {
    many += (i ? "," : "") + std::string(R"({"type":"function","function":{"name":"t)") +
            std::to_string(i) + "\"}}";
  }
  many += "]}";
  const std::string user = R"({"role":"user","content":"x"})";
  const auto body = [&](const std::string& rest) {
    return R"({"model":"m","messages":[)" + user + "]," + rest + "}";
  };
  const std::string bad_bodies[] = {
      many,
      body(R"("tools":{})"),
      body(R"("tools":[{"type":"retrieval"}])"),
      body(R"("tools":[{"type":"function","function":{"name":"has space"}}])"),
      body(R"("tools":[{"type":"function","function":{"name":"a","parameters":"{}"}}])"),
      body(R"("tools":[{"type":"function","function":{"name":"a","description":7}}])"),
      body(
          R"("tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}])"),
      body(R"("tool_choice":"sometimes")"),
      body(R"("tool_choice":"required")"),  // no tools offered
      body(
          R"("tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}})"),
      body(R"("parallel_tool_calls":"yes")"),
      R"({"model":"m","messages":[{"role":"user","content":null}]})",
      R"({"model":"m","messages":[{"role":"assistant","content":null}]})",
      R"({"model":"m","messages":[{"role":"assistant","tool_calls":[]}]})",
      R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"a"}}]}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"c","function":{"name":"a","arguments":"{}"}}]}]})",
      R"({"model":"m","messages":[{"role":"tool","content":"5"}]})",
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
      R"({"model":"m","messages":[{"role":"user","content":7}]})",
  };
  for (const auto& bad : bad_bodies) {
    BOOST_TEST_CONTEXT("body: " << bad.substr(0, 200)) {
      incoming_request x;
      std::string reason;
      BOOST_CHECK(!parse_request(bad, x, reason));
      BOOST_CHECK(!reason.empty());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_mock_tools
