// The mock's Anthropic Messages request parser with no socket: the fields, each content block
// mapped onto the shared incoming_request, tool_use/tool_result pairing, and the 400s worded
// as Anthropic words them.
#include <conclave/mock/anthropic_request.hpp>
#include <conclave/mock/tool_play.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_mock_anthropic_request {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;
using namespace conclave::mock;

namespace {

const char* const add_tool =
    R"({"name":"add","description":"Adds","input_schema":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]}})";

messages_request parsed(const std::string& body) {
  messages_request m;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_messages_request(body, m, why), why);
  return m;
}

std::string refusal(const std::string& body) {
  messages_request m;
  std::string why;
  BOOST_CHECK(!parse_messages_request(body, m, why));
  return why;
}

// A body with `messages` (JSON text) and optional more fields.
std::string body(const std::string& messages, const std::string& more = "") {
  return R"({"model":"mock","max_tokens":100,"messages":)" + messages +
         (more.empty() ? "" : "," + more) + "}";
}

// An assistant turn calling add (toolu_1) and the user turn answering it.
const std::string tool_loop =
    R"([{"role":"user","content":"What is 2 + 3?"},
        {"role":"assistant","content":[{"type":"text","text":"Let me add."},
          {"type":"tool_use","id":"toolu_1","name":"add","input":{"a":2,"b":3}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"5"}]}])";

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_anthropic_request)

BOOST_AUTO_TEST_CASE(the_plain_fields) {
  const auto m = parsed(R"({"model":"mock-think","max_tokens":64,"stream":true,"temperature":0.5,
      "system":"Be brief.","messages":[{"role":"user","content":"Hi?"}]})");
  BOOST_CHECK_EQUAL(m.in.model, "mock-think");
  BOOST_CHECK_EQUAL(m.max_tokens, 64);
  BOOST_CHECK(m.in.stream);
  BOOST_REQUIRE(m.temperature);
  BOOST_CHECK_EQUAL(*m.temperature, 0.5);
  BOOST_REQUIRE_EQUAL(m.in.messages.size(), 2u);
  BOOST_CHECK(m.in.messages[0].who == role::system);
  BOOST_CHECK_EQUAL(m.in.messages[0].text(), "Be brief.");
  BOOST_CHECK(m.in.messages[1].who == role::user);
  BOOST_CHECK_EQUAL(m.in.messages[1].text(), "Hi?");
  BOOST_REQUIRE_EQUAL(m.turns.size(), 1u);
  BOOST_CHECK_EQUAL(m.turns[0].block_types.at(0), "text");
  BOOST_CHECK_EQUAL(m.cached_messages, 0u);
}

BOOST_AUTO_TEST_CASE(system_as_text_blocks_and_cache_breakpoints) {
  auto m = parsed(body(R"([{"role":"user","content":"Hi?"}])",
                       R"("system":[{"type":"text","text":"One."},
                          {"type":"text","text":"Two.","cache_control":{"type":"ephemeral"}}])"));
  BOOST_CHECK_EQUAL(m.in.messages[0].text(), "One.\nTwo.");
  BOOST_CHECK_EQUAL(m.cached_messages, 1u);  // the system message
  m = parsed(body(R"([{"role":"user","content":[{"type":"text","text":"Long document",
                        "cache_control":{"type":"ephemeral"}}]},
                      {"role":"assistant","content":"Read."},{"role":"user","content":"So?"}])"));
  BOOST_CHECK_EQUAL(m.cached_messages, 1u);  // up to the first user message
}

