// POST /v1/responses: the request parser, the event stream (parsed back and replayed the way
// openai-node's accumulator does) and the non-streamed response object.
#include <conclave/engine/chat.hpp>
#include <conclave/serve/responses_compat.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace unit_test_responses_compat {  // file-local names stay apart in unity batches

namespace serve = conclave::serve;
namespace json = boost::json;

namespace {

const serve::model_limits limits{};

std::variant<serve::heavy_request, serve::wire_error> parse(const std::string& extra,
                                                            const std::string& input = R"("q?")") {
  return serve::parse_responses_request(
      R"({"model":"conclave-heavy-2","input":)" + input + (extra.empty() ? "" : ",") + extra + "}",
      limits);
}

serve::heavy_request ok(const std::string& extra, const std::string& input = R"("q?")") {
  auto r = parse(extra, input);
  if (const auto* e = std::get_if<serve::wire_error>(&r)) BOOST_FAIL("refused: " + e->message);
  return std::get<serve::heavy_request>(std::move(r));
}

void refused(const std::string& extra, const std::string& input, unsigned status,
             const std::string& param, const std::string& code = "") {
  auto r = parse(extra, input);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<serve::wire_error>(r), "accepted: " + extra + input);
  const auto& e = std::get<serve::wire_error>(r);
  BOOST_TEST(e.status == status);
  BOOST_TEST(e.param == param);
  BOOST_TEST(e.code == code);
  BOOST_TEST(!e.message.empty());
}

struct frame {
  std::string type;
  json::object data;
};

// Every frame must be "event: <type>\ndata: <json>\n\n" with the same type inside.
std::vector<frame> frames(const std::string& sse) {
  std::vector<frame> out;
  std::size_t at = 0;
  while (at < sse.size()) {
    const auto end = sse.find("\n\n", at);
    BOOST_REQUIRE(end != std::string::npos);
    const std::string f = sse.substr(at, end - at);
    BOOST_REQUIRE_MESSAGE(f.starts_with("event: "), f);
    const auto nl = f.find('\n');
    BOOST_REQUIRE(nl != std::string::npos);
    BOOST_REQUIRE(f.compare(nl + 1, 6, "data: ") == 0);
    frame fr{f.substr(7, nl - 7), json::parse(f.substr(nl + 7)).as_object()};
    BOOST_TEST(fr.data.at("type").as_string() == fr.type);
    out.push_back(std::move(fr));
    at = end + 2;
  }
  return out;
}

std::vector<std::string> types(const std::vector<frame>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.type);
  return out;
}

// The checks openai-node's response accumulator makes, replayed: the first event is
// response.created; items are appended at output_index == size with an id; item events name
// the item at their output_index by id and type; parts append in order; deltas accumulate.
json::object replay(const std::vector<frame>& fs) {
  BOOST_REQUIRE(!fs.empty());
  BOOST_REQUIRE_EQUAL(fs[0].type, "response.created");
  json::object snap = fs[0].data.at("response").as_object();
  for (std::size_t i = 1; i < fs.size(); ++i) {
    const auto& e = fs[i].data;
    const auto& t = fs[i].type;
    if (e.contains("response")) {
      snap = e.at("response").as_object();
      continue;
    }
    auto& output = snap["output"].as_array();
    const auto index = static_cast<std::size_t>(e.at("output_index").as_int64());
    if (t == "response.output_item.added") {
      BOOST_REQUIRE_EQUAL(index, output.size());
      BOOST_REQUIRE(!e.at("item").at("id").as_string().empty());
      output.push_back(e.at("item"));
      continue;
    }
    BOOST_REQUIRE_LT(index, output.size());
    auto& item = output[index].as_object();
    if (t == "response.output_item.done") {
      BOOST_TEST(e.at("item").at("id") == item.at("id"));
      BOOST_TEST(e.at("item").at("type") == item.at("type"));
      item = e.at("item").as_object();
      continue;
    }
    BOOST_TEST(e.at("item_id") == item.at("id"));
    const bool reasoning = t.starts_with("response.reasoning_summary");
    BOOST_TEST(item.at("type").as_string() == (reasoning ? "reasoning" : "message"));
    auto& parts = item[reasoning ? "summary" : "content"].as_array();
    const auto k =
        static_cast<std::size_t>(e.at(reasoning ? "summary_index" : "content_index").as_int64());
    if (t.ends_with("part.added")) {
      BOOST_REQUIRE_EQUAL(k, parts.size());
      parts.push_back(e.at("part"));
      continue;
    }
    BOOST_REQUIRE_LT(k, parts.size());
    auto& part = parts[k].as_object();
    if (t.ends_with("part.done"))
      part = e.at("part").as_object();
    else if (t.ends_with(".delta"))
      part["text"] = std::string(part["text"].as_string()) + std::string(e.at("delta").as_string());
    else if (t.ends_with("text.done"))
      part["text"] = e.at("text");
  }
  return snap;
}

