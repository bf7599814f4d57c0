// `conclave serve` as an OpenAI-compatible model, in-process over loopback: chat completions
// whole and streamed (role chunk, reasoning deltas in both fields, content, finish, usage,
// [DONE]), refusals (tools, unknown models), the Responses API streamed and whole, and bearer
// keys.
#include "serve_rig.hpp"

#include <boost/test/unit_test.hpp>

namespace integration_test_serve_chat {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
using conclave::test::error_field;
using conclave::test::json_of;
using conclave::test::serve_rig;
using conclave::test::serve_setup;
using conclave::test::sse_events;
namespace json = boost::json;

namespace {

const std::string tea_question = R"("messages":[{"role":"system","content":"Be brief."},)"
                                 R"({"role":"user","content":"Compare tea and coffee"}])";

}  // namespace

BOOST_AUTO_TEST_SUITE(serve)

BOOST_AUTO_TEST_CASE(chat_completion_whole) {
  serve_rig r;
  const auto reply = r.call("POST", "/v1/chat/completions",
                            R"({"model":"conclave-heavy-2",)" + tea_question + "}");
  BOOST_REQUIRE_MESSAGE(reply.result_int() == 200, reply.body());
  const auto v = json_of(reply.body());
  BOOST_CHECK_EQUAL(v.at("object").as_string(), "chat.completion");
  BOOST_CHECK_EQUAL(v.at("model").as_string(), "conclave-heavy-2");
  const auto& choice = v.at("choices").as_array().at(0);
  BOOST_CHECK_EQUAL(choice.at("finish_reason").as_string(), "stop");
  const auto& message = choice.at("message");
  BOOST_CHECK_EQUAL(message.at("role").as_string(), "assistant");
  BOOST_CHECK(!message.at("content").as_string().empty());
  const std::string reasoning(message.at("reasoning").as_string());
  BOOST_CHECK(reasoning.find("Decomposed into 2") != std::string::npos);
  BOOST_CHECK_EQUAL(message.at("reasoning_content").as_string(), reasoning);
  BOOST_CHECK_GT(v.at("usage").at("prompt_tokens").as_int64(), 0);
  BOOST_CHECK_GT(v.at("usage").at("completion_tokens").as_int64(), 0);
  BOOST_CHECK_EQUAL(r.gate->calls().size(), 4u);  // decomposition, 2 agents, synthesis
  BOOST_CHECK_EQUAL(r.svc->stats().chat_runs, 0u);
}

BOOST_AUTO_TEST_CASE(chat_completion_streamed_with_usage) {
  serve_rig r;
  const auto reply = r.call("POST", "/v1/chat/completions",
                            R"({"model":"conclave-heavy-3","stream":true,)"
                            R"("stream_options":{"include_usage":true},)" +
                                tea_question + "}");
  BOOST_REQUIRE_EQUAL(reply.result_int(), 200u);
  BOOST_CHECK(std::string(reply["content-type"]).starts_with("text/event-stream"));
  const auto frames = sse_events(reply.body());
  BOOST_REQUIRE_GE(frames.size(), 5u);
  BOOST_CHECK_EQUAL(frames.back().data, "[DONE]");
  std::vector<json::value> chunks;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) chunks.push_back(json_of(frames[i].data));
  // The role chunk first.
  BOOST_CHECK_EQUAL(chunks.front().at("object").as_string(), "chat.completion.chunk");
  BOOST_CHECK_EQUAL(chunks.front().at("choices").at(0).at("delta").at("role").as_string(),
                    "assistant");
  std::size_t first_reasoning = 0, first_content = 0, finish = 0, usage = 0;
  std::string reasoning, content;
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    const auto& choices = chunks[i].at("choices").as_array();
    if (choices.empty()) {  // the usage chunk
      usage = i;
      BOOST_CHECK_GT(chunks[i].at("usage").at("total_tokens").as_int64(), 0);
      continue;
    }
    const auto& delta = choices.at(0).at("delta").as_object();
    if (const auto* t = delta.if_contains("reasoning")) {
      if (!first_reasoning) first_reasoning = i;
      reasoning += t->as_string();
      BOOST_CHECK_EQUAL(delta.at("reasoning_content").as_string(), t->as_string());
    }
    if (const auto* t = delta.if_contains("content"); t && !t->as_string().empty()) {
      if (!first_content) first_content = i;
      content += t->as_string();
    }
    const auto& reason = choices.at(0).at("finish_reason");
    if (!reason.is_null()) {
      BOOST_CHECK_EQUAL(reason.as_string(), "stop");
      finish = i;
    }
  }
  BOOST_CHECK(reasoning.find("Decomposed into 3") != std::string::npos);
  BOOST_CHECK(reasoning.find("Agent 3/3 done") != std::string::npos);
  BOOST_CHECK(!content.empty());
  BOOST_CHECK_GT(first_reasoning, 0u);
  BOOST_CHECK_LT(first_reasoning, first_content);  // progress, then the synthesis as it comes
  BOOST_CHECK_LT(first_content, finish);
  BOOST_CHECK_EQUAL(usage, chunks.size() - 1);  // after finish, just before [DONE]
  BOOST_CHECK_LT(finish, usage);
}

