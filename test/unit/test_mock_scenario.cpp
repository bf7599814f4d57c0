#include <conclave/engine/combine.hpp>
#include <conclave/mock/scenario.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

namespace unit_test_mock_scenario {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;
using namespace conclave::mock;

namespace {

incoming_request ask(std::string text, std::string model = "mock") {
  incoming_request r;
  r.model = std::move(model);
  r.messages.push_back({role::user, std::move(text)});
  return r;
}

incoming_request ask(std::vector<chat_message> messages) {
  incoming_request r;
  r.model = "mock";
  r.messages = std::move(messages);
  return r;
}

// An agent's request in vote mode, as the engine words it (phases.cpp's agent context).
incoming_request voter(const std::string& larger, const std::string& sub, bool vote = true) {
  std::string system =
      "You are one of 3 expert agents working in parallel on parts of a larger "
      "question. Answer only the sub-question you are given, concisely, and end "
      "with your decision.\nThe larger question: " +
      larger;
  if (vote) system += "\n" + std::string(vote_instruction());
  return ask({{role::system, system}, {role::user, sub}});
}

decision answered(std::string answer, std::string sub = "What is it?") {
  return {std::move(sub), agent_status::ok, std::move(answer), {}, stop_reason::end};
}

// The subtasks of a dynamic decomposition reply: (prompt, depends_on) by id order.
std::vector<std::pair<std::string, std::vector<std::string>>> subtasks_of(
    const std::string& reply) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  const auto v = json::parse(reply);
  std::size_t i = 0;
  for (const auto& t : v.at("subtasks").as_array()) {
    BOOST_CHECK_EQUAL(t.at("id").as_string(), "s" + std::to_string(++i));
    std::vector<std::string> deps;
    for (const auto& d : t.at("depends_on").as_array()) deps.emplace_back(d.as_string());
    out.emplace_back(std::string(t.at("prompt").as_string()), std::move(deps));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_scenario)

BOOST_AUTO_TEST_CASE(fault_names) {
  BOOST_CHECK(fault_from_model("mock") == fault::none);
  BOOST_CHECK(fault_from_model("gpt-4o") == fault::none);
  BOOST_CHECK(fault_from_model("mock-429") == fault::rate_limited);
  BOOST_CHECK(fault_from_model("mock-500") == fault::server_error);
  BOOST_CHECK(fault_from_model("mock-503") == fault::unavailable);
  BOOST_CHECK(fault_from_model("mock-hang") == fault::hang);
  BOOST_CHECK(fault_from_model("mock-reset") == fault::reset);
  BOOST_CHECK(fault_from_model("mock-malformed") == fault::malformed);
  BOOST_CHECK(fault_from_model("mock-truncated") == fault::truncated);
  BOOST_CHECK(fault_from_model("mock-drip") == fault::drip);
  BOOST_CHECK(fault_from_model("mock-error-event") == fault::error_event);
  BOOST_CHECK(fault_from_model("mock-length") == fault::length);
  BOOST_CHECK(fault_from_model("mock-filtered") == fault::filtered);
  BOOST_CHECK(fault_from_model("mock-empty") == fault::empty);
  BOOST_CHECK(fault_from_model("mock-echo-401") == fault::echo_401);
  BOOST_CHECK(fault_from_model("mock-echo-text") == fault::echo_text);
  BOOST_CHECK(fault_from_model("mock-echo-200-error") == fault::echo_200_error);
  BOOST_CHECK(fault_from_model("mock-echo-malformed") == fault::echo_malformed);
  BOOST_CHECK(fault_from_model("mock-echo-stream") == fault::echo_stream);
  BOOST_CHECK(fault_from_model("mock-html") == fault::html);
  BOOST_CHECK(fault_from_model("mock-early-hints") == fault::early_hints);
  // Every kind has its own name, and the names map back ("mock-" + name, but for the
  // statuses): fault_kinds counts them all.
  std::set<std::string> names;
  for (std::size_t k = 0; k < fault_kinds; ++k) names.insert(to_string(static_cast<fault>(k)));
  BOOST_CHECK_EQUAL(names.size(), fault_kinds);
  BOOST_CHECK(fault_from_model(std::string("mock-") + to_string(fault::early_hints)) ==
              fault::early_hints);
}

BOOST_AUTO_TEST_CASE(decomposition_into_thousands_of_subquestions) {
  auto req = ask("Split the question into 10000 sub-questions.\nQuestion: Why?");
  BOOST_REQUIRE(requested_subquestions(req));
  BOOST_CHECK_EQUAL(*requested_subquestions(req), 10'000);
  BOOST_CHECK_EQUAL(json::parse(reply_text(req, 10)).as_array().size(), 10'000u);
  BOOST_CHECK_EQUAL(*requested_subquestions(ask("Split it into 12345 sub-questions.")), 10'000);
  BOOST_CHECK_EQUAL(
      *requested_subquestions(ask("Split it into 99999999999999999999 sub-questions.")),
      max_subquestions);
  BOOST_CHECK_EQUAL(*requested_subquestions(ask("Split it into 00007 sub-questions.")), 7);
}

BOOST_AUTO_TEST_CASE(replies_are_deterministic_and_differ_by_prompt) {
  const auto a = reply_text(ask("Why is the sky blue?"), 12);
  BOOST_CHECK_EQUAL(a, reply_text(ask("Why is the sky blue?"), 12));
  BOOST_CHECK_NE(a, reply_text(ask("Why is grass green?"), 12));
  BOOST_CHECK(a.find("Why is the sky blue?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(decomposition_returns_n_distinct_subquestions) {
  for (int n : {1, 3, 8, 20}) {
    auto req = ask("Split the question into " + std::to_string(n) +
                   " independent sub-questions.\nQuestion: How should a city cut traffic deaths?");
    BOOST_REQUIRE(requested_subquestions(req));
    BOOST_CHECK_EQUAL(*requested_subquestions(req), n);
    const auto arr = json::parse(reply_text(req, 10)).as_array();
    BOOST_REQUIRE_EQUAL(arr.size(), static_cast<std::size_t>(n));
    std::set<std::string> distinct;
    for (const auto& q : arr) {
      distinct.insert(std::string(q.as_string()));
      BOOST_CHECK(std::string(q.as_string()).find("traffic deaths") != std::string::npos);
    }
    BOOST_CHECK_EQUAL(distinct.size(), static_cast<std::size_t>(n));
  }
  BOOST_CHECK(!requested_subquestions(ask("What are sub-questions?")));
}

BOOST_AUTO_TEST_CASE(request_parsing) {
  incoming_request r;
  std::string why;
  BOOST_CHECK(parse_request(
      R"({"model":"mock","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"developer","content":"x"},{"role":"user","content":"y"}]})",
      r, why));
  BOOST_CHECK(r.stream);
  BOOST_CHECK(r.include_usage);
  BOOST_CHECK(r.messages[0].who == role::system);

  for (const char* bad : {"", "[]", R"({"messages":[]})", R"({"model":"m"})",
                          R"({"model":"m","messages":[{"role":"alien","content":"x"}]})",
                          R"({"model":"m","messages":[{"role":"user"}]})"}) {
    BOOST_TEST_CONTEXT("body: " << bad) {
      incoming_request x;
      std::string reason;
      BOOST_CHECK(!parse_request(bad, x, reason));
      BOOST_CHECK(!reason.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(engine_prompts_hold_the_phrases_the_mock_keys_on) {
  BOOST_CHECK(std::string(vote_instruction()).find(vote_phrase) != std::string::npos);
  const std::vector<decision> two = {answered("a"), answered("b")};
  BOOST_CHECK(select_prompt("Q?", two, 100)[1].text().find(select_phrase) != std::string::npos);
  BOOST_CHECK(judge_prompt("Q?", two[0], 100)[1].text().starts_with(judge_phrase));
  BOOST_CHECK(revise_prompt("Q?", "S?", "a", "c", two, 100)[1].text().starts_with(revise_phrase));
}

BOOST_AUTO_TEST_CASE(vote_mode_agents_on_one_question_agree) {
  const std::string larger = "Should the city ban cars from its centre?";
  const auto first = reply_text(voter(larger, "What would it cost? (focus: costs)"), 12);
  const auto said = extract_short_answer(first);
  BOOST_REQUIRE(said);
  BOOST_CHECK(first.find("\nANSWER: " + *said) != std::string::npos);
  BOOST_CHECK(first.ends_with(*said));
  for (const char* sub : {"Who is affected? (focus: who is affected)", "What are the risks?"}) {
    BOOST_CHECK(extract_short_answer(reply_text(voter(larger, sub), 12)) == said);
  }
  BOOST_CHECK_EQUAL(first, reply_text(voter(larger, "What would it cost? (focus: costs)"), 12));
  // Four short answers in all; the larger question picks one.
  std::set<std::string> picked;
  for (int i = 0; i < 40; ++i) {
    picked.insert(
        *extract_short_answer(reply_text(voter("Question " + std::to_string(i), "x"), 5)));
  }
  BOOST_CHECK_EQUAL(picked.size(), 4u);
  // The instruction may come in the user message; without it there is no ANSWER line.
  BOOST_CHECK(reply_text(ask("Is it? " + std::string(vote_instruction())), 5).find("\nANSWER: ") !=
              std::string::npos);
  BOOST_CHECK(reply_text(voter(larger, "What would it cost?", false), 12).find("ANSWER:") ==
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(vote_mode_splits_on_mock_split_vote) {
  const std::string larger = "Should we mock-split-vote now?";
  std::vector<decision> decisions;
  for (const char* focus : {"costs", "risks"}) {
    const std::string sub = "Should we? (focus: " + std::string(focus) + ")";
    decisions.push_back(answered(reply_text(voter(larger, sub), 8), sub));
  }
  const auto t = tally_votes(decisions);
  BOOST_CHECK_EQUAL(t.voters, 2u);
  BOOST_CHECK_EQUAL(t.options.size(), 2u);
  BOOST_CHECK(t.tie);
  // The first four aspects give four different answers.
  std::set<std::string> distinct;
  for (const char* focus : {"costs", "risks", "evidence", "who is affected"}) {
    distinct.insert(*extract_short_answer(
        reply_text(voter(larger, "Q? (focus: " + std::string(focus) + ")"), 8)));
  }
  BOOST_CHECK_EQUAL(distinct.size(), 4u);
}

BOOST_AUTO_TEST_CASE(select_picks_by_question_among_the_answers_it_counts) {
  const std::vector<decision> five = {answered("a"), answered("b"), answered("c"), answered("d"),
                                      answered("e")};
  std::set<std::size_t> picks;
  for (int i = 0; i < 30; ++i) {
    const auto req = ask(select_prompt("Question number " + std::to_string(i), five, 100));
    const auto reply = reply_text(req, 10);
    BOOST_CHECK_EQUAL(reply, reply_text(req, 10));
    BOOST_CHECK(reply.find("\nSELECTED: ") != std::string::npos);
    const auto pick = parse_selection(reply, five.size());
    BOOST_REQUIRE(pick);
    picks.insert(*pick);
  }
  BOOST_CHECK_EQUAL(picks.size(), 5u);  // every answer number is reachable, none past the count
  const auto one = reply_text(ask(select_prompt("Q?", {answered("only")}, 100)), 10);
  BOOST_CHECK(one.ends_with("SELECTED: 1"));
}

BOOST_AUTO_TEST_CASE(judge_fails_on_request_and_passes_revisions) {
  const auto grade = [](std::string_view question, const std::string& answer) {
    const auto reply = reply_text(ask(judge_prompt(question, answered(answer), 4000)), 10);
    BOOST_CHECK_NO_THROW(json::parse(reply));
    auto j = parse_judgment(reply);
    BOOST_REQUIRE(j);
    return *j;
  };
  auto j = grade("How to cut deaths? mock-judge-fails", "On \"x\": some words.");
  BOOST_CHECK(j.grade == verdict::fail);
  BOOST_CHECK_EQUAL(j.critique, "The answer lacks concrete evidence; cite one.");
  BOOST_CHECK(grade("How to cut deaths? mock-judge-fails", "Revised: On \"x\".").grade ==
              verdict::pass);
  BOOST_CHECK(grade("How to cut deaths?", "On \"x\": some words.").grade == verdict::pass);
  BOOST_CHECK(!grade("How to cut deaths?", "x").critique.empty());
  BOOST_CHECK(grade("How to cut deaths?", "It is mock-bad, sadly.").grade == verdict::fail);
  BOOST_CHECK(grade("How to cut deaths?", "Revised: no longer mock-bad.").grade == verdict::pass);

  // One round of verify: the failed answer is revised, and the revision passes.
  const std::string question = "Why? mock-judge-fails";
  const auto revised =
      reply_text(ask(revise_prompt(question, "My part?", "old", j.critique, {}, 1000)), 10);
  BOOST_CHECK(revised.starts_with("Revised: On \"My part?\":"));
  BOOST_CHECK(grade(question, revised).grade == verdict::pass);
}

BOOST_AUTO_TEST_CASE(dynamic_decomposition_chooses_how_many) {
  const std::string asked =
      "Choose how many sub-questions the question needs (1 to 6). Reply with a JSON object "
      "{\"subtasks\": [{\"id\": \"s1\", \"prompt\": \"...\"}]}.\nQuestion: ";
  auto tasks = subtasks_of(reply_text(ask(asked + "Why is the sky blue?"), 10));
  BOOST_REQUIRE_EQUAL(tasks.size(), 1u);
  BOOST_CHECK_EQUAL(tasks[0].first, "Why is the sky blue? (focus: costs)");
  BOOST_CHECK(tasks[0].second.empty());
  BOOST_CHECK_EQUAL(
      subtasks_of(reply_text(ask(asked + "Trams vs buses for a mid-sized city today"), 10)).size(),
      2u);
  BOOST_CHECK_EQUAL(
      subtasks_of(reply_text(ask(asked + "COMPARE the two plans the council put forward"), 10))
          .size(),
      2u);
  BOOST_CHECK_EQUAL(subtasks_of(reply_text(ask(asked + "Tea vs coffee?"), 10)).size(), 2u);
  BOOST_CHECK_EQUAL(
      subtasks_of(reply_text(ask(asked + "How should a large city cut its traffic deaths?"), 10))
          .size(),
      3u);
  tasks = subtasks_of(reply_text(ask(asked + "mock-diamond plan"), 10));
  BOOST_REQUIRE_EQUAL(tasks.size(), 4u);
  BOOST_CHECK(tasks[0].second.empty());
  BOOST_CHECK((tasks[1].second == std::vector<std::string>{"s1"}));
  BOOST_CHECK((tasks[2].second == std::vector<std::string>{"s1"}));
  BOOST_CHECK((tasks[3].second == std::vector<std::string>{"s2", "s3"}));
  BOOST_CHECK(tasks[3].first.find("mock-diamond plan? (focus: ") == 0);

  // The fixed-N prompt keeps its array, even when it also mentions the object form; a prompt
  // naming both wins for the choice.
  const auto fixed = json::parse(reply_text(
      ask("Split the question into 5 independent sub-questions. Reply with a JSON array of 5 "
          "strings, or {\"subtasks\": [{\"id\": \"s1\", \"prompt\": \"...\"}]}.\nQuestion: Why?"),
      10));
  BOOST_REQUIRE(fixed.is_array());
  BOOST_CHECK_EQUAL(fixed.as_array().size(), 5u);
  BOOST_CHECK_EQUAL(
      subtasks_of(reply_text(ask("Split it into 5 sub-questions. " + asked + "Why?"), 10)).size(),
      1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_mock_scenario