void check_sequence(const std::vector<frame>& fs) {
  for (std::size_t i = 0; i < fs.size(); ++i)
    BOOST_TEST(fs[i].data.at("sequence_number").as_int64() == static_cast<std::int64_t>(i));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(responses_compat)

BOOST_AUTO_TEST_CASE(string_input_and_instructions) {
  const auto r = ok(R"("instructions":"Be brief.","stream":true,"max_output_tokens":500,
                       "temperature":1,"reasoning":{"effort":"high","summary":"auto"},
                       "store":false,"metadata":{"k":"v"},"tools":[])");
  BOOST_TEST(r.model == "conclave-heavy-2");
  BOOST_TEST(r.agents == 2);
  BOOST_TEST(r.question == "q?");
  BOOST_TEST(r.system == "Be brief.");
  BOOST_TEST(r.stream);
  BOOST_TEST(r.max_output_tokens.value_or(-1) == 500);
  BOOST_TEST(r.temperature.value_or(-1) == 1.0);
  BOOST_TEST(!r.reasoning.has_value());
}

BOOST_AUTO_TEST_CASE(message_items) {
  const auto r = ok(R"("instructions":"I1")", R"([
      {"role":"developer","content":"D1"},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"first"}]},
      {"type":"reasoning","id":"rs_old","summary":[{"type":"summary_text","text":"SECRET"}]},
      {"type":"message","role":"assistant","id":"msg_old","status":"completed",
       "content":[{"type":"output_text","text":"answer one","annotations":[]}]},
      {"role":"user","content":"second"}])");
  BOOST_TEST(r.system == "I1\n\nD1");
  BOOST_TEST(r.question.find("SECRET") == std::string::npos);
  BOOST_TEST(r.question.find("User: first") != std::string::npos);
  BOOST_TEST(r.question.find("Assistant: answer one") != std::string::npos);
  BOOST_TEST(r.question.ends_with("Question:\nsecond"));
}

BOOST_AUTO_TEST_CASE(refusals_name_their_param) {
  refused("", "5", 400, "input");
  refused("", "[]", 400, "input");
  refused("", R"(["x"])", 400, "input");
  refused("", R"([{"role":"assistant","content":"only me"}])", 400, "input");
  refused("", R"([{"role":"user","content":[{"type":"input_image","image_url":"http://x"}]}])", 400,
          "input");
  refused("", R"([{"role":"user","content":[{"type":"input_file","file_id":"f"}]}])", 400, "input");
  refused("", R"([{"type":"function_call_output","call_id":"c","output":"1"}])", 400, "input");
  refused("", R"([{"type":"item_reference","id":"msg_1"}])", 400, "input");
  refused("", R"([{"role":"tool","content":"x"}])", 400, "input");
  refused(R"("tools":[{"type":"web_search"}])", R"("q")", 400, "tools");
  refused(R"("tool_choice":"required")", R"("q")", 400, "tool_choice");
  refused(R"("previous_response_id":"resp_1")", R"("q")", 400, "previous_response_id");
  refused(R"("conversation":"conv_1")", R"("q")", 400, "conversation");
  refused(R"("background":true)", R"("q")", 400, "background");
  refused(R"("stream":"yes")", R"("q")", 400, "stream");
  refused(R"("max_output_tokens":0)", R"("q")", 400, "max_output_tokens");
  refused(R"("temperature":9)", R"("q")", 400, "temperature");
  refused(R"("instructions":5)", R"("q")", 400, "instructions");
  refused(R"("reasoning_format":"x")", R"("q")", 400, "reasoning_format");
  auto r = serve::parse_responses_request(R"({"model":"conclave-heavy"})", limits);
  BOOST_TEST(std::get<serve::wire_error>(r).param == "input");
  r = serve::parse_responses_request(R"({"model":"o3","input":"q"})", limits);
  BOOST_TEST(std::get<serve::wire_error>(r).status == 404u);
  BOOST_TEST(std::get<serve::wire_error>(r).code == "model_not_found");
  r = serve::parse_responses_request(R"({"input":"q"})", limits);
  BOOST_TEST(std::get<serve::wire_error>(r).param == "model");
  r = serve::parse_responses_request("nope", limits);
  BOOST_TEST(std::get<serve::wire_error>(r).status == 400u);
  serve::model_limits small;
  small.max_question_chars = 3;
  r = serve::parse_responses_request(R"({"model":"conclave-heavy","input":"four"})", small);
  BOOST_TEST(std::get<serve::wire_error>(r).code == "context_length_exceeded");
  BOOST_TEST(std::get<serve::wire_error>(r).param == "input");
}