BOOST_AUTO_TEST_CASE(a_tool_loop_maps_onto_tool_calls_and_tool_messages) {
  const auto m = parsed(body(tool_loop, "\"tools\":[" + std::string(add_tool) + "]"));
  BOOST_REQUIRE_EQUAL(m.in.messages.size(), 3u);
  const auto& assistant = m.in.messages[1];
  BOOST_CHECK(assistant.who == role::assistant);
  BOOST_CHECK_EQUAL(assistant.text(), "Let me add.");
  BOOST_REQUIRE_EQUAL(assistant.tool_calls().size(), 1u);
  BOOST_CHECK_EQUAL(assistant.tool_calls()[0].id, "toolu_1");
  BOOST_CHECK_EQUAL(assistant.tool_calls()[0].name, "add");
  BOOST_CHECK_EQUAL(json::parse(assistant.tool_calls()[0].arguments),
                    json::parse(R"({"a":2,"b":3})"));
  const auto& result = std::get<tool_result>(m.in.messages[2].parts.at(0));
  BOOST_CHECK(m.in.messages[2].who == role::tool);
  BOOST_CHECK_EQUAL(result.call_id, "toolu_1");
  BOOST_CHECK_EQUAL(result.content, "5");
  BOOST_CHECK(!result.is_error);
  BOOST_CHECK_EQUAL(tool_rounds(m.in), 1);
  BOOST_REQUIRE_EQUAL(m.in.tools.size(), 1u);
  BOOST_CHECK_EQUAL(m.in.tools[0].name, "add");
  BOOST_CHECK_EQUAL(m.in.tools[0].description, "Adds");
  BOOST_CHECK_EQUAL(m.turns[1].block_types.size(), 2u);
  BOOST_CHECK_EQUAL(m.turns[1].tool_use_ids.at(0), "toolu_1");
  BOOST_CHECK_EQUAL(m.turns[2].tool_result_ids.at(0), "toolu_1");
}

BOOST_AUTO_TEST_CASE(each_tool_result_is_a_tool_message_in_order) {
  const auto m = parsed(body(R"([{"role":"user","content":"Go"},
      {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"add","input":{}},
                                     {"type":"tool_use","id":"b","name":"add","input":{}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"B1"},
                                                          {"type":"image","source":{}},
                                                          {"type":"text","text":"B2"}]},
        {"type":"tool_result","tool_use_id":"a","is_error":true},
        {"type":"text","text":"Carry on."}]}])"));
  BOOST_REQUIRE_EQUAL(m.in.messages.size(), 4u);
  const auto& first = std::get<tool_result>(m.in.messages[2].parts.at(0));
  const auto& second = std::get<tool_result>(m.in.messages[3].parts.at(0));
  BOOST_CHECK_EQUAL(first.call_id, "b");
  BOOST_CHECK_EQUAL(first.content, "B1B2");
  BOOST_CHECK_EQUAL(second.call_id, "a");
  BOOST_CHECK(second.is_error);
  BOOST_CHECK_EQUAL(second.content, "");
  // Text beside the results rides with the last one: no new user turn, the round still counts.
  BOOST_CHECK_EQUAL(m.in.messages[3].text(), "Carry on.");
  BOOST_CHECK_EQUAL(tool_rounds(m.in), 1);
}

BOOST_AUTO_TEST_CASE(thinking_blocks_are_kept_for_replay) {
  const auto m = parsed(body(R"([{"role":"user","content":"Go"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"Hmm.","signature":"s1"},
                                     {"type":"redacted_thinking","data":"opaque"},
                                     {"type":"text","text":"Done."}]}])"));
  const auto& turn = m.turns[1];
  BOOST_REQUIRE_EQUAL(turn.thinking.size(), 2u);
  BOOST_CHECK_EQUAL(turn.thinking[0].position, 0u);
  BOOST_CHECK_EQUAL(turn.thinking[0].thinking, "Hmm.");
  BOOST_CHECK_EQUAL(turn.thinking[0].signature, "s1");
  BOOST_CHECK(turn.thinking[1].redacted);
  BOOST_CHECK_EQUAL(turn.thinking[1].position, 1u);
  BOOST_CHECK_EQUAL(turn.thinking[1].data, "opaque");
  BOOST_CHECK_EQUAL(turn.block_types.front(), "thinking");
  const auto& said = m.in.messages[1];
  BOOST_CHECK_EQUAL(said.text(), "Done.");
  BOOST_CHECK_EQUAL(said.replay.wire, "anthropic");
  BOOST_CHECK_EQUAL(json::parse(said.replay.json),
                    json::parse(R"([{"type":"thinking","thinking":"Hmm.","signature":"s1"},
                                    {"type":"redacted_thinking","data":"opaque"}])"));
}

