// The mock's Anthropic replies with no socket: what a reply holds (thinking, tool_use, the
// stop-reason faults, the pause), the thinking replay check, and the bytes: the message body,
// the SSE events in Anthropic's order, error bodies and the rate-limit headers.
#include <conclave/mock/anthropic_play.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_mock_anthropic_replies {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;
using namespace conclave::mock;
using namespace conclave::mock::anthropic;

namespace {

messages_request parsed(const std::string& body) {
  messages_request m;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_messages_request(body, m, why), why);
  return m;
}

const std::string add_tool =
    R"({"name":"add","input_schema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}})";

// A request for `model` asking "What is 2 + 3?", with the add tool when `tools`.
messages_request ask(const std::string& model, bool tools = false, int max_tokens = 1000) {
  return parsed(R"({"model":")" + model + R"(","max_tokens":)" + std::to_string(max_tokens) +
                R"(,"messages":[{"role":"user","content":"What is 2 + 3?"}])" +
                (tools ? ",\"tools\":[" + add_tool + "]" : "") + "}");
}

reply plan(const messages_request& m, fault f = fault::none) {
  std::string why;
  const auto mode = tool_mode_from_model(m.in.model, why);
  BOOST_REQUIRE(mode);
  return plan_reply(m, f, play_tools(m.in, *mode), with_tool_results(m.in, reply_text(m.in, 24)),
                    "sk-ant-secret");
}

// The follow-up to `first`: its content replayed as `assistant` (JSON array text), then a
// tool_result of "5" for each of its tool_use ids.
messages_request follow_up(const std::string& model, const std::string& assistant,
                           const reply& first) {
  std::string results;
  for (const auto& b : first.content) {
    if (b.what != block::kind::tool_use) continue;
    if (!results.empty()) results += ',';
    results += R"({"type":"tool_result","tool_use_id":")" + b.call.id + R"(","content":"5"})";
  }
  return parsed(
      R"({"model":")" + model + R"(","max_tokens":1000,"tools":[)" + add_tool +
      R"(],"messages":[{"role":"user","content":"What is 2 + 3?"},{"role":"assistant","content":)" +
      assistant + R"(},{"role":"user","content":[)" + results + "]}]}");
}

json::object data_of(const sse_event& e) {
  const std::string& b = e.bytes;
  BOOST_REQUIRE(b.starts_with("event: " + e.type + "\ndata: "));
  BOOST_REQUIRE(b.ends_with("\n\n"));
  const auto at = b.find("data: ") + 6;
  json::object o = json::parse(b.substr(at, b.size() - at - 2)).as_object();
  BOOST_CHECK_EQUAL(o.at("type").as_string(), e.type);  // the event name repeats the type
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_anthropic_replies)

BOOST_AUTO_TEST_CASE(a_text_reply) {
  const auto r = plan(ask("mock"));
  BOOST_REQUIRE_EQUAL(r.content.size(), 1u);
  BOOST_CHECK(r.content[0].what == block::kind::text);
  BOOST_CHECK(r.content[0].text.starts_with("On \"What is 2 + 3?\":"));
  BOOST_CHECK_EQUAL(r.stop_reason, "end_turn");
  BOOST_CHECK_GT(r.input_tokens, 0);
  BOOST_CHECK_GT(r.output_tokens, 0);
  BOOST_CHECK_EQUAL(r.cache_read_tokens, 0);
}

BOOST_AUTO_TEST_CASE(stop_reason_faults) {
  BOOST_CHECK_EQUAL(plan(ask("mock-length"), fault::length).stop_reason, "max_tokens");
  const auto refused = plan(ask("mock-filtered"), fault::filtered);
  BOOST_CHECK_EQUAL(refused.stop_reason, "refusal");
  BOOST_CHECK_LT(refused.content.at(0).text.size(), plan(ask("mock")).content[0].text.size());
  const auto empty = plan(ask("mock-empty"), fault::empty);
  BOOST_CHECK(empty.content.empty());
  BOOST_CHECK_EQUAL(empty.stop_reason, "end_turn");
  // A small max_tokens cuts the text there.
  const auto cut = plan(ask("mock", false, 3));
  BOOST_CHECK_EQUAL(cut.stop_reason, "max_tokens");
  BOOST_CHECK_LE(cut.content.at(0).text.size(), 12u);
  // The echo fault quotes the credential in two pieces, split inside it.
  const auto echo = plan(ask("mock-echo-stream"), fault::echo_stream);
  BOOST_REQUIRE_EQUAL(echo.content.at(0).pieces.size(), 2u);
  BOOST_CHECK_EQUAL(echo.content[0].pieces[0] + echo.content[0].pieces[1],
                    "Your header was: sk-ant-secret (echoed).");
}

