// Vote, select and verify as pure logic: short answers, the tally, the prompts and their parsers.
#include <conclave/engine/combine.hpp>
#include <conclave/engine/text.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

namespace unit_test_combine {  // file-local names stay apart in unity batches

using namespace conclave;

namespace {

decision answered(std::string answer, std::string sub = "What is it?") {
  return {std::move(sub), agent_status::ok, std::move(answer), {}, stop_reason::end};
}

decision failed(std::string why = "timeout") {
  return {"What is it?", agent_status::failed, {}, std::move(why), stop_reason::unknown};
}

std::string user_text(const std::vector<chat_message>& m) {
  BOOST_REQUIRE_EQUAL(m.size(), 2u);
  BOOST_REQUIRE(m[0].who == role::system);
  BOOST_REQUIRE(m[1].who == role::user);
  return m[1].text();
}

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(combine_logic)

BOOST_AUTO_TEST_CASE(vote_instruction_asks_for_an_answer_line) {
  const std::string said(vote_instruction());
  BOOST_CHECK(has(said, "end with one line \"ANSWER:"));  // the mock model keys on this
}

BOOST_AUTO_TEST_CASE(short_answer_after_the_last_marker) {
  using opt = std::optional<std::string>;
  BOOST_CHECK(extract_short_answer("Long reasoning.\nANSWER: 42") == opt("42"));
  BOOST_CHECK(extract_short_answer("ANSWER: 1\nthen I changed my mind.\nANSWER: 2\n") == opt("2"));
  BOOST_CHECK(extract_short_answer("Reasoning.\nFinal answer: Paris.") == opt("Paris."));
  BOOST_CHECK(extract_short_answer("Reasoning.\n**ANSWER:** **Paris**") == opt("Paris"));
  BOOST_CHECK(extract_short_answer("Reasoning.\n**Final Answer**: \"yes, in stages\"") ==
              opt("yes, in stages"));
  BOOST_CHECK(extract_short_answer("reasoning.\nanswer: blue\n\n") == opt("blue"));
  BOOST_CHECK(extract_short_answer("Reasoning.\nANSWER:\n\n  `7`  \n") == opt("7"));
  BOOST_CHECK(extract_short_answer("I answered: 5 and more\nshort tail") == opt("short tail"));
  // No marker: a short last line stands in; a long one does not.
  BOOST_CHECK(extract_short_answer("Some reasoning here.\n\nThe sky is blue.\n") ==
              opt("The sky is blue."));
  BOOST_CHECK(!extract_short_answer("Reasoning.\n" + std::string(300, 'x')));
  BOOST_CHECK(!extract_short_answer(""));
  BOOST_CHECK(!extract_short_answer("ANSWER: ****"));
  // Cut to 200 bytes on a character boundary.
  std::string euros;
  for (int i = 0; i < 150; ++i) euros += "\xE2\x82\xAC";
  const auto cut = extract_short_answer("ANSWER: " + euros);
  BOOST_REQUIRE(cut);
  BOOST_CHECK_LE(cut->size(), max_short_answer);
  BOOST_CHECK_EQUAL(cut->size(), 198u);
  BOOST_CHECK(text::is_valid_utf8(*cut));
  BOOST_CHECK(extract_short_answer("ANSWER: a\xFF"
                                   "b") == opt("a\xEF\xBF\xBD"
                                               "b"));  // repaired
}

BOOST_AUTO_TEST_CASE(normalized_answers_match) {
  BOOST_CHECK_EQUAL(normalize_answer("  \"Forty-Two.\" "), "forty-two");
  BOOST_CHECK_EQUAL(normalize_answer("Yes,   in\tstages!"), "yes, in stages");
  BOOST_CHECK_EQUAL(normalize_answer("\xE2\x80\x9CParis\xE2\x80\x9D?"), "paris");
  BOOST_CHECK_EQUAL(normalize_answer("42;:"), "42");
  BOOST_CHECK_EQUAL(normalize_answer("'x'."), "x");
  BOOST_CHECK_EQUAL(normalize_answer("..."), "");
}

BOOST_AUTO_TEST_CASE(tally_names_a_clear_winner) {
  const auto t = tally_votes({answered("..\nANSWER: 42"), answered("ANSWER: Forty"),
                              answered("x\nanswer: 42."), answered("**Final answer:** 42")});
  BOOST_REQUIRE_EQUAL(t.options.size(), 2u);
  BOOST_CHECK_EQUAL(t.options[0].answer, "42");
  BOOST_CHECK((t.options[0].agents == std::vector<std::size_t>{0, 2, 3}));
  BOOST_CHECK_EQUAL(t.options[1].answer, "Forty");
  BOOST_CHECK_EQUAL(t.voters, 4u);
  BOOST_CHECK_EQUAL(t.abstained, 0u);
  BOOST_CHECK(!t.tie);
  BOOST_REQUIRE(t.winner);
  BOOST_CHECK_EQUAL(*t.winner, 0u);
  BOOST_CHECK_EQUAL(t.note, "3 of 4 agents answered \"42\"");
}

BOOST_AUTO_TEST_CASE(tally_reports_a_tie_with_both_options) {
  const auto t = tally_votes(
      {answered("ANSWER: b"), answered("ANSWER: a"), answered("ANSWER: a"), answered("ANSWER: B")});
  BOOST_REQUIRE_EQUAL(t.options.size(), 2u);
  BOOST_CHECK(t.tie);
  BOOST_CHECK(!t.winner);
  BOOST_CHECK_EQUAL(t.options[0].answer, "b");  // first to appear comes first
  BOOST_CHECK_EQUAL(t.note, "tie between \"b\" (2) and \"a\" (2)");

  std::vector<decision> many;
  for (int i = 0; i < 7; ++i) many.push_back(answered("ANSWER: " + std::to_string(i)));
  const auto wide = tally_votes(many);
  BOOST_CHECK(wide.tie);
  BOOST_CHECK_EQUAL(wide.note,
                    "tie between \"0\" (1), \"1\" (1), \"2\" (1), \"3\" (1), \"4\" (1) and 2 more");
}

BOOST_AUTO_TEST_CASE(tally_counts_abstentions_and_skips_failures) {
  decision partial = answered("Ran out of turns.\nANSWER: 42");
  partial.status = agent_status::max_turns;
  decision empty_ok = answered("");
  const auto t = tally_votes({answered("ANSWER: 42"), failed(), partial,
                              answered("Reasoning.\n" + std::string(500, 'x')), empty_ok});
  BOOST_CHECK_EQUAL(t.voters, 2u);
  BOOST_CHECK_EQUAL(t.abstained, 1u);
  BOOST_REQUIRE_EQUAL(t.options.size(), 1u);
  BOOST_CHECK((t.options[0].agents == std::vector<std::size_t>{0, 2}));
  BOOST_CHECK(t.winner && *t.winner == 0);
  BOOST_CHECK_EQUAL(t.note, "2 of 5 agents answered \"42\"; 1 gave no short answer");

  const auto none = tally_votes({failed(), answered(std::string(500, 'y'))});
  BOOST_CHECK(none.options.empty());
  BOOST_CHECK(!none.winner);
  BOOST_CHECK(!none.tie);
  BOOST_CHECK_EQUAL(none.abstained, 1u);
  BOOST_CHECK_EQUAL(none.note, "no agent gave a short answer");
  BOOST_CHECK_EQUAL(tally_votes({}).note, "no agent gave a short answer");
}

BOOST_AUTO_TEST_CASE(select_prompt_numbers_and_cuts_answers) {
  const auto m = select_prompt("Is it safe?",
                               {answered("short one", "Is it safe?"), failed(),
                                answered(std::string(5000, 'z'), "Is it safe?"),
                                answered("third", "Is it safe for children?")},
                               100);
  const std::string body = user_text(m);
  BOOST_CHECK(has(body, "Question: Is it safe?"));
  BOOST_CHECK(has(body, "most consistent with the others"));
  BOOST_CHECK(has(body, "[Answer 1]\nshort one"));
  BOOST_CHECK(has(body, "[Answer 2]\n" + std::string(100, 'z') + " [cut: 4900 more characters]"));
  BOOST_CHECK(has(body, "[Answer 3]\n(to: Is it safe for children?)\nthird"));
  BOOST_CHECK(!has(body, "[Answer 4]"));
  BOOST_CHECK(has(body, "SELECTED: <number>"));
  BOOST_CHECK(has(body, "from 1 to 3"));
  BOOST_CHECK_LT(body.size(), 1000u);
}

BOOST_AUTO_TEST_CASE(selection_is_read_leniently) {
  using opt = std::optional<std::size_t>;
  BOOST_CHECK(parse_selection("Answer 2 agrees with most.\nSELECTED: 2", 3) == opt(1));
  BOOST_CHECK(parse_selection("selected: 1\nOn reflection...\nSELECTED: 3", 3) == opt(2));
  BOOST_CHECK(parse_selection("**SELECTED:** Answer 2", 3) == opt(1));
  BOOST_CHECK(parse_selection("SELECTED: [3].", 3) == opt(2));
  BOOST_CHECK(parse_selection("SELECTED: 1\nI have SELECTED: none", 3) == opt(0));
  BOOST_CHECK(parse_selection("  2 \n", 3) == opt(1));
  BOOST_CHECK(parse_selection("**2.**", 3) == opt(1));
  // Missing or out of range.
  BOOST_CHECK(!parse_selection("SELECTED: 4", 3));
  BOOST_CHECK(!parse_selection("SELECTED: 0", 3));
  BOOST_CHECK(!parse_selection("SELECTED: 99999999999999999999999", 3));
  BOOST_CHECK(!parse_selection("I like the second one.", 3));
  BOOST_CHECK(!parse_selection("", 3));
  BOOST_CHECK(!parse_selection("1", 0));
  BOOST_CHECK(!parse_selection("UNSELECTED: 2", 3));
}

BOOST_AUTO_TEST_CASE(judge_prompt_holds_the_answer_cut) {
  decision d = answered(std::string(3000, 'a'), "Sub?");
  d.stop = stop_reason::length;
  const std::string body = user_text(judge_prompt("Big question?", d, 1000));
  BOOST_CHECK(body.starts_with("Grade this answer"));
  BOOST_CHECK(has(body, "Question: Big question?"));
  BOOST_CHECK(has(body, "Sub-question: Sub?"));
  BOOST_CHECK(has(body, "Note: the answer is truncated."));
  BOOST_CHECK(has(body, "<answer>\n" + std::string(1000, 'a') +
                            " [cut: 2000 more characters]\n"
                            "</answer>"));
  BOOST_CHECK(has(body, "\"needs_improvement\""));
  BOOST_CHECK_LT(body.size(), 2000u);
}

BOOST_AUTO_TEST_CASE(judgments_are_read_from_json_or_lines) {
  auto j = parse_judgment(R"({"verdict": "fail", "critique": "No source."})");
  BOOST_REQUIRE(j);
  BOOST_CHECK(j->grade == verdict::fail);
  BOOST_CHECK_EQUAL(j->critique, "No source.");

  j = parse_judgment(
      "Here you go:\n```json\n{\"verdict\": \"needs_improvement\", "
      "\"critique\": \"Add numbers.\"}\n```\n");
  BOOST_REQUIRE(j);
  BOOST_CHECK(j->grade == verdict::needs_improvement);
  BOOST_CHECK_EQUAL(j->critique, "Add numbers.");

  j = parse_judgment("My {view}: the grade is {\"verdict\": \"PASS\"} as shown {\"x\": 1}.");
  BOOST_REQUIRE(j);
  BOOST_CHECK(j->grade == verdict::pass);
  BOOST_CHECK(j->critique.empty());

  j = parse_judgment("**Verdict:** needs improvement\n**Critique:** Say why.\n");
  BOOST_REQUIRE(j);
  BOOST_CHECK(j->grade == verdict::needs_improvement);
  BOOST_CHECK_EQUAL(j->critique, "Say why.");

  j = parse_judgment("VERDICT: fail\nCRITIQUE:\nWrong year.");
  BOOST_REQUIRE(j);
  BOOST_CHECK(j->grade == verdict::fail);
  BOOST_CHECK_EQUAL(j->critique, "Wrong year.");

  // A JSON object cut short is read through its lines.
  j = parse_judgment("{\"verdict\": \"fail\",\n \"critique\": \"Too vague.\",\n");
  BOOST_REQUIRE(j);
  BOOST_CHECK(j->grade == verdict::fail);
  BOOST_CHECK_EQUAL(j->critique, "Too vague.");

  // A long critique is cut.
  j = parse_judgment(R"({"verdict":"fail","critique":")" + std::string(5000, 'c') + "\"}");
  BOOST_REQUIRE(j);
  BOOST_CHECK_EQUAL(j->critique.size(), max_critique);

