// The chat completions request parser, the models list and the error body of `conclave serve`.
#include <conclave/engine/error.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/serve/openai_compat.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

namespace unit_test_openai_compat {  // file-local names stay apart in unity batches

namespace serve = conclave::serve;
namespace json = boost::json;

namespace {

const serve::model_limits limits{};

serve::heavy_request ok(const std::string& body) {
  auto r = serve::parse_chat_request(body, limits);
  if (const auto* e = std::get_if<serve::wire_error>(&r))
    BOOST_FAIL("refused: " + e->message + " (param " + e->param + ")");
  return std::get<serve::heavy_request>(std::move(r));
}

serve::wire_error refused(const std::string& body, const serve::model_limits& l = limits) {
  auto r = serve::parse_chat_request(body, l);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<serve::wire_error>(r), "accepted: " + body);
  return std::get<serve::wire_error>(std::move(r));
}

// A request with `extra` members after model and messages.
std::string chat(
    const std::string& extra,
    const std::string& messages = R"([{"role":"user","content":"Why is the sky blue?"}])") {
  return R"({"model":"conclave-heavy","messages":)" + messages + (extra.empty() ? "" : ",") +
         extra + "}";
}

void check_error(const serve::wire_error& e, unsigned status, const std::string& param,
                 const std::string& code = "") {
  BOOST_TEST(e.status == status);
  BOOST_TEST(e.param == param);
  BOOST_TEST(e.code == code);
  BOOST_TEST(!e.message.empty());
  // The body parses back as OpenAI's error object, nulls for the empty fields.
  const auto body = json::parse(e.body()).as_object().at("error").as_object();
  BOOST_TEST(body.at("message").as_string() == e.message);
  BOOST_TEST(body.at("type").as_string() == e.type);
  if (param.empty())
    BOOST_TEST(body.at("param").is_null());
  else
    BOOST_TEST(body.at("param").as_string() == param);
  if (code.empty())
    BOOST_TEST(body.at("code").is_null());
  else
    BOOST_TEST(body.at("code").as_string() == code);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_compat)

BOOST_AUTO_TEST_CASE(heavy_model_names) {
  BOOST_TEST(serve::heavy_model_agents("conclave-heavy", 20).value_or(-1) == 0);
  BOOST_TEST(serve::heavy_model_agents("conclave-heavy-1", 20).value_or(-1) == 1);
  BOOST_TEST(serve::heavy_model_agents("conclave-heavy-20", 20).value_or(-1) == 20);
  for (const char* bad :
       {"conclave-heavy-21", "conclave-heavy-0", "conclave-heavy-05", "conclave-heavy-",
        "conclave-heavy--5", "conclave-heavy-+5", "conclave-heavy-5x", "conclave-heavy5",
        "Conclave-Heavy", "gpt-4o", "", "conclave-heavy-99999999999999999999"}) {
    BOOST_TEST(!serve::heavy_model_agents(bad, 20).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(models_list) {
  const auto v = json::parse(serve::models_json(3, 1700000000)).as_object();
  BOOST_TEST(v.at("object").as_string() == "list");
  const auto& data = v.at("data").as_array();
  BOOST_REQUIRE_EQUAL(data.size(), 4u);
  const char* ids[] = {"conclave-heavy", "conclave-heavy-1", "conclave-heavy-2",
                       "conclave-heavy-3"};
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& m = data[i].as_object();
    BOOST_TEST(m.at("id").as_string() == ids[i]);
    BOOST_TEST(m.at("object").as_string() == "model");
    BOOST_TEST(m.at("created").as_int64() == 1700000000);
    BOOST_TEST(m.at("owned_by").as_string() == "conclave");
  }
  const auto one = json::parse(serve::model_json("conclave-heavy-2", 5)).as_object();
  BOOST_TEST(one.at("id").as_string() == "conclave-heavy-2");
  BOOST_TEST(one.at("object").as_string() == "model");
  check_error(serve::model_not_found("nope"), 404, "model", "model_not_found");
}

BOOST_AUTO_TEST_CASE(plain_request) {
  const auto r = ok(chat(""));
  BOOST_TEST(r.model == "conclave-heavy");
  BOOST_TEST(r.agents == 0);
  BOOST_TEST(r.question == "Why is the sky blue?");
  BOOST_TEST(r.system.empty());
  BOOST_TEST(!r.stream);
  BOOST_TEST(!r.include_usage);
  BOOST_TEST(!r.max_output_tokens.has_value());
  BOOST_TEST(!r.temperature.has_value());
  BOOST_TEST(!r.reasoning.has_value());
}

BOOST_AUTO_TEST_CASE(options_are_read) {
  const auto r = ok(
      R"({"model":"conclave-heavy-5","messages":[{"role":"user","content":"q"}],"stream":true,
          "stream_options":{"include_usage":true},"temperature":0.5,"max_tokens":100,
          "max_completion_tokens":200,"reasoning_format":"raw","n":1,"user":"u1",
          "top_p":0.9,"seed":4,"metadata":{"a":"b"},"tools":[],"tool_choice":"none"})");
  BOOST_TEST(r.agents == 5);
  BOOST_TEST(r.model == "conclave-heavy-5");
  BOOST_TEST(r.stream);
  BOOST_TEST(r.include_usage);
  BOOST_TEST(r.temperature.value_or(-1) == 0.5);
  BOOST_TEST(r.max_output_tokens.value_or(-1) == 200);  // the newer name wins
  BOOST_TEST((r.reasoning == serve::reasoning_style::think_tags));
  BOOST_TEST(ok(chat(R"("max_tokens":64.0)")).max_output_tokens.value_or(-1) == 64);
  BOOST_TEST(!ok(chat(R"("stream_options":{"include_usage":true})")).include_usage);  // no stream
  BOOST_TEST(
      (ok(chat(R"("reasoning_format":"parsed")")).reasoning == serve::reasoning_style::fields));
  BOOST_TEST(
      (ok(chat(R"("reasoning_format":"hidden")")).reasoning == serve::reasoning_style::none));
  BOOST_TEST(
      (ok(chat(R"("reasoning":{"exclude":true})")).reasoning == serve::reasoning_style::none));
  // Nulls stand for defaults, as SDKs send them.
  const auto nulls = ok(chat(R"("stream":null,"temperature":null,"max_tokens":null,"n":null)"));
  BOOST_TEST(!nulls.stream);
  BOOST_TEST(!nulls.temperature.has_value());
}

BOOST_AUTO_TEST_CASE(system_and_developer_join_and_parts_are_text) {
  const auto r = ok(chat("", R"([
      {"role":"system","content":"Be brief."},
      {"role":"developer","content":[{"type":"text","text":"Cite sources."}]},
      {"role":"user","content":[{"type":"text","text":"Part one."},{"type":"text","text":"Part two."}]}])"));
  BOOST_TEST(r.system == "Be brief.\n\nCite sources.");
  BOOST_TEST(r.question == "Part one.\nPart two.");
}

BOOST_AUTO_TEST_CASE(assistant_reasoning_is_dropped_and_turns_become_context) {
  const auto r = ok(chat("", R"([
      {"role":"user","content":"What is 2+2?"},
      {"role":"assistant","content":"4","reasoning":"SECRET-R","reasoning_content":"SECRET-RC",
       "refusal":null,"tool_calls":[]},
      {"role":"user","content":"And times 3?"}])"));
  BOOST_TEST(r.question.find("SECRET") == std::string::npos);
  BOOST_TEST(r.question.find("Earlier conversation:") == 0u);
  BOOST_TEST(r.question.find("User: What is 2+2?") != std::string::npos);
  BOOST_TEST(r.question.find("Assistant: 4") != std::string::npos);
  BOOST_TEST(r.question.ends_with("\nQuestion:\nAnd times 3?"));
  // An assistant message of parts (with a refusal part) and a null content.
  const auto parts = ok(chat("", R"([{"role":"user","content":"a"},
      {"role":"assistant","content":[{"type":"refusal","refusal":"no"},{"type":"text","text":"b"}]},
      {"role":"assistant","content":null},{"role":"user","content":"c"}])"));
  BOOST_TEST(parts.question.find("Assistant: b") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(earlier_turns_are_bounded) {
  std::string messages = "[";
  for (int i = 0; i < 40; ++i)
    messages += R"({"role":"user","content":")" + std::string(3000, 'a' + i % 26) + R"("},)";
  messages += R"({"role":"user","content":"last"}])";
  const auto r = ok(chat("", messages));
  BOOST_TEST(r.question.size() < 20'000u);
  BOOST_TEST(r.question.ends_with("Question:\nlast"));
  BOOST_TEST(r.question.find("older turns left out") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_bodies) {
  check_error(refused("{not json"), 400, "");
  check_error(refused("[1,2]"), 400, "");
  check_error(refused(R"("text")"), 400, "");
  check_error(refused(""), 400, "");
}

BOOST_AUTO_TEST_CASE(messages_are_checked) {
  check_error(refused(R"({"model":"conclave-heavy"})"), 400, "messages");
  check_error(refused(chat("", "[]")), 400, "messages");
  check_error(refused(chat("", R"("hi")")), 400, "messages");
  check_error(refused(chat("", R"([{"content":"x"}])")), 400, "messages");
  check_error(refused(chat("", R"([{"role":"wizard","content":"x"}])")), 400, "messages");
  check_error(refused(chat("", R"([{"role":7,"content":"x"}])")), 400, "messages");
  check_error(refused(chat("", R"(["hi"])")), 400, "messages");
  check_error(refused(chat("", R"([{"role":"user","content":5}])")), 400, "messages");
  check_error(refused(chat("", R"([{"role":"user","content":" \n "}])")), 400, "messages");
  check_error(refused(chat("", R"([{"role":"user","content":[]}])")), 400, "messages");
  check_error(refused(chat("", R"([{"role":"system","content":"only a system"}])")), 400,
              "messages");
  check_error(refused(chat("", R"([{"role":"user","content":[{"type":"image_url",
      "image_url":{"url":"http://x/y.png"}}]}])")),
              400, "messages");
  check_error(refused(chat("", R"([{"role":"user","content":[{"text":"no type"}]}])")), 400,
              "messages");
  check_error(refused(chat("", R"([{"role":"user","content":[{"type":"text"}]}])")), 400,
              "messages");
  check_error(refused(chat("", R"([{"role":"tool","tool_call_id":"c1","content":"42"},
      {"role":"user","content":"q"}])")),
              400, "messages");
  check_error(refused(chat("", R"([{"role":"user","content":"q"},{"role":"assistant",
      "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"user","content":"r"}])")),
              400, "messages");
  // The message names which one.
  BOOST_TEST(refused(chat("", R"([{"role":"user","content":"a"},{"role":"x"}])"))
                 .message.find("messages[1]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tools_are_refused_clearly) {
  const auto e =
      refused(chat(R"("tools":[{"type":"function","function":{"name":"f","parameters":{}}}])"));
  check_error(e, 400, "tools");
  BOOST_TEST(e.message.find("does not call client tools") != std::string::npos);
  check_error(refused(chat(R"("functions":[{"name":"f"}])")), 400, "functions");
  check_error(refused(chat(R"("tool_choice":"required")")), 400, "tool_choice");
  check_error(refused(chat(R"("tool_choice":{"type":"function","function":{"name":"f"}})")), 400,
              "tool_choice");
  check_error(refused(chat(R"("function_call":{"name":"f"})")), 400, "function_call");
  ok(chat(R"("tools":[],"tool_choice":"auto","parallel_tool_calls":false)"));
}

BOOST_AUTO_TEST_CASE(fields_are_typed) {
  check_error(refused(chat(R"("n":2)")), 400, "n");
  check_error(refused(chat(R"("n":"1")")), 400, "n");
  check_error(refused(chat(R"("stream":"true")")), 400, "stream");
  check_error(refused(chat(R"("stream":1)")), 400, "stream");
  check_error(refused(chat(R"("stream":true,"stream_options":{"include_usage":"yes"})")), 400,
              "stream_options.include_usage");
  check_error(refused(chat(R"("stream_options":5)")), 400, "stream_options");
  check_error(refused(chat(R"("temperature":3)")), 400, "temperature");
  check_error(refused(chat(R"("temperature":-0.1)")), 400, "temperature");
  check_error(refused(chat(R"("temperature":"hot")")), 400, "temperature");
  check_error(refused(chat(R"("max_tokens":0)")), 400, "max_tokens");
  check_error(refused(chat(R"("max_tokens":1.5)")), 400, "max_tokens");
  check_error(refused(chat(R"("max_tokens":"10")")), 400, "max_tokens");
  check_error(refused(chat(R"("max_tokens":3000000000)")), 400, "max_tokens");
  check_error(refused(chat(R"("max_completion_tokens":-5)")), 400, "max_completion_tokens");
  check_error(refused(chat(R"("reasoning_format":"loud")")), 400, "reasoning_format");
  check_error(refused(chat(R"("reasoning_format":1)")), 400, "reasoning_format");
}

BOOST_AUTO_TEST_CASE(models_are_checked) {
  const std::string msgs = R"("messages":[{"role":"user","content":"q"}])";
  check_error(refused("{" + msgs + "}"), 400, "model");
  check_error(refused(R"({"model":"",)" + msgs + "}"), 400, "model");
  check_error(refused(R"({"model":5,)" + msgs + "}"), 400, "model");
  const auto e = refused(R"({"model":"gpt-4o",)" + msgs + "}");
  check_error(e, 404, "model", "model_not_found");
  BOOST_TEST(e.message.find("gpt-4o") != std::string::npos);
  check_error(refused(R"({"model":"conclave-heavy-21",)" + msgs + "}"), 404, "model",
              "model_not_found");
  serve::model_limits few;
  few.max_agents = 3;
  check_error(refused(R"({"model":"conclave-heavy-4",)" + msgs + "}", few), 404, "model",
              "model_not_found");
}

BOOST_AUTO_TEST_CASE(long_questions_are_refused) {
  serve::model_limits small;
  small.max_question_chars = 100;
  const std::string big(101, 'x');
  const auto e = refused(chat("", R"([{"role":"user","content":")" + big + R"("}])"), small);
  check_error(e, 400, "messages", "context_length_exceeded");
  check_error(refused(chat("", R"([{"role":"system","content":")" + big +
                                   R"("},{"role":"user","content":"q"}])"),
                      small),
              400, "messages", "context_length_exceeded");
  // At the limit it passes.
  auto r = serve::parse_chat_request(
      chat("", R"([{"role":"user","content":")" + std::string(100, 'x') + R"("}])"), small);
  BOOST_TEST(std::holds_alternative<serve::heavy_request>(r));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_refused_as_bad_json) {
  check_error(refused(chat("", "[{\"role\":\"user\",\"content\":\"a\xFF\"}]")), 400, "");
}

BOOST_AUTO_TEST_CASE(a_run_stopped_by_rate_limits_is_429_with_their_longest_wait) {
  using conclave::error;
  conclave::run_report r;
  r.agents.resize(3);
  for (auto& a : r.agents) a.error = error::rate_limited;
  r.agents[0].diag.retry_after = std::chrono::milliseconds(41'000);
  r.agents[1].diag.retry_after = std::chrono::milliseconds(2'500);
  auto e = serve::run_failure(error::all_agents_failed, r);
  BOOST_TEST(e.status == 429u);
  BOOST_TEST(e.code == "rate_limited");
  BOOST_TEST(e.type == "rate_limit_error");
  BOOST_TEST(e.retry_after.value().count() == 41'000);
  BOOST_TEST(e.message.find("heavy mode failed") == 0u);

  r.agents[0].diag.retry_after = std::chrono::hours(5);  // a server's word: bounded
  BOOST_TEST(serve::run_failure(error::all_agents_failed, r).retry_after->count() == 3'600'000);

  r.agents[2].error = error::timeout;  // one failed otherwise: the run failed, not a limit
  e = serve::run_failure(error::all_agents_failed, r);
  BOOST_TEST(e.status == 502u);
  BOOST_TEST(!e.retry_after.has_value());

  // Refused before any agent (the decomposition): 429, a second at least.
  e = serve::run_failure(error::rate_limited, conclave::run_report{});
  BOOST_TEST(e.status == 429u);
  BOOST_TEST(e.retry_after->count() == 1000);
  BOOST_TEST(serve::run_failure(error::timeout, conclave::run_report{}).status == 504u);
  BOOST_TEST(serve::run_failure(error::all_agents_failed, conclave::run_report{}).status == 502u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_openai_compat
