// The Anthropic stream decoder, event by event: text, tool use split into many pieces,
// thinking with its signature, cumulative usage, pings anywhere, errors after HTTP 200, cut
// streams, and what a hostile server is refused.
#include <conclave/anthropic/stream_decoder.hpp>
#include <conclave/anthropic/wire.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <utility>
#include <vector>

namespace unit_test_anthropic_stream {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace conclave::anthropic;
using step = provider::stream_decoder::step;

namespace {

// An SSE event as Anthropic sends it: the `event:` line names the type its data holds.
http::sse_event event(std::string type, std::string data) {
  return http::sse_event{std::move(type), std::move(data), {}};
}

http::sse_event typed(const std::string& type, const std::string& rest = {}) {
  return event(type, R"({"type":")" + type + "\"" + (rest.empty() ? "" : "," + rest) + "}");
}

const std::string start =
    R"("message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],)"
    R"("stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}})";

http::sse_event block_start(int index, const std::string& block) {
  return typed("content_block_start",
               R"("index":)" + std::to_string(index) + R"(,"content_block":)" + block);
}

http::sse_event delta(int index, const std::string& type, const std::string& field,
                      const std::string& value) {
  return typed("content_block_delta",
               R"("index":)" + std::to_string(index) + R"(,"delta":{"type":")" + type + R"(",")" +
                   field + "\":" + boost::json::serialize(boost::json::string(value)) + "}");
}

http::sse_event block_stop(int index) {
  return typed("content_block_stop", R"("index":)" + std::to_string(index));
}

http::sse_event message_delta(const std::string& stop, const std::string& usage) {
  return typed("message_delta", R"("delta":{"stop_reason":")" + stop +
                                    R"(","stop_sequence":null},"usage":)" + usage);
}

// Feeds every event; returns the last step and collects every piece handed out.
struct fed {
  std::vector<step> steps;
  provider::stream_pieces pieces;
  step last() const { return steps.back(); }
};

fed feed(provider::stream_decoder& d, const std::vector<http::sse_event>& events) {
  fed out;
  for (const auto& e : events) out.steps.push_back(d.on_event(e, out.pieces));
  return out;
}

// A well-formed stream of one text block, with `middle` before the block stops.
std::vector<http::sse_event> text_stream(std::vector<http::sse_event> middle = {}) {
  std::vector<http::sse_event> events = {typed("message_start", start),
                                         block_start(0, R"({"type":"text","text":""})"),
                                         delta(0, "text_delta", "text", "Hi")};
  for (auto& e : middle) events.push_back(std::move(e));
  events.push_back(block_stop(0));
  events.push_back(message_delta("end_turn", R"({"output_tokens":3})"));
  events.push_back(typed("message_stop"));
  return events;
}