BOOST_AUTO_TEST_CASE(streamed_sequence) {
  serve::responses_stream s("resp_abc", "conclave-heavy", 1700);
  std::string all = s.created();
  all += s.reasoning("Decomposed into 2 sub-questions.\n");
  all += s.reasoning("");
  all += s.reasoning("Agent 1/2 done.\n");
  all += s.output_text("Blue ");
  all += s.output_text("light.");
  BOOST_TEST(s.reasoning("late").empty());
  conclave::usage u;
  u.prompt_tokens = 300;
  u.completion_tokens = 40;
  u.cache_read_tokens = 100;
  all += s.completed(u);
  BOOST_TEST(s.finished());
  BOOST_TEST(s.output_text("more").empty());
  BOOST_TEST(s.completed(1, 1).empty());

  const auto fs = frames(all);
  check_sequence(fs);
  const std::vector<std::string> expected = {"response.created",
                                             "response.in_progress",
                                             "response.output_item.added",
                                             "response.reasoning_summary_part.added",
                                             "response.reasoning_summary_text.delta",
                                             "response.reasoning_summary_text.delta",
                                             "response.reasoning_summary_text.done",
                                             "response.reasoning_summary_part.done",
                                             "response.output_item.done",
                                             "response.output_item.added",
                                             "response.content_part.added",
                                             "response.output_text.delta",
                                             "response.output_text.delta",
                                             "response.output_text.done",
                                             "response.content_part.done",
                                             "response.output_item.done",
                                             "response.completed"};
  BOOST_TEST(types(fs) == expected, boost::test_tools::per_element());

  const auto& created = fs[0].data.at("response").as_object();
  BOOST_TEST(created.at("id").as_string() == "resp_abc");
  BOOST_TEST(created.at("object").as_string() == "response");
  BOOST_TEST(created.at("created_at").as_int64() == 1700);
  BOOST_TEST(created.at("status").as_string() == "in_progress");
  BOOST_TEST(created.at("model").as_string() == "conclave-heavy");
  BOOST_TEST(created.at("output").as_array().empty());
  BOOST_TEST(fs[2].data.at("item").at("id").as_string() == "rs_abc");
  BOOST_TEST(fs[9].data.at("item").at("id").as_string() == "msg_abc");
  BOOST_TEST(fs[9].data.at("output_index").as_int64() == 1);
  BOOST_TEST(fs[6].data.at("text").as_string() ==
             "Decomposed into 2 sub-questions.\nAgent 1/2 done.\n");
  BOOST_TEST(fs[13].data.at("text").as_string() == "Blue light.");

  // The completed object holds everything, and agrees with the replayed snapshot.
  const auto& done = fs.back().data.at("response").as_object();
  BOOST_TEST(done.at("status").as_string() == "completed");
  const auto& out = done.at("output").as_array();
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0].at("type").as_string() == "reasoning");
  BOOST_TEST(out[0].at("summary").at(0).at("text").as_string() ==
             "Decomposed into 2 sub-questions.\nAgent 1/2 done.\n");
  BOOST_TEST(out[1].at("type").as_string() == "message");
  BOOST_TEST(out[1].at("role").as_string() == "assistant");
  BOOST_TEST(out[1].at("status").as_string() == "completed");
  BOOST_TEST(out[1].at("content").at(0).at("type").as_string() == "output_text");
  BOOST_TEST(out[1].at("content").at(0).at("text").as_string() == "Blue light.");
  BOOST_TEST(out[1].at("content").at(0).at("annotations").as_array().empty());
  const auto& usage = done.at("usage").as_object();
  BOOST_TEST(usage.at("input_tokens").as_int64() == 300);
  BOOST_TEST(usage.at("output_tokens").as_int64() == 40);
  BOOST_TEST(usage.at("total_tokens").as_int64() == 340);
  BOOST_TEST(usage.at("input_tokens_details").at("cached_tokens").as_int64() == 100);
  BOOST_TEST(usage.at("output_tokens_details").at("reasoning_tokens").as_int64() == 0);

  // Replayed without the final object, the snapshot holds the same items.
  std::vector<frame> before_end(fs.begin(), fs.end() - 1);
  const auto snap = replay(before_end);
  BOOST_TEST(snap.at("output") == done.at("output"));
  replay(fs);
}

BOOST_AUTO_TEST_CASE(answer_without_reasoning) {
  serve::responses_stream s("resp_x", "conclave-heavy", 1);
  std::string all = s.created();  // one call per statement: the order of `+` is unspecified
  all += s.output_text("A");
  all += s.completed(5, 1);
  const auto fs = frames(all);
  check_sequence(fs);
  BOOST_TEST(fs[2].type == "response.output_item.added");
  BOOST_TEST(fs[2].data.at("output_index").as_int64() == 0);
  BOOST_TEST(fs[4].data.at("output_index").as_int64() == 0);
  const auto& out = fs.back().data.at("response").at("output").as_array();
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].at("content").at(0).at("text").as_string() == "A");
  replay(fs);
}

