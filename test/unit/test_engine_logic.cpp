#include <conclave/engine/decompose.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/engine/session.hpp>
#include <conclave/engine/synthesis.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>

namespace unit_test_engine_logic {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(engine_logic)

BOOST_AUTO_TEST_CASE(subquestions_from_every_reply_shape) {
  using list = std::vector<std::string>;
  struct row {
    const char* reply;
    list expected;
  };
  const row rows[] = {
      {R"(["A?", "B?", "C?"])", {"A?", "B?", "C?"}},
      {"Sure! Here they are:\n```json\n[\"A?\", \"B?\"]\n```\nHope that helps.", {"A?", "B?"}},
      {"Here: [\"A?\", \"B?\"] -- done", {"A?", "B?"}},
      {R"([{"question": "A?"}, {"question": "B?"}])", {"A?", "B?"}},
      {"1. First part?\n2) Second part?\n3. Third part?",
       {"First part?", "Second part?", "Third part?"}},
      {"- one\n* two\n\xE2\x80\xA2 three", {"one", "two", "three"}},
      {R"(["A?", "", "  ", "a?", "A ?", "B?"])", {"A?", "B?"}},  // empties and near-duplicates go
      {R"(["What is X?", "what  is x"])", {"What is X?"}},
      {"No list here at all.", {}},
      {"", {}},
      {"[1, 2, 3]", {}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("reply: " << r.reply) {
      const auto got = parse_subquestions(r.reply, 10);
      BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), r.expected.begin(), r.expected.end());
    }
  }
}

BOOST_AUTO_TEST_CASE(subquestions_are_clamped) {
  BOOST_CHECK_EQUAL(parse_subquestions(R"(["a","b","c","d","e"])", 3).size(), 3u);
  BOOST_CHECK_EQUAL(parse_subquestions(R"(["a","b"])", 0).size(), 1u);
}