BOOST_AUTO_TEST_CASE(pause_then_continue) {
  const auto first = plan(ask("mock-pause"), fault::paused);
  BOOST_CHECK_EQUAL(first.stop_reason, "pause_turn");
  // Sent back with the paused turn last, it continues and ends.
  const auto again = parsed(
      R"({"model":"mock-pause","max_tokens":1000,"messages":[{"role":"user","content":"What is 2 + 3?"},
          {"role":"assistant","content":)" +
      json::serialize(json::string(first.content.at(0).text)) + "}]}");
  BOOST_CHECK(!pauses(again.in));
  BOOST_CHECK_EQUAL(plan(again, fault::paused).stop_reason, "end_turn");
}

BOOST_AUTO_TEST_CASE(a_tool_turn) {
  const auto r = plan(ask("mock", true));
  BOOST_CHECK_EQUAL(r.stop_reason, "tool_use");
  BOOST_REQUIRE_EQUAL(r.content.size(), 1u);
  BOOST_CHECK(r.content[0].what == block::kind::tool_use);
  BOOST_CHECK_EQUAL(r.content[0].call.id, "toolu_mock_1");
  BOOST_CHECK_EQUAL(r.content[0].call.name, "add");
  BOOST_CHECK_EQUAL(r.content[0].call.arguments, R"({"a":2,"b":3})");
  // finish-stop tool turns end with end_turn, as some compatible servers do.
  BOOST_CHECK_EQUAL(plan(ask("mock-tools-finish-stop", true)).stop_reason, "end_turn");
}

BOOST_AUTO_TEST_CASE(thinking_comes_first_and_is_signed) {
  BOOST_CHECK(thinks(ask("mock-think")));
  BOOST_CHECK(thinks(ask("mock-think-tools-2")));
  BOOST_CHECK(!thinks(ask("mock-thinker")));
  BOOST_CHECK(!thinks(ask("mock")));
  const auto r = plan(ask("mock-think-tools", true));
  BOOST_REQUIRE_EQUAL(r.content.size(), 2u);
  BOOST_CHECK(r.content[0].what == block::kind::thinking);
  BOOST_CHECK(r.content[0].text.find("calling add") != std::string::npos);
  BOOST_CHECK_EQUAL(r.content[0].signature, thinking_signature(r.content[0].text));
  BOOST_CHECK(r.content[1].what == block::kind::tool_use);
  // Stable, 64 hex digits, and changed by any byte.
  BOOST_CHECK_EQUAL(thinking_signature("abc"), thinking_signature("abc"));
  BOOST_CHECK_EQUAL(thinking_signature("abc").size(), 64u);
  BOOST_CHECK_NE(thinking_signature("abc"), thinking_signature("abd"));
  BOOST_CHECK(plan(ask("mock-think")).content.at(1).what == block::kind::text);
}

BOOST_AUTO_TEST_CASE(the_thinking_replay_check) {
  const auto first = plan(ask("mock-think-tools", true));
  const std::string body = message_body(first);
  const std::string replayed = json::serialize(json::parse(body).at("content"));
  // Replayed verbatim: accepted, and the next reply answers with the result.
  auto next = follow_up("mock-think-tools", replayed, first);
  BOOST_CHECK(!check_thinking_replay(next));
  const auto answer = plan(next);
  BOOST_CHECK_EQUAL(answer.stop_reason, "end_turn");
  BOOST_CHECK(answer.content.back().text.ends_with("Tool add said: 5."));
  // Without the thinking block.
  auto without = json::parse(replayed).as_array();
  without.erase(without.begin());
  auto bad = check_thinking_replay(follow_up("mock-think-tools", json::serialize(without), first));
  BOOST_REQUIRE(bad);
  BOOST_CHECK(bad->starts_with(
      "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
      "`tool_use`."));
  // Tampered with.
  auto tampered = json::parse(replayed).as_array();
  tampered[0].as_object()["thinking"] = "Something else.";
  bad = check_thinking_replay(follow_up("mock-think-tools", json::serialize(tampered), first));
  BOOST_REQUIRE(bad);
  BOOST_CHECK_EQUAL(*bad, "messages.1.content.0: Invalid `signature` in `thinking` block");
  // A redacted block the mock never wrote.
  tampered[0] = json::parse(R"({"type":"redacted_thinking","data":"xyz"})");
  bad = check_thinking_replay(follow_up("mock-think-tools", json::serialize(tampered), first));
  BOOST_REQUIRE(bad);
  BOOST_CHECK_EQUAL(*bad, "messages.1.content.0: Invalid `data` in `redacted_thinking` block");
}