// The failure a stream with `bad` in the middle ends in.
std::pair<boost::system::error_code, std::string> failure_with(http::sse_event bad) {
  stream_decoder d;
  feed(d, text_stream({std::move(bad)}));
  BOOST_CHECK(!d.done());
  return {d.failure_code(), d.failure().message};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(anthropic_stream)

BOOST_AUTO_TEST_CASE(text_with_pings_anywhere) {
  const auto d = wire().make_stream_decoder();
  BOOST_CHECK_EQUAL(d->end_marker(), "message_stop");
  const auto f = feed(*d, {typed("ping"), typed("message_start", start), typed("ping"),
                           block_start(0, R"({"type":"text","text":""})"), typed("ping"),
                           delta(0, "text_delta", "text", "Hel"), typed("ping"),
                           delta(0, "text_delta", "text", "lo"), block_stop(0), typed("ping"),
                           message_delta("end_turn", R"({"output_tokens":12})"), typed("ping"),
                           typed("message_stop")});
  BOOST_CHECK(f.last() == step::done);
  BOOST_CHECK(d->done());
  BOOST_CHECK_EQUAL(f.pieces.text, "Hello");
  auto& r = d->response();
  BOOST_CHECK_EQUAL(r.text(), "Hello");
  BOOST_CHECK_EQUAL(r.model, "claude-x");
  BOOST_CHECK_EQUAL(r.finish_reason, "end_turn");
  BOOST_CHECK(r.stop == stop_reason::end);
  BOOST_CHECK(d->usage_reported());
  BOOST_CHECK_EQUAL(r.tokens.prompt_tokens, 25);
  BOOST_CHECK_EQUAL(r.tokens.completion_tokens, 12);
  BOOST_CHECK(r.message.replay.wire.empty());
  // Anything after the end marker changes nothing.
  provider::stream_pieces more;
  BOOST_CHECK(d->on_event(delta(0, "text_delta", "text", "!"), more) == step::done);
  BOOST_CHECK_EQUAL(d->response().text(), "Hello");
}

BOOST_AUTO_TEST_CASE(tool_use_split_into_many_json_pieces) {
  stream_decoder d;
  const auto f =
      feed(d, {typed("message_start", start), block_start(0, R"({"type":"text","text":""})"),
               delta(0, "text_delta", "text", "Checking."), block_stop(0),
               block_start(1, R"({"type":"tool_use","id":"toolu_1","name":"weather","input":{}})"),
               delta(1, "input_json_delta", "partial_json", ""),
               delta(1, "input_json_delta", "partial_json", R"({"ci)"),
               delta(1, "input_json_delta", "partial_json", R"(ty": "Os)"),
               delta(1, "input_json_delta", "partial_json", R"(lo"})"), block_stop(1),
               block_start(2, R"({"type":"tool_use","id":"toolu_2","name":"time","input":{}})"),
               block_stop(2),
               block_start(3, R"({"type":"tool_use","id":"toolu_3","name":"broken","input":{}})"),
               delta(3, "input_json_delta", "partial_json", R"({"x":)"), block_stop(3),
               message_delta("end_turn", R"({"output_tokens":40})"), typed("message_stop")});
  BOOST_REQUIRE(f.last() == step::done);
  // Fragments number the calls among tool_use blocks (0, 1, 2), not by content index (1, 2, 3).
  const auto& frags = f.pieces.tool_fragments;
  BOOST_REQUIRE_EQUAL(frags.size(), 8u);  // 3 starts, 5 argument pieces
  BOOST_CHECK_EQUAL(frags[0].index, 0u);
  BOOST_CHECK_EQUAL(frags[0].id, "toolu_1");
  BOOST_CHECK_EQUAL(frags[0].name, "weather");
  BOOST_CHECK_EQUAL(frags[0].arguments, "");
  std::string first;
  for (const auto& fr : frags) {
    if (fr.index == 0) first += fr.arguments;
  }
  BOOST_CHECK_EQUAL(first, R"({"city": "Oslo"})");
  BOOST_CHECK_EQUAL(frags[5].index, 1u);
  BOOST_CHECK_EQUAL(frags[5].name, "time");
  BOOST_CHECK_EQUAL(frags[6].index, 2u);

  const auto& r = d.response();
  const auto calls = r.message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 3u);
  BOOST_CHECK_EQUAL(calls[0].id, "toolu_1");
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"city":"Oslo"})");  // re-serialised compactly
  BOOST_CHECK_EQUAL(calls[1].arguments, "{}");                  // no pieces: no arguments
  BOOST_CHECK_EQUAL(calls[2].arguments, R"({"x":)");  // broken: as sent, for the agent to refuse
  BOOST_CHECK_EQUAL(r.text(), "Checking.");
  BOOST_CHECK(r.stop == stop_reason::tool_use);  // calls decide, whatever the word
  BOOST_CHECK_EQUAL(r.finish_reason, "end_turn");
}

BOOST_AUTO_TEST_CASE(usage_is_cumulative_and_overwritten_never_added) {
  stream_decoder d;
  feed(d, {typed("message_start",
                 R"("message":{"model":"m","usage":{"input_tokens":25,"output_tokens":1,)"
                 R"("cache_creation_input_tokens":100,"cache_read_input_tokens":1000}})"),
           message_delta("end_turn", R"({"output_tokens":10})")});
  BOOST_CHECK_EQUAL(d.response().tokens.completion_tokens, 10);
  feed(d, {message_delta("end_turn", R"({"output_tokens":15})")});
  const auto& t = d.response().tokens;
  BOOST_CHECK_EQUAL(t.completion_tokens, 15);  // not 1 + 10 + 15
  BOOST_CHECK_EQUAL(t.prompt_tokens, 1125);    // input + cache writes + cache reads
  BOOST_CHECK_EQUAL(t.cache_write_tokens, 100);
  BOOST_CHECK_EQUAL(t.cache_read_tokens, 1000);
  // A later report of every count (newer servers send them all) replaces them all.
  feed(d, {message_delta("end_turn",
                         R"({"input_tokens":30,"output_tokens":16,)"
                         R"("cache_creation_input_tokens":0,"cache_read_input_tokens":5})")});
  BOOST_CHECK_EQUAL(d.response().tokens.prompt_tokens, 35);
  BOOST_CHECK_EQUAL(d.response().tokens.cache_write_tokens, 0);
  BOOST_CHECK(d.usage_reported());
}

