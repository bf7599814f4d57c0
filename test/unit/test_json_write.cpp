// Request bodies written without extra copies of their text (provider/json_write.hpp), and the
// two wires' encoders on a prompt as large as heavy mode's synthesis: the text must come back
// byte for byte, whichever path (small or sized) wrote it.
#include <conclave/anthropic/wire.hpp>
#include <conclave/openai/wire.hpp>
#include <conclave/provider/json_write.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>

namespace unit_test_json_write {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;

namespace {

// Every byte a JSON writer must escape or keep: quotes, backslashes, control characters,
// newlines and multi-byte UTF-8, repeated to `bytes`.
std::string awkward_text(std::size_t bytes) {
  const std::string unit = "say \"no\" \\ then\n\ttab \x01 caf\xC3\xA9 \xE2\x82\xAC; ";
  std::string out;
  while (out.size() < bytes) out += unit;
  return out;
}

json::object object_with(const std::string& text) {
  json::object o;
  o["model"] = "m";
  o["content"] = text;
  o["n"] = 3;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_write)

BOOST_AUTO_TEST_CASE(one_text_part_is_read_in_place) {
  const chat_message one(role::user, "only words");
  std::string joined;
  const std::string_view v = provider::text_of(one, joined);
  BOOST_CHECK_EQUAL(v, "only words");
  BOOST_CHECK(v.data() == std::get<text_part>(one.parts.front()).text.data());  // no copy
  BOOST_CHECK(joined.empty());

  chat_message two(role::assistant);
  two.parts = {text_part{"a"}, tool_call{"c1", "t", "{}"}, text_part{"b"}};
  BOOST_CHECK_EQUAL(provider::text_of(two, joined), two.text());
  BOOST_CHECK_EQUAL(joined, two.text());

  const chat_message none(role::assistant);
  BOOST_CHECK_EQUAL(provider::text_of(none, joined), "");
}

BOOST_AUTO_TEST_CASE(sized_output_matches_boost_json_whatever_the_estimate) {
  for (std::size_t bytes :
       {std::size_t{0}, std::size_t{100}, std::size_t{5000}, std::size_t{300'000}}) {
    const json::object o = object_with(awkward_text(bytes));
    const std::string expected = json::serialize(o);
    // Exact, far too small (grown while writing), and generous.
    for (std::size_t estimate :
         {expected.size(), std::size_t{10}, std::size_t{5000}, 2 * expected.size() + 4096}) {
      BOOST_TEST_CONTEXT("text " << bytes << " bytes, estimate " << estimate) {
        const std::string got = provider::serialize_sized(o, estimate);
        BOOST_CHECK(got == expected);
      }
    }
  }
}

// Prose like heavy mode's decisions (a newline now and then, the odd quote): the estimate's
// margin holds its escapes, so the body is written once, at about its size.
BOOST_AUTO_TEST_CASE(a_large_body_is_written_at_about_its_size) {
  std::string prose;
  while (prose.size() < 400'000) prose += "[12] Sub-question: why \"this\"?\nDecision: because.\n";
  chat_request req;
  req.messages = {{role::system, "merge"}, {role::user, prose}};
  const std::size_t estimate = provider::expected_body_bytes(req);
  json::object o = object_with(req.messages[1].text());
  const std::string body = provider::serialize_sized(o, estimate);
  // Sized once: no doubling, so no more than the estimate's room (or the body, if larger).
  BOOST_CHECK_LE(body.capacity(), std::max(estimate, body.size()) + 32);
  BOOST_CHECK_GE(estimate, body.size());          // escapes counted, not guessed
  BOOST_CHECK_LE(estimate - body.size(), 2048u);  // nor much room to spare
}

BOOST_AUTO_TEST_CASE(strings_are_escaped_as_boost_json_escapes_them) {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  for (const std::string& s : {std::string(), every_byte, awkward_text(1000)}) {
    std::string out;
    provider::append_json_string(out, s);
    BOOST_CHECK(out == json::serialize(json::string(s)));
    BOOST_CHECK_EQUAL(provider::json_string_bytes(s), out.size());
  }
}

// A document with placeholders is written exactly as Boost.JSON writes the same document with
// the texts in it: field order, nesting, numbers, booleans and null included.
BOOST_AUTO_TEST_CASE(placeholders_are_written_as_their_texts) {
  const std::string big = awkward_text(40'000);
  const std::string small = "short \"one\"";
  provider::body_texts texts;
  json::object doc;
  doc.reserve(8);
  doc["model"] = "m";
  json::array messages;
  for (int i = 0; i < 3; ++i) {
    json::object m;
    m.reserve(2);
    m["role"] = "user";
    texts.assign(m["content"], i == 1 ? std::string_view(small) : std::string_view(big));
    messages.push_back(std::move(m));
  }
  doc["messages"] = std::move(messages);
  doc["max_tokens"] = 64;
  doc["temperature"] = 0.25;
  doc["stream"] = true;
  doc["stop"] = nullptr;

  json::object expected = doc;  // a copy has no placeholders: fill them in
  for (std::size_t i = 0; i < 3; ++i) {
    expected["messages"].as_array()[i].as_object()["content"] = i == 1 ? small : big;
  }
  const std::string body = texts.serialize(doc, 1024);
  BOOST_CHECK(body == json::serialize(expected));
  BOOST_CHECK(json::parse(body) == expected);

  // A document copied after its placeholders were set lost them: a bug, said as one.
  json::object copied = doc;
  BOOST_CHECK_THROW(texts.serialize(copied, 1024), std::logic_error);
}

// A turn of several parts (text, then a tool call) has its text joined into a string of the
// encoder's own: written into the body from there before it goes, not from a placeholder's view
// of it (which would outlive it).
BOOST_AUTO_TEST_CASE(a_large_joined_text_is_copied_not_viewed) {
  const std::string said = awkward_text(40'000);
  chat_message turn(role::assistant);
  turn.parts = {text_part{said}, tool_call{"c1", "lookup", "{\"q\":1}"}, text_part{"!"}};
  chat_request req;
  req.messages = {{role::user, "go"}, std::move(turn)};
  const auto body = json::parse(openai::encode_chat_request(req, "m")).as_object();
  const auto& m = body.at("messages").as_array()[1].as_object();
  BOOST_CHECK(m.at("content").as_string() == said + "!");
  BOOST_CHECK_EQUAL(m.at("tool_calls").as_array().size(), 1u);
}

BOOST_AUTO_TEST_CASE(both_wires_carry_a_large_prompt_byte_for_byte) {
  const std::string prompt = awkward_text(300'000);
  chat_request req;
  req.messages = {{role::system, "You merge decisions."}, {role::user, prompt}};

  const auto openai_body = json::parse(openai::encode_chat_request(req, "gpt-x")).as_object();
  const auto& om = openai_body.at("messages").as_array();
  BOOST_REQUIRE_EQUAL(om.size(), 2u);
  BOOST_CHECK(om[1].as_object().at("content").as_string() == prompt);

  // Anthropic: the system text goes apart; a multi-part system message is joined.
  chat_message system(role::system);
  system.parts = {text_part{"part one; "}, text_part{prompt}};
  req.messages = {std::move(system), {role::user, prompt}};
  const auto anthropic_body =
      json::parse(anthropic::encode_messages_request(req, "claude-x", false)).as_object();
  BOOST_CHECK(anthropic_body.at("system").as_string() == "part one; " + prompt);
  const auto& am = anthropic_body.at("messages").as_array();
  BOOST_REQUIRE_EQUAL(am.size(), 1u);
  const auto& content = am[0].as_object().at("content");
  const json::string& text = content.is_string()
                                 ? content.as_string()
                                 : content.as_array()[0].as_object().at("text").as_string();
  BOOST_CHECK(text == prompt);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_json_write