BOOST_AUTO_TEST_CASE(cached_messages_are_read_from_the_cache) {
  const auto m = parsed(
      R"({"model":"mock","max_tokens":100,"system":[{"type":"text","text":"A long system prompt.","cache_control":{"type":"ephemeral"}}],
          "messages":[{"role":"user","content":"Hi?"}]})");
  const auto r = plan(m);
  BOOST_CHECK_EQUAL(r.cache_read_tokens, 3 + (21 + 3) / 4);
  BOOST_CHECK_EQUAL(r.input_tokens + r.cache_read_tokens, count_usage(m.in, "").prompt_tokens);
}

BOOST_AUTO_TEST_CASE(the_message_body) {
  auto r = plan(ask("mock-think-tools", true));
  r.id = "msg_mock_1";
  r.model = "mock-think-tools";
  const auto v = json::parse(message_body(r)).as_object();
  BOOST_CHECK_EQUAL(v.at("id").as_string(), "msg_mock_1");
  BOOST_CHECK_EQUAL(v.at("type").as_string(), "message");
  BOOST_CHECK_EQUAL(v.at("role").as_string(), "assistant");
  BOOST_CHECK_EQUAL(v.at("stop_reason").as_string(), "tool_use");
  BOOST_CHECK(v.at("stop_sequence").is_null());
  const auto& content = v.at("content").as_array();
  BOOST_CHECK_EQUAL(content[0].at("type").as_string(), "thinking");
  BOOST_CHECK_EQUAL(content[0].at("signature").as_string(), r.content[0].signature);
  BOOST_CHECK_EQUAL(content[1].at("type").as_string(), "tool_use");
  BOOST_CHECK_EQUAL(content[1].at("input"), json::parse(R"({"a":2,"b":3})"));
  const auto& u = v.at("usage").as_object();
  BOOST_CHECK_EQUAL(u.at("input_tokens").as_int64(), r.input_tokens);
  BOOST_CHECK_EQUAL(u.at("output_tokens").as_int64(), r.output_tokens);
  BOOST_CHECK_EQUAL(u.at("cache_creation_input_tokens").as_int64(), 0);
  BOOST_CHECK_EQUAL(u.at("cache_read_input_tokens").as_int64(), 0);
  // Arguments that are not an object (mock-tools-malformed) go as a string.
  auto broken = r;
  broken.content[1].call.arguments = R"({"a":2)";
  const auto b = json::parse(message_body(broken));
  BOOST_CHECK_EQUAL(b.at("content").at(1).at("input").as_string(), R"({"a":2)");
}