BOOST_AUTO_TEST_CASE(tools_and_tool_choice) {
  const std::string tools = "\"tools\":[" + std::string(add_tool) + "]";
  const std::string ask = R"([{"role":"user","content":"Go"}])";
  auto m = parsed(body(ask, tools));
  BOOST_CHECK(m.in.choice.how == tool_choice::mode::automatic);
  BOOST_CHECK(!m.in.parallel_tool_calls);
  m = parsed(
      body(ask, tools + R"(,"tool_choice":{"type":"any","disable_parallel_tool_use":true})"));
  BOOST_CHECK(m.in.choice.how == tool_choice::mode::required);
  BOOST_REQUIRE(m.in.parallel_tool_calls);
  BOOST_CHECK(!*m.in.parallel_tool_calls);
  m = parsed(body(ask, tools + R"(,"tool_choice":{"type":"tool","name":"add"})"));
  BOOST_CHECK(m.in.choice.how == tool_choice::mode::named);
  BOOST_CHECK_EQUAL(m.in.choice.name, "add");
  m = parsed(body(ask, tools + R"(,"tool_choice":{"type":"none"})"));
  BOOST_CHECK(m.in.choice.how == tool_choice::mode::none);
  m = parsed(
      body(ask, R"("tools":[{"type":"custom","name":"x","input_schema":{"type":"object"}}])"));
  BOOST_CHECK_EQUAL(m.in.tools.at(0).parameters, R"({"type":"object"})");
}

BOOST_AUTO_TEST_CASE(thinking_settings) {
  const std::string ask = R"([{"role":"user","content":"Go"}])";
  auto m = parsed(
      R"({"model":"mock","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":)" +
      ask + "}");
  BOOST_CHECK(m.thinking_enabled);
  BOOST_CHECK_EQUAL(m.thinking_budget, 1024);
  m = parsed(body(ask, R"("thinking":{"type":"disabled"})"));
  BOOST_CHECK(!m.thinking_enabled);
  BOOST_CHECK_EQUAL(
      refusal(body(ask, R"("thinking":{"type":"enabled","budget_tokens":512})")),
      "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
  BOOST_CHECK_EQUAL(refusal(body(ask, R"("thinking":{"type":"enabled","budget_tokens":1024})")),
                    "`max_tokens` must be greater than `thinking.budget_tokens`");
}

BOOST_AUTO_TEST_CASE(missing_fields_are_named_as_anthropic_names_them) {
  const std::string ask = R"([{"role":"user","content":"Go"}])";
  BOOST_CHECK_EQUAL(refusal(R"({"model":"mock","messages":)" + ask + "}"),
                    "max_tokens: Field required");
  BOOST_CHECK_EQUAL(refusal(R"({"max_tokens":5,"messages":)" + ask + "}"), "model: Field required");
  BOOST_CHECK_EQUAL(refusal(R"({"model":"mock","max_tokens":5})"), "messages: Field required");
  BOOST_CHECK(refusal(R"({"model":"mock","max_tokens":0,"messages":)" + ask + "}")
                  .starts_with("max_tokens: "));
  BOOST_CHECK(refusal(R"({"model":"mock","max_tokens":"5","messages":)" + ask + "}")
                  .starts_with("max_tokens: "));
  BOOST_CHECK(refusal("not json").starts_with("The request body is not valid JSON"));
  BOOST_CHECK_EQUAL(refusal(body(R"([{"role":"user","content":[{"type":"text"}]}])")),
                    "messages.0.content.0.text: Field required");
  BOOST_CHECK_EQUAL(refusal(body(R"([{"role":"user","content":"Go"},{"role":"assistant","content":[
          {"type":"tool_use","id":"t","name":"add"}]}])")),
                    "messages.1.content.0.input: Input should be an object");
  BOOST_CHECK_EQUAL(refusal(body(ask, R"("tools":[{"name":"add"}])")),
                    "tools.0.custom.input_schema: Field required");
  BOOST_CHECK(refusal(body(ask, R"("temperature":1.5)")).starts_with("temperature: "));
}

