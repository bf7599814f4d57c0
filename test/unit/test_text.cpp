// UTF-8 repair and cuts, redaction, terminal neutralising and display widths.
#include <conclave/engine/chat.hpp>
#include <conclave/engine/text.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>

namespace unit_test_text {  // file-local names stay apart in unity batches

namespace text = conclave::text;
using namespace std::string_literals;

BOOST_AUTO_TEST_SUITE(text_safety)

BOOST_AUTO_TEST_CASE(valid_utf8_is_recognised) {
  BOOST_CHECK(text::is_valid_utf8(""));
  BOOST_CHECK(text::is_valid_utf8("plain ascii"));
  BOOST_CHECK(text::is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  BOOST_CHECK(!text::is_valid_utf8("\xC3"));              // cut inside a character
  BOOST_CHECK(!text::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  BOOST_CHECK(!text::is_valid_utf8("\xED\xA0\x80"));      // a surrogate
  BOOST_CHECK(!text::is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  BOOST_CHECK(!text::is_valid_utf8("\xFF"));
}

BOOST_AUTO_TEST_CASE(invalid_sequences_become_replacement_characters) {
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_CHECK_EQUAL(text::to_valid_utf8("ok"), "ok");
  BOOST_CHECK_EQUAL(text::to_valid_utf8("a\xFF"
                                        "b"),
                    "a" + fffd + "b");
  // Maximal subparts: a truncated 3-byte sequence is one U+FFFD, then the next byte stands.
  BOOST_CHECK_EQUAL(text::to_valid_utf8("\xE2\x82"
                                        "A"),
                    fffd + "A");
  BOOST_CHECK_EQUAL(text::to_valid_utf8("\xC0\xAF"), fffd + fffd);
  BOOST_CHECK_EQUAL(text::to_valid_utf8("x\xF0\x9F\x98"), "x" + fffd);
  BOOST_CHECK(text::is_valid_utf8(text::to_valid_utf8("\x80\x81\xFE\xED\xA0\x80zz")));
}

BOOST_AUTO_TEST_CASE(cuts_never_split_a_character) {
  const std::string s =
      "ab\xE2\x82\xAC"
      "cd";  // a b € c d
  BOOST_CHECK_EQUAL(text::utf8_prefix(s, 2), "ab");
  BOOST_CHECK_EQUAL(text::utf8_prefix(s, 3), "ab");
  BOOST_CHECK_EQUAL(text::utf8_prefix(s, 4), "ab");
  BOOST_CHECK_EQUAL(text::utf8_prefix(s, 5), "ab\xE2\x82\xAC");
  BOOST_CHECK_EQUAL(text::utf8_prefix(s, 100), s);
  for (std::size_t n = 0; n <= s.size(); ++n) {
    BOOST_CHECK(text::is_valid_utf8(text::utf8_prefix(s, n)));
  }
  BOOST_CHECK_EQUAL(text::quote(s, 4), "ab...");
  // Stray continuation bytes at the cut are no character: the valid prefix stays.
  BOOST_CHECK_EQUAL(text::utf8_prefix("a\x80\x80x", 2), "a\x80");
  BOOST_CHECK_EQUAL(text::utf8_prefix("", 0), "");
  BOOST_CHECK_EQUAL(text::utf8_prefix("\xE2\x82\xAC", 0), "");
  BOOST_CHECK_EQUAL(text::quote("a\xFF", 10), "a\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(secrets_are_redacted_wherever_they_appear) {
  const std::string key = "sk-test-0123456789abcdef";
  text::redactor r({key});
  BOOST_CHECK_EQUAL(r.apply("Incorrect API key provided: Bearer " + key + "."),
                    "Incorrect API key provided: Bearer [REDACTED].");
  BOOST_CHECK_EQUAL(r.apply(key + key), "[REDACTED][REDACTED]");
  BOOST_CHECK_EQUAL(r.apply("nothing secret"), "nothing secret");
  std::string s = "{\"code\":\"" + key + "\"}";
  BOOST_CHECK(r.apply_in_place(s));
  BOOST_CHECK_EQUAL(s, "{\"code\":\"[REDACTED]\"}");
  // Too short to be a key: redacting it would shred ordinary text.
  text::redactor tiny({"a"});
  BOOST_CHECK(tiny.empty());
  BOOST_CHECK_EQUAL(tiny.apply("banana"), "banana");
}

BOOST_AUTO_TEST_CASE(terminal_controls_are_neutralised) {
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_CHECK_EQUAL(text::for_terminal("red \x1b[31mtext\x1b[0m"),
                    "red " + fffd + "[31mtext" + fffd + "[0m");
  BOOST_CHECK_EQUAL(text::for_terminal("title\x1b]0;pwned\x07"),
                    "title" + fffd + "]0;pwned" + fffd);
  BOOST_CHECK_EQUAL(text::for_terminal("a\rb\bc"), "a" + fffd + "b" + fffd + "c");
  BOOST_CHECK_EQUAL(text::for_terminal("line\nnext\tcol"), "line\nnext\tcol");
  BOOST_CHECK_EQUAL(text::for_terminal("line\nnext", false), "line" + fffd + "next");
  BOOST_CHECK_EQUAL(text::for_terminal("c1 \xC2\x9B"
                                       "31m"),
                    "c1 " + fffd + "31m");  // 8-bit CSI
}

BOOST_AUTO_TEST_CASE(display_width_counts_columns) {
  BOOST_CHECK_EQUAL(text::display_width("abc"), 3);
  BOOST_CHECK_EQUAL(text::display_width("\xE4\xB8\xAD\xE6\x96\x87"), 4);  // 中文
  BOOST_CHECK_EQUAL(text::display_width("e\xCC\x81"), 1);                 // e + combining acute
  BOOST_CHECK_EQUAL(text::display_width("\xF0\x9F\x98\x80"), 2);          // 😀
  BOOST_CHECK_EQUAL(text::fit_columns("abcdef", 4), "abc\xE2\x80\xA6");
  BOOST_CHECK_EQUAL(text::fit_columns("abc", 4), "abc");
  // A wide character that would straddle the edge is left out whole.
  BOOST_CHECK_EQUAL(text::fit_columns("a\xE4\xB8\xAD\xE6\x96\x87", 3), "a\xE2\x80\xA6");
  BOOST_CHECK_EQUAL(
      text::display_width(text::fit_columns("\xE4\xB8\xAD\xE6\x96\x87\xE4\xB8\xAD", 5)), 5);
  BOOST_CHECK_EQUAL(text::fit_columns("abc", 0), "");
}

BOOST_AUTO_TEST_CASE(token_sums_saturate) {
  conclave::usage u{INT64_MAX, INT64_MAX};
  BOOST_CHECK_EQUAL(u.total(), INT64_MAX);
  u += conclave::usage{5, 5};
  BOOST_CHECK_EQUAL(u.prompt_tokens, INT64_MAX);
  BOOST_CHECK_EQUAL(u.completion_tokens, INT64_MAX);
}

BOOST_AUTO_TEST_CASE(stop_reasons_from_provider_words) {
  using conclave::stop_reason;
  BOOST_CHECK(conclave::stop_reason_from("stop") == stop_reason::end);
  BOOST_CHECK(conclave::stop_reason_from("end_turn") == stop_reason::end);
  BOOST_CHECK(conclave::stop_reason_from("length") == stop_reason::length);
  BOOST_CHECK(conclave::stop_reason_from("max_tokens") == stop_reason::length);
  BOOST_CHECK(conclave::stop_reason_from("tool_calls") == stop_reason::tool_use);
  BOOST_CHECK(conclave::stop_reason_from("content_filter") == stop_reason::content_filter);
  BOOST_CHECK(conclave::stop_reason_from("refusal") == stop_reason::content_filter);
  BOOST_CHECK(conclave::stop_reason_from("") == stop_reason::unknown);
  BOOST_CHECK(conclave::stop_reason_from("weird") == stop_reason::unknown);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_text