BOOST_AUTO_TEST_CASE(the_stream_events_in_order) {
  auto r = plan(ask("mock-think-tools", true));
  r.id = "msg_mock_2";
  r.content.insert(r.content.begin() + 1, block{.what = block::kind::text, .text = "a b c d e"});
  const auto events = message_events(r, 2, false);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.type);
  const std::vector<std::string> expected = {
      "message_start", "ping",
      // thinking: its 13 words by two, then the signature
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_delta", "content_block_stop", "ping",
      // text "a b c d e" by two words: three deltas
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_stop", "ping",
      // tool_use: the input in three pieces
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_stop", "message_delta", "message_stop"};
  BOOST_REQUIRE_EQUAL(r.content[0].text,
                      "Thinking about \"What is 2 + 3?\" (round 1): calling add should help.");
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), expected.begin(), expected.end());

  const auto start = data_of(events[0]).at("message").as_object();
  BOOST_CHECK_EQUAL(start.at("id").as_string(), "msg_mock_2");
  BOOST_CHECK(start.at("content").as_array().empty());
  BOOST_CHECK(start.at("stop_reason").is_null());
  BOOST_CHECK_EQUAL(start.at("usage").at("output_tokens").as_int64(), 1);
  BOOST_CHECK_EQUAL(start.at("usage").at("input_tokens").as_int64(), r.input_tokens);
  // Each block's deltas rebuild it.
  std::string thinking, signature, text, input;
  for (const auto& e : events) {
    if (e.type != "content_block_delta") continue;
    const auto d = data_of(e);
    const auto& delta = d.at("delta").as_object();
    const auto type = delta.at("type").as_string();
    const auto index = d.at("index").as_int64();
    if (type == "thinking_delta") thinking += delta.at("thinking").as_string();
    if (type == "signature_delta") signature += delta.at("signature").as_string();
    if (type == "text_delta") text += delta.at("text").as_string();
    if (type == "input_json_delta") input += delta.at("partial_json").as_string();
    BOOST_CHECK_EQUAL(index, type == "text_delta" ? 1 : type == "input_json_delta" ? 2 : 0);
  }
  BOOST_CHECK_EQUAL(thinking, r.content[0].text);
  BOOST_CHECK_EQUAL(signature, r.content[0].signature);
  BOOST_CHECK_EQUAL(text, "a b c d e");
  BOOST_CHECK_EQUAL(input, R"({"a":2,"b":3})");
  const auto tool_start = data_of(events[19]).at("content_block").as_object();
  BOOST_CHECK_EQUAL(tool_start.at("id").as_string(), "toolu_mock_1");
  BOOST_CHECK(tool_start.at("input").as_object().empty());
  const auto delta = data_of(events[events.size() - 2]);
  BOOST_CHECK_EQUAL(delta.at("delta").at("stop_reason").as_string(), "tool_use");
  BOOST_CHECK(delta.at("delta").at("stop_sequence").is_null());
  BOOST_CHECK_EQUAL(delta.at("usage").at("output_tokens").as_int64(), r.output_tokens);
  // Dripping: one byte a delta.
  const auto drip = message_events(plan(ask("mock")), 3, true);
  BOOST_CHECK_EQUAL(drip.size(), 2 + 2 + plan(ask("mock")).content[0].text.size() + 2);
}

BOOST_AUTO_TEST_CASE(errors_and_limits) {
  const auto body = json::parse(error_body("overloaded_error", "Overloaded", "req_1"));
  BOOST_CHECK_EQUAL(body, json::parse(R"({"type":"error","error":{"type":"overloaded_error",
                                          "message":"Overloaded"},"request_id":"req_1"})"));
  BOOST_CHECK_EQUAL(error_event("overloaded_error", "Overloaded"),
                    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
  BOOST_CHECK_EQUAL(stop_reason_for("stop"), "end_turn");
  BOOST_CHECK_EQUAL(stop_reason_for("length"), "max_tokens");
  BOOST_CHECK_EQUAL(stop_reason_for("content_filter"), "refusal");
  BOOST_CHECK_EQUAL(stop_reason_for("tool_calls"), "tool_use");

  using namespace std::chrono;
  const sys_seconds at = sys_days{year{2026} / 11 / 26} + hours{3} + minutes{4} + seconds{5};
  BOOST_CHECK_EQUAL(rfc3339(at), "2026-11-26T03:04:05Z");
  BOOST_CHECK_EQUAL(rfc3339(at + milliseconds{1}), "2026-11-26T03:04:06Z");  // rounded up
  limit_reading l;
  l.requests_limit = 50;
  l.requests_remaining = 0;
  l.requests_reset = seconds{2};
  l.input_tokens_limit = 1000;
  l.input_tokens_remaining = 900;
  l.output_tokens_limit = 100;
  l.output_tokens_remaining = 10;
  l.tokens_reset = milliseconds{1500};
  const auto headers = ratelimit_headers(l, at);
  auto value = [&](const std::string& name) {
    for (const auto& [n, v] : headers) {
      if (n == "anthropic-ratelimit-" + name) return v;
    }
    BOOST_ERROR("no header anthropic-ratelimit-" + name);
    return std::string();
  };
  BOOST_CHECK_EQUAL(headers.size(), 12u);
  BOOST_CHECK_EQUAL(value("requests-limit"), "50");
  BOOST_CHECK_EQUAL(value("requests-remaining"), "0");
  BOOST_CHECK_EQUAL(value("requests-reset"), "2026-11-26T03:04:07Z");
  BOOST_CHECK_EQUAL(value("tokens-limit"), "1100");
  BOOST_CHECK_EQUAL(value("tokens-remaining"), "910");
  BOOST_CHECK_EQUAL(value("tokens-reset"), "2026-11-26T03:04:07Z");
  BOOST_CHECK_EQUAL(value("input-tokens-remaining"), "900");
  BOOST_CHECK_EQUAL(value("output-tokens-limit"), "100");
  BOOST_CHECK_EQUAL(value("output-tokens-reset"), "2026-11-26T03:04:07Z");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_mock_anthropic_replies
