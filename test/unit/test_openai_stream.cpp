// The streamed chunks and the non-streamed reply of POST /v1/chat/completions, parsed back.
#include <conclave/engine/chat.hpp>
#include <conclave/serve/openai_compat.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace unit_test_openai_stream {  // file-local names stay apart in unity batches

namespace serve = conclave::serve;
namespace json = boost::json;
using serve::reasoning_style;

namespace {

// The frames of an SSE text: each must be "data: <json>\n\n" (or [DONE]).
std::vector<json::value> frames(const std::string& sse) {
  std::vector<json::value> out;
  std::size_t at = 0;
  while (at < sse.size()) {
    const auto end = sse.find("\n\n", at);
    BOOST_REQUIRE(end != std::string::npos);
    const std::string f = sse.substr(at, end - at);
    BOOST_REQUIRE_MESSAGE(f.starts_with("data: "), f);
    BOOST_REQUIRE(f.find('\n') == std::string::npos);  // one line of JSON per frame
    out.push_back(f == "data: [DONE]" ? json::value("[DONE]") : json::parse(f.substr(6)));
    at = end + 2;
  }
  return out;
}

// The one chunk of `sse`, checked for the fields every chunk carries; returns choices[0].
json::object chunk(const std::string& sse, const char* finish = nullptr) {
  const auto fs = frames(sse);
  BOOST_REQUIRE_EQUAL(fs.size(), 1u);
  const auto& c = fs[0].as_object();
  BOOST_TEST(c.at("id").as_string() == "chatcmpl-1");
  BOOST_TEST(c.at("object").as_string() == "chat.completion.chunk");
  BOOST_TEST(c.at("created").as_int64() == 42);
  BOOST_TEST(c.at("model").as_string() == "conclave-heavy-3");
  const auto& choices = c.at("choices").as_array();
  BOOST_REQUIRE_EQUAL(choices.size(), 1u);
  const auto& choice = choices[0].as_object();
  BOOST_TEST(choice.at("index").as_int64() == 0);
  if (finish)
    BOOST_TEST(choice.at("finish_reason").as_string() == finish);
  else
    BOOST_TEST(choice.at("finish_reason").is_null());
  return choice.at("delta").as_object();
}

serve::chat_stream stream(reasoning_style s) {
  return serve::chat_stream("chatcmpl-1", "conclave-heavy-3", 42, s);
}

// All content of a think_tags stream, concatenated.
std::string content_of(const std::string& sse) {
  std::string out;
  for (const auto& f : frames(sse)) {
    if (!f.is_object() || f.as_object().at("choices").as_array().empty()) continue;
    const auto& d = f.at("choices").at(0).at("delta").as_object();
    if (const auto* c = d.if_contains("content")) out += c->as_string();
  }
  return out;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_compat)

BOOST_AUTO_TEST_CASE(role_chunk_first) {
  auto s = stream(reasoning_style::fields);
  const auto d = chunk(s.role());
  BOOST_TEST(d.at("role").as_string() == "assistant");
  BOOST_TEST(d.at("content").as_string() == "");
}

BOOST_AUTO_TEST_CASE(reasoning_in_both_fields) {
  auto s = stream(reasoning_style::fields);
  const auto d = chunk(s.reasoning("Decomposed into 5 sub-questions.\n"));
  BOOST_TEST(d.at("reasoning").as_string() == "Decomposed into 5 sub-questions.\n");
  BOOST_TEST(d.at("reasoning_content").as_string() == "Decomposed into 5 sub-questions.\n");
  BOOST_TEST(!d.contains("content"));
  BOOST_TEST(s.reasoning("").empty());
  BOOST_TEST(chunk(s.content("The answer")).at("content").as_string() == "The answer");
  // Fields may go on after the content began: nothing to close.
  BOOST_TEST(chunk(s.reasoning("late\n")).at("reasoning").as_string() == "late\n");
  BOOST_TEST(chunk(s.finish("stop"), "stop").empty());
}

BOOST_AUTO_TEST_CASE(think_tags_open_and_close_once) {
  auto s = stream(reasoning_style::think_tags);
  std::string all = s.role();
  const auto first = s.reasoning("line 1\n");
  BOOST_TEST(chunk(first).at("content").as_string() == "<think>\nline 1\n");
  BOOST_TEST(!chunk(first).contains("reasoning"));
  all += first;
  const auto second = s.reasoning("line 2\n");
  BOOST_TEST(chunk(second).at("content").as_string() == "line 2\n");
  all += second;
  const auto answer = s.content("Answer.");
  BOOST_TEST(chunk(answer).at("content").as_string() == "\n</think>\n\nAnswer.");
  all += answer;
  BOOST_TEST(s.reasoning("too late\n").empty());  // the tags open once
  all += s.content(" More.");
  all += s.finish("length");
  BOOST_TEST(content_of(all) == "<think>\nline 1\nline 2\n\n</think>\n\nAnswer. More.");
  BOOST_TEST(count(content_of(all), "<think>") == 1u);
  BOOST_TEST(count(content_of(all), "</think>") == 1u);
}

BOOST_AUTO_TEST_CASE(think_tags_closed_by_finish) {
  auto s = stream(reasoning_style::think_tags);
  std::string all = s.reasoning("only progress\n");
  const auto end = s.finish("stop");
  const auto fs = frames(end);
  BOOST_REQUIRE_EQUAL(fs.size(), 2u);  // the close, then the finish
  BOOST_TEST(fs[0].at("choices").at(0).at("delta").at("content").as_string() == "\n</think>\n\n");
  BOOST_TEST(fs[1].at("choices").at(0).at("finish_reason").as_string() == "stop");
  BOOST_TEST(fs[1].at("choices").at(0).at("delta").as_object().empty());
  all += end;
  BOOST_TEST(content_of(all) == "<think>\nonly progress\n\n</think>\n\n");
  // No think at all: the finish is a single chunk and nothing closes.
  auto plain = stream(reasoning_style::think_tags);
  BOOST_TEST(chunk(plain.content("x")).at("content").as_string() == "x");
  BOOST_TEST(chunk(plain.finish("stop"), "stop").empty());
}

BOOST_AUTO_TEST_CASE(no_reasoning_sends_nothing) {
  auto s = stream(reasoning_style::none);
  BOOST_TEST(s.reasoning("Agent 1/5 done.\n").empty());
  BOOST_TEST(s.content("").empty());
  BOOST_TEST(chunk(s.content("A")).at("content").as_string() == "A");
}

BOOST_AUTO_TEST_CASE(usage_chunk_has_no_choices) {
  auto s = stream(reasoning_style::fields);
  const auto fs = frames(s.usage(120, 30));
  BOOST_REQUIRE_EQUAL(fs.size(), 1u);
  const auto& c = fs[0].as_object();
  BOOST_TEST(c.at("object").as_string() == "chat.completion.chunk");
  BOOST_TEST(c.at("choices").as_array().empty());
  const auto& u = c.at("usage").as_object();
  BOOST_TEST(u.at("prompt_tokens").as_int64() == 120);
  BOOST_TEST(u.at("completion_tokens").as_int64() == 30);
  BOOST_TEST(u.at("total_tokens").as_int64() == 150);
  BOOST_TEST(!u.contains("prompt_tokens_details"));
  conclave::usage total;
  total.prompt_tokens = 10;
  total.completion_tokens = 5;
  total.cache_read_tokens = 4;
  const auto cached = frames(s.usage(total))[0].at("usage").as_object();
  BOOST_TEST(cached.at("total_tokens").as_int64() == 15);
  BOOST_TEST(cached.at("prompt_tokens_details").at("cached_tokens").as_int64() == 4);
}

BOOST_AUTO_TEST_CASE(error_done_and_keepalive_frames) {
  serve::wire_error e;
  e.status = 504;
  e.type = "server_error";
  e.code = "timeout";
  e.message = "The run passed its deadline.";
  const auto fs = frames(serve::chat_stream::error(e));
  BOOST_REQUIRE_EQUAL(fs.size(), 1u);
  const auto& err = fs[0].at("error").as_object();
  BOOST_TEST(err.at("message").as_string() == "The run passed its deadline.");
  BOOST_TEST(err.at("type").as_string() == "server_error");
  BOOST_TEST(err.at("code").as_string() == "timeout");
  BOOST_TEST(err.at("param").is_null());
  BOOST_TEST(serve::chat_stream::done() == "data: [DONE]\n\n");
  BOOST_TEST(serve::chat_stream::keepalive() == ": keep-alive\n\n");
}

BOOST_AUTO_TEST_CASE(text_is_escaped_and_kept_valid) {
  auto s = stream(reasoning_style::fields);
  const std::string hostile = "quote \" back \\ newline \n nul \x01 bad \xFF end";
  const auto d = chunk(s.content(hostile));
  const std::string got(d.at("content").as_string());
  BOOST_TEST(got.starts_with("quote \" back \\ newline \n nul \x01 bad "));
  BOOST_TEST(got.find("\xEF\xBF\xBD") != std::string::npos);  // the bad byte repaired
}

BOOST_AUTO_TEST_CASE(non_streamed_reply) {
  const auto v = json::parse(serve::chat_completion("chatcmpl-9", "conclave-heavy", 7, "Blue.",
                                                    "Agent 1/1 done.\n", reasoning_style::fields,
                                                    "stop", 100, 20))
                     .as_object();
  BOOST_TEST(v.at("id").as_string() == "chatcmpl-9");
  BOOST_TEST(v.at("object").as_string() == "chat.completion");
  BOOST_TEST(v.at("created").as_int64() == 7);
  BOOST_TEST(v.at("model").as_string() == "conclave-heavy");
  const auto& choice = v.at("choices").at(0).as_object();
  BOOST_TEST(choice.at("index").as_int64() == 0);
  BOOST_TEST(choice.at("finish_reason").as_string() == "stop");
  const auto& m = choice.at("message").as_object();
  BOOST_TEST(m.at("role").as_string() == "assistant");
  BOOST_TEST(m.at("content").as_string() == "Blue.");
  BOOST_TEST(m.at("reasoning").as_string() == "Agent 1/1 done.\n");
  BOOST_TEST(m.at("reasoning_content").as_string() == "Agent 1/1 done.\n");
  const auto& u = v.at("usage").as_object();
  BOOST_TEST(u.at("prompt_tokens").as_int64() == 100);
  BOOST_TEST(u.at("completion_tokens").as_int64() == 20);
  BOOST_TEST(u.at("total_tokens").as_int64() == 120);

  const auto think = json::parse(serve::chat_completion(
      "c", "m", 1, "Blue.", "why\n", reasoning_style::think_tags, "length", 1, 1));
  const auto& tm = think.at("choices").at(0).at("message").as_object();
  BOOST_TEST(tm.at("content").as_string() == "<think>\nwhy\n\n</think>\n\nBlue.");
  BOOST_TEST(!tm.contains("reasoning"));
  BOOST_TEST(think.at("choices").at(0).at("finish_reason").as_string() == "length");

  const auto none = json::parse(
      serve::chat_completion("c", "m", 1, "Blue.", "why\n", reasoning_style::none, "stop", 1, 1));
  const auto& nm = none.at("choices").at(0).at("message").as_object();
  BOOST_TEST(nm.at("content").as_string() == "Blue.");
  BOOST_TEST(!nm.contains("reasoning"));
  BOOST_TEST(!nm.contains("reasoning_content"));
  // No reasoning at all: no fields either.
  const auto bare = json::parse(
      serve::chat_completion("c", "m", 1, "Blue.", "", reasoning_style::fields, "stop", 1, 1));
  BOOST_TEST(!bare.at("choices").at(0).at("message").as_object().contains("reasoning"));
}

BOOST_AUTO_TEST_CASE(reasoning_style_names) {
  BOOST_TEST((serve::reasoning_style_from("parsed") == reasoning_style::fields));
  BOOST_TEST((serve::reasoning_style_from("raw") == reasoning_style::think_tags));
  BOOST_TEST((serve::reasoning_style_from("think") == reasoning_style::think_tags));
  BOOST_TEST((serve::reasoning_style_from("none") == reasoning_style::none));
  BOOST_TEST((serve::reasoning_style_from("hidden") == reasoning_style::none));
  BOOST_TEST(!serve::reasoning_style_from("Parsed").has_value());
  BOOST_TEST(serve::default_run_deadline.count() < 600);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_openai_stream