BOOST_AUTO_TEST_CASE(counts_that_cannot_be_believed) {
  stream_decoder d;
  feed(d, {typed("message_start", start)});
  BOOST_CHECK(d.usage_reported());
  feed(d, {message_delta("end_turn", R"({"output_tokens":-3})")});
  BOOST_CHECK(!d.usage_reported());  // the last report decides
  BOOST_CHECK_EQUAL(d.response().tokens.total(), 0);
  feed(d, {message_delta("end_turn", R"({"output_tokens":18446744073709551615})")});
  BOOST_CHECK(d.usage_reported());
  BOOST_CHECK_EQUAL(d.response().tokens.completion_tokens, INT64_MAX);
  BOOST_CHECK_EQUAL(d.response().tokens.total(), INT64_MAX);

  stream_decoder none;
  feed(none, {typed("message_start", R"("message":{"model":"m"})")});
  BOOST_CHECK(!none.usage_reported());
}

BOOST_AUTO_TEST_CASE(null_counts_keep_the_earlier_ones) {
  stream_decoder d;
  feed(d,
       {typed("message_start",
              R"("message":{"model":"m","usage":{"input_tokens":1200,"output_tokens":1,)"
              R"("cache_creation_input_tokens":0,"cache_read_input_tokens":50000}})"),
        message_delta("end_turn", R"({"input_tokens":null,"cache_read_input_tokens":null,)"
                                  R"("cache_creation_input_tokens":null,"output_tokens":300})")});
  BOOST_CHECK(d.usage_reported());
  BOOST_CHECK_EQUAL(d.response().tokens.prompt_tokens, 51200);
  BOOST_CHECK_EQUAL(d.response().tokens.cache_read_tokens, 50000);
  BOOST_CHECK_EQUAL(d.response().tokens.completion_tokens, 300);
}