BOOST_AUTO_TEST_CASE(empty_answer_still_has_a_message) {
  serve::responses_stream s("resp_e", "conclave-heavy", 1);
  std::string all = s.created();
  all += s.reasoning("r\n");
  all += s.completed(1, 0, true);
  const auto fs = frames(all);
  check_sequence(fs);
  BOOST_TEST(fs.back().type == "response.incomplete");
  const auto& r = fs.back().data.at("response").as_object();
  BOOST_TEST(r.at("status").as_string() == "incomplete");
  BOOST_TEST(r.at("incomplete_details").at("reason").as_string() == "max_output_tokens");
  const auto& out = r.at("output").as_array();
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[1].at("content").at(0).at("text").as_string() == "");
  replay(fs);
}

BOOST_AUTO_TEST_CASE(failed_and_error_events) {
  serve::responses_stream s("resp_f", "conclave-heavy", 1);
  serve::wire_error e;
  e.status = 504;
  e.type = "server_error";
  e.message = "The run passed its deadline.";
  std::string all = s.created();
  all += s.reasoning("x\n");
  all += s.output_text("part");
  all += s.failed(e);
  const auto fs = frames(all);
  check_sequence(fs);
  const auto& r = fs.back().data.at("response").as_object();
  BOOST_TEST(fs.back().type == "response.failed");
  BOOST_TEST(r.at("status").as_string() == "failed");
  BOOST_TEST(r.at("error").at("code").as_string() == "server_error");
  BOOST_TEST(r.at("error").at("message").as_string() == "The run passed its deadline.");
  BOOST_TEST(r.at("output").at(1).at("status").as_string() == "incomplete");
  BOOST_TEST(r.at("output").at(1).at("content").at(0).at("text").as_string() == "part");
  BOOST_TEST(s.finished());
  BOOST_TEST(s.completed(1, 1).empty());
  replay(fs);

  serve::responses_stream limited("resp_g", "m", 1);
  e.status = 429;
  std::string limited_all = limited.created();
  limited_all += limited.failed(e);
  BOOST_TEST(frames(limited_all).back().data.at("response").at("error").at("code").as_string() ==
             "rate_limit_exceeded");

  serve::responses_stream err("resp_h", "m", 1);
  serve::wire_error bad;
  bad.message = "no";
  bad.code = "invalid_prompt";
  bad.param = "input";
  std::string err_all = err.created();
  err_all += err.error(bad);
  const auto ef = frames(err_all);
  check_sequence(ef);
  BOOST_TEST(ef.back().type == "error");
  BOOST_TEST(ef.back().data.at("code").as_string() == "invalid_prompt");
  BOOST_TEST(ef.back().data.at("message").as_string() == "no");
  BOOST_TEST(ef.back().data.at("param").as_string() == "input");
  BOOST_TEST(serve::responses_stream::keepalive() == ": keep-alive\n\n");
}

BOOST_AUTO_TEST_CASE(non_streamed_object) {
  const auto v = json::parse(serve::response_object("resp_n", "conclave-heavy-4", 99, "Blue.",
                                                    "Agent 1/4 done.\n", 10, 5))
                     .as_object();
  BOOST_TEST(v.at("id").as_string() == "resp_n");
  BOOST_TEST(v.at("object").as_string() == "response");
  BOOST_TEST(v.at("created_at").as_int64() == 99);
  BOOST_TEST(v.at("status").as_string() == "completed");
  BOOST_TEST(v.at("model").as_string() == "conclave-heavy-4");
  BOOST_TEST(v.at("error").is_null());
  BOOST_TEST(v.at("tools").as_array().empty());
  const auto& out = v.at("output").as_array();
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0].at("id").as_string() == "rs_n");
  BOOST_TEST(out[0].at("summary").at(0).at("type").as_string() == "summary_text");
  BOOST_TEST(out[0].at("summary").at(0).at("text").as_string() == "Agent 1/4 done.\n");
  BOOST_TEST(out[1].at("id").as_string() == "msg_n");
  BOOST_TEST(out[1].at("content").at(0).at("text").as_string() == "Blue.");
  BOOST_TEST(v.at("usage").at("total_tokens").as_int64() == 15);
  const auto bare =
      json::parse(serve::response_object("resp_m", "m", 1, "A", "", 1, 1, true)).as_object();
  BOOST_TEST(bare.at("output").as_array().size() == 1u);
  BOOST_TEST(bare.at("status").as_string() == "incomplete");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_responses_compat