BOOST_AUTO_TEST_CASE(shapes_anthropic_refuses) {
  const std::string tools = "\"tools\":[" + std::string(add_tool) + "]";
  const std::string ask = R"([{"role":"user","content":"Go"}])";
  BOOST_CHECK(refusal(body(R"([{"role":"system","content":"x"}])"))
                  .starts_with("messages: Unexpected role \"system\""));
  BOOST_CHECK_EQUAL(refusal(body(R"([{"role":"user","content":""}])")),
                    "messages.0: all messages must have non-empty content except for the optional "
                    "final assistant message");
  // ...which a final assistant message may have (a prefill).
  BOOST_CHECK_EQUAL(
      parsed(body(R"([{"role":"user","content":"Go"},{"role":"assistant","content":""}])"))
          .in.messages.size(),
      2u);
  BOOST_CHECK(refusal(body(R"([{"role":"user","content":[{"type":"video"}]}])"))
                  .starts_with("messages.0.content.0.type: unknown content block type"));
  BOOST_CHECK(
      refusal(
          body(
              R"([{"role":"user","content":[{"type":"tool_use","id":"a","name":"b","input":{}}]}])"))
          .starts_with("messages.0.content.0: a 'tool_use' block is not allowed"));
  BOOST_CHECK_EQUAL(refusal(body(ask, tools + R"(,"tool_choice":{"type":"tool","name":"nope"})")),
                    "tool_choice.name: tool 'nope' is not among the tools");
  BOOST_CHECK_EQUAL(refusal(body(ask, R"("tool_choice":{"type":"any"})")),
                    "tool_choice: may only be specified while providing tools");
  BOOST_CHECK_EQUAL(
      refusal(body(ask, "\"tools\":[" + std::string(add_tool) + "," + add_tool + "]")),
      "tools: Tool names must be unique.");
  BOOST_CHECK(refusal(body(ask, R"("tools":[{"type":"web_search_20250305","name":"web_search"}])"))
                  .starts_with("tools.0: the mock plays only custom tools"));
}

BOOST_AUTO_TEST_CASE(tool_use_and_tool_result_must_pair) {
  // A tool_use not answered in the next message.
  BOOST_CHECK_EQUAL(
      refusal(body(R"([{"role":"user","content":"Go"},
          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_9","name":"add","input":{}}]},
          {"role":"user","content":"Well?"}])")),
      "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
      "toolu_9. Each `tool_use` block must have a corresponding `tool_result` block in the next "
      "message.");
  // A tool_result for a call the previous message did not make.
  BOOST_CHECK_EQUAL(
      refusal(body(R"([{"role":"user","content":"Go"},{"role":"assistant","content":"Sure."},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_7","content":"5"}]}])")),
      "messages.2: unexpected `tool_use_id` found in `tool_result` blocks: toolu_7. Each "
      "`tool_result` block must have a corresponding `tool_use` block in the previous message.");
  // A final assistant turn calling tools (a prefill) needs no answer yet.
  parsed(body(R"([{"role":"user","content":"Go"},
      {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"add","input":{}}]}])"));
}

BOOST_AUTO_TEST_CASE(think_model_names_play_tools_like_mock_tools) {
  std::string why;
  auto mode = tool_mode_from_model("mock-think", why);
  BOOST_REQUIRE(mode);
  BOOST_CHECK_EQUAL(mode->rounds, 1);
  mode = tool_mode_from_model("mock-think-tools-3-noindex", why);
  BOOST_REQUIRE(mode);
  BOOST_CHECK_EQUAL(mode->rounds, 3);
  BOOST_CHECK(mode->no_index);
  BOOST_CHECK(!tool_mode_from_model("mock-think-hard", why));
  BOOST_CHECK(why.find("mock-think-tools") != std::string::npos);
  BOOST_CHECK(!tool_mode_from_model("mock-think-tools-x", why));
  BOOST_CHECK(why.find("mock-think-tools-x") != std::string::npos);  // names the model as sent
}

BOOST_AUTO_TEST_CASE(new_fault_names) {
  BOOST_CHECK(fault_from_model("mock-529") == fault::overloaded);
  BOOST_CHECK(fault_from_model("mock-pause") == fault::paused);
  BOOST_CHECK_EQUAL(to_string(fault::overloaded), std::string("529"));
  BOOST_CHECK(fault_from_model(std::string("mock-") + to_string(fault::paused)) == fault::paused);
  BOOST_CHECK(fault_from_model("mock-think") == fault::none);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_mock_anthropic_request