BOOST_AUTO_TEST_CASE(chat_refuses_tools_and_unknown_models) {
  serve_rig r;
  const auto tools = r.call("POST", "/v1/chat/completions",
                            R"({"model":"conclave-heavy",)" + tea_question +
                                R"(,"tools":[{"type":"function","function":{"name":"f"}}]})");
  BOOST_CHECK_EQUAL(tools.result_int(), 400u);
  BOOST_CHECK_EQUAL(error_field(tools, "param"), "tools");
  const auto unknown =
      r.call("POST", "/v1/chat/completions", R"({"model":"gpt-4o",)" + tea_question + "}");
  BOOST_CHECK_EQUAL(unknown.result_int(), 404u);
  BOOST_CHECK_EQUAL(error_field(unknown, "code"), "model_not_found");
  BOOST_CHECK_EQUAL(error_field(unknown, "param"), "model");
  const auto too_many = r.call("POST", "/v1/chat/completions",
                               R"({"model":"conclave-heavy-99",)" + tea_question + "}");
  BOOST_CHECK_EQUAL(too_many.result_int(), 404u);
  BOOST_CHECK_EQUAL(r.call("GET", "/v1/models/conclave-heavy-3").result_int(), 200u);
  BOOST_CHECK_EQUAL(r.call("GET", "/v1/models/gpt-4o").result_int(), 404u);
  BOOST_CHECK_EQUAL(r.gate->calls().size(), 0u);
}

BOOST_AUTO_TEST_CASE(responses_streamed_and_whole) {
  serve_rig r;
  const auto streamed =
      r.call("POST", "/v1/responses",
             R"({"model":"conclave-heavy-2","stream":true,"input":"Compare tea and coffee"})");
  BOOST_REQUIRE_EQUAL(streamed.result_int(), 200u);
  const auto frames = sse_events(streamed.body());
  BOOST_REQUIRE_GE(frames.size(), 4u);
  BOOST_CHECK_EQUAL(frames.front().event, "response.created");
  BOOST_CHECK_EQUAL(frames.back().event, "response.completed");
  std::int64_t last_seq = -1;
  std::string text;
  for (const auto& f : frames) {
    const auto v = json_of(f.data);
    BOOST_CHECK_EQUAL(v.at("type").as_string(), f.event);
    const std::int64_t seq = v.at("sequence_number").as_int64();
    BOOST_CHECK_GT(seq, last_seq);
    last_seq = seq;
    if (f.event == "response.output_text.delta") text += v.at("delta").as_string();
  }
  BOOST_CHECK(!text.empty());
  const auto done = json_of(frames.back().data).at("response");
  BOOST_CHECK_EQUAL(done.at("status").as_string(), "completed");
  BOOST_CHECK_GT(done.at("usage").at("input_tokens").as_int64(), 0);

  const auto whole = r.call("POST", "/v1/responses",
                            R"({"model":"conclave-heavy-2","input":"Compare tea and coffee"})");
  BOOST_REQUIRE_EQUAL(whole.result_int(), 200u);
  const auto v = json_of(whole.body());
  BOOST_CHECK_EQUAL(v.at("object").as_string(), "response");
  BOOST_CHECK_EQUAL(v.at("status").as_string(), "completed");
  const auto& output = v.at("output").as_array();
  BOOST_REQUIRE(!output.empty());
  const auto& message = output.back();
  BOOST_CHECK_EQUAL(message.at("type").as_string(), "message");
  BOOST_CHECK(!message.at("content").at(0).at("text").as_string().empty());
}

BOOST_AUTO_TEST_CASE(bearer_keys) {
  serve_setup s;
  s.service.api_keys = {"sk-first", "sk-second"};
  serve_rig r(s);
  const auto none = r.call("GET", "/v1/models");
  BOOST_CHECK_EQUAL(none.result_int(), 401u);
  BOOST_CHECK_EQUAL(error_field(none, "code"), "invalid_api_key");
  BOOST_CHECK_EQUAL(std::string(none["www-authenticate"]), "Bearer");
  BOOST_CHECK_EQUAL(
      r.call("GET", "/v1/models", {}, {{"authorization", "Bearer sk-third"}}).result_int(), 401u);
  BOOST_CHECK_EQUAL(
      r.call("GET", "/v1/models", {}, {{"authorization", "Bearer sk-firs"}}).result_int(), 401u);
  BOOST_CHECK_EQUAL(r.call("GET", "/v1/models", {}, {{"authorization", "sk-first"}}).result_int(),
                    401u);
  BOOST_CHECK_EQUAL(r.call("POST", "/v1/tasks", R"({"question":"x"})").result_int(), 401u);
  BOOST_CHECK_EQUAL(r.call("GET", "/v1/tasks/task_00000000000000000000").result_int(), 401u);
  const auto good = r.call("GET", "/v1/models", {}, {{"authorization", "Bearer sk-second"}});
  BOOST_CHECK_EQUAL(good.result_int(), 200u);
  BOOST_CHECK(good.body().find("conclave-heavy") != std::string::npos);
  const auto health = r.call("GET", "/healthz");  // open, no key
  BOOST_CHECK_EQUAL(health.result_int(), 200u);
  BOOST_CHECK_EQUAL(health.body(), "ok\n");
  BOOST_CHECK_EQUAL(r.gate->calls().size(), 0u);
}

BOOST_AUTO_TEST_CASE(no_keys_means_loopback_only) {
  serve_rig r;
  conclave::serve::service_options o;
  o.http.address = "0.0.0.0";
  conclave::serve::service open_door(r.io.get_executor(), *r.eng, o);
  BOOST_CHECK_THROW(open_door.listen(), std::invalid_argument);
  BOOST_CHECK_EQUAL(open_door.port(), 0u);
  o.http.address = "192.0.2.1";  // any non-loopback address, refused before binding
  conclave::serve::service other(r.io.get_executor(), *r.eng, o);
  BOOST_CHECK_THROW(other.listen(), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_serve_chat