BOOST_AUTO_TEST_CASE(decomposition_prompt_names_the_count_and_question) {
  const auto msgs = decomposition_prompt("Why?", 7);
  BOOST_REQUIRE_EQUAL(msgs.size(), 2u);
  BOOST_CHECK(msgs[1].text().find("into 7 independent sub-questions") != std::string::npos);
  BOOST_CHECK(msgs[1].text().find("Question: Why?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(synthesis_prompt_cuts_and_names_missing_parts) {
  std::vector<decision> d = {
      {"Q1", agent_status::ok, std::string(50, 'a') + "\xC3\xA9" + std::string(50, 'b'), ""},
      {"Q2", agent_status::timed_out, "", "deadline expired"},
  };
  const auto msgs = synthesis_prompt("Main?", d, 51);  // cut would land inside the 2-byte é
  const std::string& body = msgs[1].text();
  BOOST_CHECK(body.find(std::string(50, 'a') + " [cut: 52 more characters]") != std::string::npos);
  BOOST_CHECK(body.find("Status: timed_out (deadline expired). No decision.") != std::string::npos);
  BOOST_CHECK(body.find("1 of 2 parts have no decision") != std::string::npos);
  const auto fallback = fallback_answer(d, "overloaded");
  BOOST_CHECK(fallback.find("Synthesis failed (overloaded)") != std::string::npos);
  BOOST_CHECK(fallback.find("(no decision: deadline expired)") != std::string::npos);
}

// Heavy mode's merge prompt holds thousands of decisions: it is sized before it is written, so
// it never grows by doubling (which briefly held it three times over), whatever mix of whole,
// cut, partial, marked and missing decisions it has.
BOOST_AUTO_TEST_CASE(synthesis_prompt_is_built_at_its_size) {
  std::vector<decision> d;
  for (int i = 0; i < 3000; ++i) {
    decision one{"Sub-question " + std::to_string(i), agent_status::ok,
                 std::string(static_cast<std::size_t>(50 + i % 400), 'x'), ""};
    if (i % 7 == 0) one.stop = stop_reason::length;
    if (i % 11 == 0) one = {"Q" + std::to_string(i), agent_status::timed_out, "", "deadline"};
    if (i % 13 == 0) one.status = agent_status::max_turns, one.reason = "turn limit";
    d.push_back(std::move(one));
  }
  const auto msgs = synthesis_prompt("Main?", d, 300);
  const auto& body = std::get<text_part>(msgs[1].parts.front()).text;
  BOOST_CHECK(body.find("[cut: ") != std::string::npos);
  BOOST_CHECK(body.find("Note: this decision is partial (turn limit)") != std::string::npos);
  BOOST_CHECK(body.find("Status: timed_out (deadline). No decision.") != std::string::npos);
  BOOST_TEST_MESSAGE("prompt " << body.size() << " bytes, capacity " << body.capacity());
  BOOST_CHECK_LE(body.capacity(), body.size() + 64);  // measured, then written once
}

// From the reports themselves, the prompt is the one their decisions make.
BOOST_AUTO_TEST_CASE(synthesis_prompt_from_reports_is_the_decisions_prompt) {
  std::vector<agent_report> agents(5);
  for (std::size_t i = 0; i < agents.size(); ++i) {
    agents[i].index = i;
    agents[i].sub_question = "Part " + std::to_string(i);
    agents[i].status = agent_status::ok;
    agents[i].answer = std::string(100 + 50 * i, 'a');
  }
  agents[1].stop = stop_reason::content_filter;
  agents[2].status = agent_status::max_turns;
  agents[2].diag.message = "turn limit";
  agents[3].status = agent_status::failed;
  agents[3].answer.clear();
  agents[3].error = error::overloaded;
  agents[4].status = agent_status::timed_out;
  agents[4].answer.clear();
  const auto from_reports = synthesis_prompt("Whole?", agents, 200);
  const auto from_decisions = synthesis_prompt("Whole?", decisions_of(agents), 200);
  BOOST_REQUIRE_EQUAL(from_reports.size(), 2u);
  BOOST_CHECK_EQUAL(from_reports[1].text(), from_decisions[1].text());
  BOOST_CHECK(from_reports[1].text().find("2 of 5 parts have no decision") != std::string::npos);
  BOOST_CHECK(from_reports[1].text().find("Status: timed_out (timed_out)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_map_follows_events) {
  progress_map p;
  BOOST_CHECK(p.phase() == run_phase::decomposing);
  p.apply({.kind = event_kind::decomposed, .tokens = {10, 5}, .count = 2});
  BOOST_CHECK(p.phase() == run_phase::running);
  p.apply({.kind = event_kind::queued, .agent = 0, .text = "Q0"});
  p.apply({.kind = event_kind::queued, .agent = 1, .at = 1ms, .text = "Q1"});
  p.apply({.kind = event_kind::started, .agent = 1, .at = 2ms, .attempt = 1});
  p.apply({.kind = event_kind::progress, .agent = 1, .at = 3ms, .text = "12345678"});
  BOOST_CHECK(p.agents()[1].state == agent_state::running);
  BOOST_CHECK_EQUAL(p.agents()[1].streamed_chars, 8u);
  BOOST_CHECK_EQUAL(p.agents()[1].tokens.completion_tokens, 2);
  BOOST_CHECK_EQUAL(p.count(agent_state::queued), 1u);
  p.apply({.kind = event_kind::completed, .agent = 1, .at = 9ms, .tokens = {20, 30}});
  p.apply({.kind = event_kind::timed_out, .agent = 0, .at = 10ms, .text = "deadline"});
  BOOST_CHECK(p.agents()[1].state == agent_state::completed);
  BOOST_CHECK_EQUAL(p.agents()[1].finished_at.count(), 9000);
  BOOST_CHECK(p.agents()[0].state == agent_state::timed_out);
  BOOST_CHECK_EQUAL(p.agents()[0].detail, "deadline");
  BOOST_CHECK_EQUAL(p.tokens().total(), 65);
  p.apply({.kind = event_kind::synthesis_started, .count = 1});
  BOOST_CHECK(p.phase() == run_phase::synthesizing);
  p.apply({.kind = event_kind::finished, .at = 20ms});
  BOOST_CHECK(p.phase() == run_phase::finished);
  BOOST_CHECK_EQUAL(p.last_event_at().count(), 20000);
}

BOOST_AUTO_TEST_CASE(event_json_lines) {
  const auto line = to_json_line(
      {.kind = event_kind::completed, .agent = 3, .at = 1500us, .tokens = {7, 9}, .attempt = 1});
  const auto v = boost::json::parse(line).as_object();
  BOOST_CHECK_EQUAL(v.at("event").as_string(), "completed");
  BOOST_CHECK_EQUAL(v.at("agent").as_int64(), 4);  // numbered from 1, as on screen
  BOOST_CHECK_EQUAL(v.at("t_ms").as_double(), 1.5);
  BOOST_CHECK_EQUAL(v.at("tokens").as_object().at("output_tokens").as_int64(), 9);
  BOOST_CHECK_EQUAL(v.at("tokens").as_object().at("input_tokens").as_int64(), 7);
  BOOST_CHECK_EQUAL(v.at("tokens").as_object().at("total_tokens").as_int64(), 16);
  BOOST_CHECK_EQUAL(v.at("truncated").as_bool(), false);
  BOOST_CHECK(line.find('\n') == std::string::npos);
  // Plain decimals: 200.5 ms, not 2.005E2.
  const auto late = to_json_line({.kind = event_kind::finished, .at = 200500us});
  BOOST_CHECK(late.find("\"t_ms\":200.5") != std::string::npos);
  BOOST_CHECK(late.find('E') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(plain_json_has_no_exponents) {
  boost::json::object o{{"small", 0.0001},
                        {"big", 1e15},
                        {"third", 1.0 / 3.0},
                        {"n", -5},
                        {"nan", std::nan("")},
                        {"s", "a\"b\n"},
                        {"list", boost::json::array{1.5, true, nullptr}}};
  const std::string text = conclave::to_plain_json(o);
  BOOST_CHECK(text.find("\"small\":0.0001") != std::string::npos);
  BOOST_CHECK(text.find("\"big\":1000000000000000") != std::string::npos);
  BOOST_CHECK(text.find("\"nan\":null") != std::string::npos);
  BOOST_CHECK(text.find("\"list\":[1.5,true,null]") != std::string::npos);
  BOOST_CHECK(text.find('E') == std::string::npos && text.find("e+") == std::string::npos);
  const auto back = boost::json::parse(text).as_object();
  BOOST_CHECK_EQUAL(back.at("third").as_double(), 1.0 / 3.0);  // round-trips exactly
  BOOST_CHECK_EQUAL(back.at("s").as_string(), "a\"b\n");
}

BOOST_AUTO_TEST_CASE(sessions_share_the_base_and_nothing_else) {
  auto base = std::make_shared<const std::vector<chat_message>>(
      std::vector<chat_message>{{role::system, "shared"}});
  session a(base), b(base);
  a.add(role::user, "only a");
  b.add(role::user, "only b");
  const auto ra = a.to_request();
  BOOST_REQUIRE_EQUAL(ra.messages.size(), 2u);
  BOOST_CHECK_EQUAL(ra.messages[0].text(), "shared");
  BOOST_CHECK_EQUAL(ra.messages[1].text(), "only a");
  BOOST_CHECK_EQUAL(b.to_request().messages[1].text(), "only b");
}

BOOST_AUTO_TEST_CASE(pretty_json_reads_back_the_same_and_is_indented) {
  const auto v = boost::json::parse(
      R"({"question":"q","subtasks":[{"id":"a","depends_on":[]},{"id":"b","depends_on":["a","c"]}],)"
      R"("n":200.5,"empty":{},"none":[]})");
  const std::string text = conclave::to_pretty_json(v);
  BOOST_TEST(boost::json::parse(text) == v);
  BOOST_TEST(text.find("\n  \"subtasks\": [\n    {\n      \"id\": \"a\"") != std::string::npos);
  BOOST_TEST(text.find("\"depends_on\": [\"a\", \"c\"]") != std::string::npos);
  BOOST_TEST(text.find("\"empty\": {}") != std::string::npos);
  BOOST_TEST(text.find("200.5") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_engine_logic
