#include <conclave/http/sse_parser.hpp>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace unit_test_sse_parser {  // file-local names stay apart in unity batches

using conclave::http::sse_event;
using conclave::http::sse_parser;

namespace {

std::string with_endings(std::string lf_text, const std::string& eol) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n')
      out += eol;
    else
      out += c;
  }
  return out;
}

// Mixed: each line ending cycles through LF, CRLF, CR. A CR ending followed by an LF ending
// would read as one CRLF (as the spec says), so that LF becomes CRLF instead.
std::string with_mixed_endings(const std::string& lf_text) {
  static const char* endings[] = {"\n", "\r\n", "\r"};
  std::string out;
  int k = 0;
  for (char c : lf_text) {
    if (c != '\n') {
      out += c;
      continue;
    }
    std::string eol = endings[k++ % 3];
    if (eol == "\n" && !out.empty() && out.back() == '\r') eol = "\r\n";
    out += eol;
  }
  return out;
}

// Two events in UTF-8, a comment, multi-line data, event/id fields, a field with no space.
const std::string sample =
    ": keep-alive comment\n"
    "event: delta\n"
    "id: 7\n"
    "data: {\"text\": \"h\xC3\xA9llo \xF0\x9F\x91\x8B\"}\n"
    "\n"
    "data:line one\n"
    "data: line two\n"
    "\n"
    "data: [DONE]\n"
    "\n";

std::vector<sse_event> parse_in_pieces(const std::string& bytes, std::size_t split_a,
                                       std::size_t split_b) {
  sse_parser p;
  std::vector<sse_event> out;
  BOOST_REQUIRE(p.feed(std::string_view(bytes).substr(0, split_a), out));
  BOOST_REQUIRE(p.feed(std::string_view(bytes).substr(split_a, split_b - split_a), out));
  BOOST_REQUIRE(p.feed(std::string_view(bytes).substr(split_b), out));
  BOOST_CHECK(!p.has_partial_event());
  return out;
}

void check_sample_events(const std::vector<sse_event>& events) {
  BOOST_REQUIRE_EQUAL(events.size(), 3u);
  BOOST_CHECK_EQUAL(events[0].type, "delta");
  BOOST_CHECK_EQUAL(events[0].id, "7");
  BOOST_CHECK_EQUAL(events[0].data, "{\"text\": \"h\xC3\xA9llo \xF0\x9F\x91\x8B\"}");
  BOOST_CHECK_EQUAL(events[1].type, "message");
  BOOST_CHECK_EQUAL(events[1].id, "7");  // sticky
  BOOST_CHECK_EQUAL(events[1].data, "line one\nline two");
  BOOST_CHECK_EQUAL(events[2].data, "[DONE]");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sse_parser_suite)

BOOST_DATA_TEST_CASE(every_two_split_points_give_the_same_events,
                     boost::unit_test::data::make({"\n", "\r\n", "\r", "mixed"}), eol) {
  const std::string bytes =
      std::string(eol) == "mixed" ? with_mixed_endings(sample) : with_endings(sample, eol);
  // Every pair of split points: splits inside CRLF, inside UTF-8 characters, everywhere.
  for (std::size_t a = 0; a <= bytes.size(); ++a) {
    for (std::size_t b = a; b <= bytes.size(); b += 3) {
      check_sample_events(parse_in_pieces(bytes, a, b));
    }
  }
}

BOOST_AUTO_TEST_CASE(one_byte_at_a_time) {
  const std::string bytes = with_endings(sample, "\r\n");
  sse_parser p;
  std::vector<sse_event> out;
  for (char c : bytes) BOOST_REQUIRE(p.feed(std::string_view(&c, 1), out));
  check_sample_events(out);
}

BOOST_AUTO_TEST_CASE(cr_then_lf_in_the_next_read_is_one_line_break) {
  sse_parser p;
  std::vector<sse_event> out;
  p.feed("data: a\r", out);
  p.feed("\n\r", out);  // LF completes "data: a"; CR is the blank line
  p.feed("\n", out);    // belongs to the CR above, not a second blank line
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].data, "a");
  p.feed("data: b\n\n", out);
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_CHECK_EQUAL(out[1].data, "b");
}

BOOST_AUTO_TEST_CASE(leading_bom_is_skipped_even_when_split) {
  sse_parser p;
  std::vector<sse_event> out;
  p.feed("\xEF", out);
  p.feed("\xBB", out);
  p.feed(
      "\xBF"
      "data: x\n\n",
      out);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].data, "x");
}

BOOST_AUTO_TEST_CASE(field_rules_from_the_spec) {
  sse_parser p;
  std::vector<sse_event> out;
  p.feed("data\n\n", out);                     // no colon: field name only, empty value
  p.feed("data:  two spaces\n\n", out);        // only one leading space is removed
  p.feed("event: ping\n\n", out);              // no data: not dispatched
  p.feed("unknown: field\ndata: z\n\n", out);  // unknown fields ignored
  p.feed("retry: 1500\n\n", out);
  p.feed("retry: soon\n\n", out);  // not digits: ignored
  BOOST_REQUIRE_EQUAL(out.size(), 3u);
  BOOST_CHECK_EQUAL(out[0].data, "");
  BOOST_CHECK_EQUAL(out[1].data, " two spaces");
  BOOST_CHECK_EQUAL(out[2].data, "z");
  BOOST_CHECK_EQUAL(out[2].type, "message");  // the "ping" type did not leak into it
  BOOST_REQUIRE(p.retry_ms());
  BOOST_CHECK_EQUAL(*p.retry_ms(), 1500);
}

BOOST_AUTO_TEST_CASE(eof_mid_event_is_visible) {
  sse_parser p;
  std::vector<sse_event> out;
  p.feed("data: complete\n\ndata: cut", out);
  BOOST_CHECK_EQUAL(out.size(), 1u);
  BOOST_CHECK(p.has_partial_event());
  sse_parser q;
  q.feed("data: whole line but no blank line\n", out);
  BOOST_CHECK(q.has_partial_event());
}

BOOST_AUTO_TEST_CASE(an_endless_line_hits_the_limit) {
  sse_parser p(1024);
  std::vector<sse_event> out;
  const std::string chunk(300, 'x');
  bool ok = p.feed("data: ", out);
  for (int i = 0; i < 10 && ok; ++i) ok = p.feed(chunk, out);
  BOOST_CHECK(!ok);
  BOOST_CHECK(p.failed());
  BOOST_CHECK(!p.feed("\n\n", out));  // stays failed
}

BOOST_AUTO_TEST_CASE(many_data_lines_hit_the_limit) {
  sse_parser p(1024);
  std::vector<sse_event> out;
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = p.feed("data: 0123456789012345678901234567890\n", out);
  BOOST_CHECK(!ok);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_sse_parser