BOOST_AUTO_TEST_CASE(a_cut_stream_counts_at_least_what_arrived) {
  // message_start's output count is provisional (1): 40,000 bytes later the stream fails.
  stream_decoder d;
  feed(d, {typed("message_start", start), block_start(0, R"({"type":"text","text":""})"),
           delta(0, "text_delta", "text", std::string(40'000, 'x')),
           typed("error", R"("error":{"type":"overloaded_error","message":"Overloaded"})")});
  BOOST_CHECK(d.failure_code() == error::overloaded);
  BOOST_CHECK_EQUAL(d.response().tokens.prompt_tokens, 25);  // as reported
  BOOST_CHECK_GE(d.response().tokens.completion_tokens, 40'000 / 4);
}

BOOST_AUTO_TEST_CASE(an_error_event_after_200_is_a_failure_never_done) {
  stream_decoder d;
  const auto f =
      feed(d, {typed("message_start", start), block_start(0, R"({"type":"text","text":""})"),
               delta(0, "text_delta", "text", "partial"),
               typed("error", R"("error":{"type":"overloaded_error","message":"Overloaded"})")});
  BOOST_CHECK(f.last() == step::failed);
  BOOST_CHECK(d.failure_code() == error::overloaded);
  BOOST_CHECK_EQUAL(d.failure().provider_code, "overloaded_error");
  BOOST_CHECK_EQUAL(d.failure().message, "Overloaded");
  BOOST_CHECK(!d.done());
  BOOST_CHECK_EQUAL(d.response().text(), "partial");  // what arrived, for the record
  provider::stream_pieces more;
  BOOST_CHECK(d.on_event(typed("message_stop"), more) == step::failed);  // sticky
  BOOST_CHECK(!d.done());

  const struct {
    const char* type;
    error expected;
  } cases[] = {
      {"rate_limit_error", error::rate_limited},     {"api_error", error::provider_error},
      {"invalid_request_error", error::bad_request}, {"authentication_error", error::auth_failed},
      {"permission_error", error::bad_request},      {"something_new", error::provider_error}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("type: " << c.type) {
      stream_decoder e;
      feed(e,
           {typed("error", R"("error":{"type":")" + std::string(c.type) + R"(","message":"m"})")});
      BOOST_CHECK(e.failure_code() == c.expected);
    }
  }
  stream_decoder bare;
  feed(bare, {typed("error")});
  BOOST_CHECK(bare.failure_code() == error::provider_error);
}

BOOST_AUTO_TEST_CASE(a_stream_without_message_stop_is_not_done) {
  stream_decoder d;
  auto events =
      text_stream({block_start(1, R"({"type":"tool_use","id":"t","name":"f","input":{}})")});
  events.pop_back();  // the connection closed before message_stop
  const auto f = feed(d, events);
  BOOST_CHECK(f.last() == step::more);
  BOOST_CHECK(!d.done());
  BOOST_CHECK(!d.failure_code());
  BOOST_CHECK_EQUAL(d.response().text(), "Hi");  // the words that came; no half-built call
  BOOST_CHECK(!d.response().message.has_tool_calls());
}

BOOST_AUTO_TEST_CASE(thinking_with_signature_becomes_reasoning_and_replay) {
  stream_decoder d;
  const auto f = feed(
      d,
      {typed("message_start", start),
       block_start(0, R"({"type":"thinking","thinking":"","signature":""})"),
       delta(0, "thinking_delta", "thinking", "Let me "),
       delta(0, "thinking_delta", "thinking", "see."),
       delta(0, "signature_delta", "signature", "EqQBCgIYAhIM"), block_stop(0),
       block_start(1, R"({"type":"redacted_thinking","data":"ZW5jcnlwdGVk"})"), block_stop(1),
       block_start(2, R"({"type":"tool_use","id":"toolu_1","name":"f","input":{}})"), block_stop(2),
       message_delta("tool_use", R"({"output_tokens":9})"), typed("message_stop")});
  BOOST_REQUIRE(f.last() == step::done);
  BOOST_CHECK_EQUAL(f.pieces.reasoning, "Let me see.");
  BOOST_CHECK(f.pieces.text.empty());
  const auto& m = d.response().message;
  BOOST_CHECK_EQUAL(m.reasoning, "Let me see.");
  BOOST_CHECK_EQUAL(m.replay.wire, "anthropic");
  BOOST_CHECK_EQUAL(m.replay.json,
                    R"([{"type":"thinking","thinking":"Let me see.","signature":"EqQBCgIYAhIM"},)"
                    R"({"type":"redacted_thinking","data":"ZW5jcnlwdGVk"}])");

  // Sent back on the next request: verbatim, before the tool_use.
  chat_request next;
  next.messages = {{role::user, "go"}, m, chat_message::from_result({"toolu_1", "ok", false})};
  const auto body = boost::json::parse(encode_messages_request(next, "claude-x", true));
  const auto& content = body.at("messages").as_array()[1].at("content").as_array();
  BOOST_REQUIRE_EQUAL(content.size(), 3u);
  BOOST_CHECK_EQUAL(content[0].at("signature").as_string(), "EqQBCgIYAhIM");
  BOOST_CHECK_EQUAL(content[1].at("type").as_string(), "redacted_thinking");
  BOOST_CHECK_EQUAL(content[2].at("type").as_string(), "tool_use");
}

BOOST_AUTO_TEST_CASE(stop_reasons) {
  const struct {
    const char* word;
    stop_reason stop;
  } cases[] = {{"end_turn", stop_reason::end},      {"stop_sequence", stop_reason::end},
               {"max_tokens", stop_reason::length}, {"refusal", stop_reason::content_filter},
               {"pause_turn", stop_reason::paused}, {"something_new", stop_reason::unknown}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("stop_reason: " << c.word) {
      stream_decoder d;
      auto events = text_stream();
      events[events.size() - 2] = message_delta(c.word, R"({"output_tokens":3})");
      BOOST_REQUIRE(feed(d, events).last() == step::done);
      BOOST_CHECK(d.response().stop == c.stop);
      BOOST_CHECK_EQUAL(d.response().finish_reason, c.word);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_data_type_decides_and_newer_things_are_ignored) {
  stream_decoder d;
  const auto f = feed(
      d,
      {event("message_stop", R"({"type":"ping"})"),  // the data says ping: not the end
       event("message", R"({"type":"message_start","message":{"model":"m"}})"),
       event("content_block_start", R"({"index":0,"content_block":{"type":"text","text":""}})"),
       typed("some_future_event", R"("index":7)"),
       block_start(1, R"({"type":"server_future_block","id":"x"})"),
       delta(1, "input_json_delta", "partial_json", "{"),  // a block we do not know
       delta(0, "citations_delta", "citation", "x"),       // a delta we do not know
       delta(0, "text_delta", "text", "ok"), block_stop(1), block_stop(0), typed("message_stop")});
  BOOST_CHECK(f.steps[0] == step::more);
  BOOST_CHECK(f.last() == step::done);
  BOOST_CHECK_EQUAL(d.response().text(), "ok");
}

BOOST_AUTO_TEST_CASE(hostile_events_fail_as_bad_responses) {
  const std::string huge(5000, 'x');
  const std::vector<http::sse_event> bad = {
      delta(5, "text_delta", "text", "x"),  // never started
      block_stop(5),
      block_start(0, R"({"type":"text","text":""})"),     // index 0 again
      delta(0, "input_json_delta", "partial_json", "{"),  // not a tool_use block
      delta(0, "thinking_delta", "thinking", "x"),
      typed("content_block_delta", R"("index":0,"delta":{"type":"text_delta"})"),   // no text
      typed("content_block_delta", R"("delta":{"type":"text_delta","text":"x"})"),  // no index
      typed("content_block_delta", R"("index":0)"),
      typed("content_block_start", R"("index":-1,"content_block":{"type":"text"})"),
      typed("content_block_start", R"("index":1)"),
      typed("message_start", R"("message":"claude")"),
      event("content_block_delta", "not json " + huge),
      event("content_block_delta", "[1,2]"),
      event("message_delta", "42"),
  };
  for (const auto& e : bad) {
    BOOST_TEST_CONTEXT("event: " << e.data.substr(0, 120)) {
      const auto [ec, message] = failure_with(e);
      BOOST_CHECK(ec == error::bad_response);
      BOOST_CHECK(!message.empty());
      BOOST_CHECK_LT(message.size(), 1200u);  // server text is quoted cut short
      BOOST_CHECK(text::is_valid_utf8(message));
    }
  }
  // A delta after its block stopped.
  stream_decoder closed;
  feed(closed, {block_start(0, R"({"type":"text","text":""})"), block_stop(0),
                delta(0, "text_delta", "text", "late")});
  BOOST_CHECK(closed.failure_code() == error::bad_response);

  // A tool_use with no name is refused at the end.
  stream_decoder nameless;
  feed(nameless,
       {block_start(0, R"({"type":"tool_use","id":"t","input":{}})"), typed("message_stop")});
  BOOST_CHECK(nameless.failure_code() == error::bad_response);
  BOOST_CHECK(!nameless.done());
}

BOOST_AUTO_TEST_CASE(what_a_stream_may_make_us_hold_is_bounded) {
  stream_decoder many;
  std::vector<http::sse_event> blocks;
  for (int i = 0; i <= 128; ++i) blocks.push_back(block_start(i, R"({"type":"text","text":""})"));
  const auto f = feed(many, blocks);
  BOOST_CHECK(f.steps[127] == step::more);
  BOOST_CHECK(f.last() == step::failed);
  BOOST_CHECK(many.failure_code() == error::bad_response);

  stream_decoder big;
  feed(big, {block_start(0, R"({"type":"tool_use","id":"t","name":"f","input":{}})")});
  const std::string piece(64 * 1024, ' ');
  step s = step::more;
  int sent = 0;
  for (; sent < 20 && s == step::more; ++sent) {
    provider::stream_pieces p;
    s = big.on_event(delta(0, "input_json_delta", "partial_json", piece), p);
  }
  BOOST_CHECK(s == step::failed);
  BOOST_CHECK_EQUAL(sent, 17);  // 16 pieces fill 1 MiB; the 17th would pass it
  BOOST_CHECK(big.failure_code() == error::bad_response);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_anthropic_stream