  for (const char* garbage : {"", "looks fine to me", "{\"verdict\": \"maybe\"}", "{{{{", "[1,2]",
                              "VERDICT: unsure", "\xFF\xFE{\"verdict\""}) {
    BOOST_TEST_CONTEXT("reply: " << garbage) { BOOST_CHECK(!parse_judgment(garbage)); }
  }
  BOOST_CHECK_EQUAL(to_string(verdict::pass), "pass");
  BOOST_CHECK_EQUAL(to_string(verdict::needs_improvement), "needs_improvement");
  BOOST_CHECK_EQUAL(to_string(verdict::fail), "fail");
}

BOOST_AUTO_TEST_CASE(revise_prompt_is_bounded) {
  std::vector<decision> others = {answered(std::string(1024 * 1024, 'o'), "Other part?"), failed(),
                                  answered("small", "Third part?")};
  for (int i = 0; i < 20; ++i) others.push_back(answered(std::string(900, 'p'), "More?"));
  const auto m = revise_prompt("Big question?", "My part?", std::string(10'000, 'm'),
                               "Cite a source.", others, 1000);
  const std::string body = user_text(m);
  BOOST_CHECK(body.starts_with("Revise your answer"));
  BOOST_CHECK(has(body, "Question: My part?"));
  BOOST_CHECK(has(body, "larger question: Big question?"));
  BOOST_CHECK(has(body, std::string(1000, 'm') + " [cut: 9000 more characters]"));
  BOOST_CHECK(has(body, "The reviewer's critique:\nCite a source."));
  BOOST_CHECK(has(body, std::string(1000, 'o') + " [cut: "));
  BOOST_CHECK(!has(body, std::string(1001, 'o')));
  BOOST_CHECK(has(body, "small"));
  BOOST_CHECK(has(body, "more answers left out for length"));
  BOOST_CHECK(!has(body, "timeout"));  // a failed agent brings nothing
  BOOST_CHECK_LT(body.size(), 1000u * 4 + 10'000u / 10 + 2000u);
  BOOST_CHECK(text::is_valid_utf8(body));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_combine
