// The adapter boundary's scrubbing: keys redacted from every provider text (deltas included,
// even split across two), texts valid UTF-8 and bounded; and what a Content-Type says.
#include <conclave/engine/text.hpp>
#include <conclave/provider/content_type.hpp>
#include <conclave/provider/scrub.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_provider_scrub {  // file-local names stay apart in unity batches

using namespace conclave;

namespace {

const std::string key = "sk-conclave-test-0123456789abcdef";

}  // namespace

BOOST_AUTO_TEST_SUITE(provider_scrub)

BOOST_AUTO_TEST_CASE(every_provider_text_is_redacted_and_valid_utf8) {
  chat_response r;
  r.diag.message = "Incorrect API key provided: Bearer " + key + " \xff";
  r.diag.provider_code = key;
  r.diag.request_id = "Bearer " + key;
  r.message = assistant_message("your key is " + key + "\xc3",
                                {{"id-" + key, "tool", R"({"k":")" + key + R"("})"}});
  r.model = "m-" + key;
  r.finish_reason = "stop " + key;
  provider::scrub(r, text::redactor({key}));
  const std::string words = r.text();
  const auto calls = r.message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 1u);
  const std::string id = calls[0].id, arguments = calls[0].arguments;
  for (const std::string* s : std::initializer_list<const std::string*>{
           &r.diag.message, &r.diag.provider_code, &r.diag.request_id, &words, &r.model,
           &r.finish_reason, &id, &arguments}) {
    BOOST_CHECK_MESSAGE(s->find("0123456789") == std::string::npos, *s);
    BOOST_CHECK(s->find("[REDACTED]") != std::string::npos);
    BOOST_CHECK(text::is_valid_utf8(*s));
  }
  BOOST_CHECK_EQUAL(r.diag.message, "Incorrect API key provided: Bearer [REDACTED] \xEF\xBF\xBD");
  BOOST_CHECK_EQUAL(r.diag.request_id, "Bearer [REDACTED]");
  BOOST_CHECK_EQUAL(words, "your key is [REDACTED]\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(long_texts_are_cut_after_redacting_never_through_a_key) {
  chat_response r;
  // The key straddles the cut: cutting first would leave most of it behind.
  r.diag.message = std::string(provider::max_diag_message - 10, 'x') + key;
  r.diag.request_id = std::string(provider::max_diag_field - 5, 'y') + key;
  r.message = assistant_message(std::string(100'000, 'z'));
  provider::scrub(r, text::redactor({key}));
  BOOST_CHECK(r.diag.message.find("sk-conclave") == std::string::npos);
  BOOST_CHECK(r.diag.request_id.find("sk-conclave") == std::string::npos);
  BOOST_CHECK_LE(r.diag.message.size(), provider::max_diag_message + 3);
  BOOST_CHECK_LE(r.diag.request_id.size(), provider::max_diag_field + 3);
  BOOST_CHECK_EQUAL(r.text().size(), 100'000u);  // the answer is never cut
}

BOOST_AUTO_TEST_CASE(cuts_fall_on_character_boundaries) {
  chat_response r;
  r.diag.message = std::string(provider::max_diag_message - 1, 'x') + "\xE2\x82\xAC tail";  // €
  provider::scrub(r, text::redactor());
  BOOST_CHECK(text::is_valid_utf8(r.diag.message));
  BOOST_CHECK(r.diag.message.ends_with("x..."));
}

BOOST_AUTO_TEST_CASE(a_key_split_across_deltas_is_still_redacted) {
  provider::delta_scrubber d({key});
  std::string out;
  out += d.push("Your header was: Bearer sk-conclave-te");
  BOOST_CHECK(out.find("sk-") == std::string::npos);  // held back: it may be a key
  out += d.push("st-0123");
  out += d.push("456789abcdef (echoed). And s");
  out += d.push("o on.");
  out += d.finish();
  BOOST_CHECK_EQUAL(out, "Your header was: Bearer [REDACTED] (echoed). And so on.");
}

BOOST_AUTO_TEST_CASE(a_tail_that_only_looked_like_a_key_is_passed_on) {
  provider::delta_scrubber d({key});
  BOOST_CHECK_EQUAL(d.push("ask"), "a");  // "sk" may begin the key
  BOOST_CHECK_EQUAL(d.push("ed"), "sked");
  BOOST_CHECK_EQUAL(d.push(" and sk-c"), " and ");
  BOOST_CHECK_EQUAL(d.finish(), "sk-c");  // the stream ended: nothing more to wait for
}

BOOST_AUTO_TEST_CASE(without_secrets_deltas_pass_through_unchanged) {
  for (const std::vector<std::string>& secrets :
       {std::vector<std::string>{}, std::vector<std::string>{"short"}}) {
    provider::delta_scrubber d(secrets);
    BOOST_CHECK_EQUAL(d.push("s"), "s");
    BOOST_CHECK_EQUAL(d.push("short"), "short");  // too short to be a key (text::redactor)
    BOOST_CHECK_EQUAL(d.finish(), "");
  }
}

BOOST_AUTO_TEST_CASE(media_types) {
  http::header_fields h;
  BOOST_CHECK_EQUAL(provider::media_type(h), "");
  h.set(boost::beast::http::field::content_type, " Text/Event-Stream ; charset=utf-8");
  BOOST_CHECK_EQUAL(provider::media_type(h), "text/event-stream");
  BOOST_CHECK_EQUAL(provider::media_type_as_sent(h), "Text/Event-Stream");
  BOOST_CHECK(provider::may_be_event_stream(provider::media_type_as_sent(h)));
  BOOST_CHECK(provider::may_be_event_stream("text/event-stream"));
  BOOST_CHECK(provider::may_be_event_stream(""));
  BOOST_CHECK(!provider::may_be_event_stream("text/html"));
  BOOST_CHECK(!provider::may_be_event_stream("application/json"));
  for (const char* ok :
       {"", "application/json", "application/problem+json", "text/json", "text/plain",
        "application/octet-stream", "Application/JSON", "application/Problem+JSON"}) {
    BOOST_CHECK_MESSAGE(provider::may_be_json(ok), ok);
  }
  for (const char* bad : {"text/html", "application/xml", "text/event-stream", "image/png", "json",
                          "+jso", "application/jsonx"}) {
    BOOST_CHECK_MESSAGE(!provider::may_be_json(bad), bad);
  }
}

BOOST_AUTO_TEST_CASE(a_key_behind_json_escapes_in_tool_arguments_is_redacted) {
  const std::string key = "sk-test-0123456789abcdef";
  const text::redactor secrets({key});
  // "\u0073" is "s": the bytes never hold the key, the string the tool would read does.
  std::string escaped = R"({"q": "\u0073k-test-0123456789abcdef", "sk-test-0123456789abcdef": 1})";
  provider::scrub_arguments(escaped, secrets);
  BOOST_CHECK(escaped.find("0123456789abcdef") == std::string::npos);
  BOOST_CHECK_EQUAL(escaped, R"({"q":"[REDACTED]","[REDACTED]":1})");
  // Arguments without a secret keep their exact text (no re-serialisation).
  std::string plain = R"({ "a" : 1 })";
  provider::scrub_arguments(plain, secrets);
  BOOST_CHECK_EQUAL(plain, R"({ "a" : 1 })");
  // Not JSON: redacted as text.
  std::string raw = "not json " + key;
  provider::scrub_arguments(raw, secrets);
  BOOST_CHECK(raw.find(key) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_provider_scrub
