// The agent machine stepped by hand: turns, tool calls, refusals, limits and stalls, with no
// model and no I/O.
#include <conclave/engine/agent_machine.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_agent_machine {  // file-local names stay apart in unity batches

using namespace conclave;

namespace {

std::vector<tool_spec> tools() {
  return {{"add", "adds", R"({"type":"object","required":["a","b"]})"},
          {"echo", "echoes", R"({"type":"object","properties":{"m":{"type":"string"}}})"}};
}

std::vector<chat_message> task() { return {{role::user, "do it"}}; }

chat_message asking(std::vector<tool_call> calls, std::string words = {}) {
  return assistant_message(std::move(words), std::move(calls));
}

std::vector<tool_result> answered(const agent_step& step) {
  std::vector<tool_result> out;
  for (const auto& c : step.calls) {
    out.push_back({c.call.id, c.refusal.empty() ? "ran" : c.refusal, !c.refusal.empty()});
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_machine_steps)

BOOST_AUTO_TEST_CASE(a_turn_without_tool_calls_is_the_answer) {
  agent_machine m({}, tools(), task());
  auto step = m.begin();
  BOOST_CHECK(step.what == agent_step::kind::call_model);
  BOOST_CHECK_EQUAL(step.turn, 1);
  step = m.on_reply(assistant_message("the answer"));
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::answered);
  BOOST_CHECK_EQUAL(m.conversation().size(), 2u);
  BOOST_CHECK_EQUAL(m.turns(), 1);
}

BOOST_AUTO_TEST_CASE(calls_run_and_their_results_come_back_before_the_next_turn) {
  agent_machine m({}, tools(), task());
  m.begin();
  auto step = m.on_reply(asking({{"c1", "add", R"({"a":1,"b":2})"}, {"", "echo", "{}"}}, "let me"));
  BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
  BOOST_REQUIRE_EQUAL(step.calls.size(), 2u);
  BOOST_CHECK(step.calls[0].refusal.empty());
  BOOST_CHECK_EQUAL(step.calls[0].tool, 0u);
  BOOST_CHECK_EQUAL(step.calls[1].tool, 1u);
  BOOST_CHECK_EQUAL(step.calls[1].call.id, "call_1_2");  // given one, so a result can answer it
  step = m.on_results(answered(step));
  BOOST_CHECK(step.what == agent_step::kind::call_model);
  BOOST_CHECK_EQUAL(step.turn, 2);
  const auto& conv = m.conversation();
  BOOST_REQUIRE_EQUAL(conv.size(), 4u);  // task, assistant, two tool results
  BOOST_CHECK(conv[2].who == role::tool);
  BOOST_CHECK_EQUAL(std::get<tool_result>(conv[3].parts[0]).call_id, "call_1_2");
  BOOST_CHECK_EQUAL(conv[1].tool_calls()[1].id, "call_1_2");  // the same id in the asking turn
  BOOST_CHECK_EQUAL(m.tool_calls(), 2);
}

BOOST_AUTO_TEST_CASE(bad_calls_are_refused_with_an_error_the_model_sees) {
  agent_machine m({}, tools(), task());
  m.begin();
  auto step = m.on_reply(asking({{"1", "nope", "{}"},
                                 {"2", "add", R"({"a":1)"},
                                 {"3", "add", R"({"a":1})"},
                                 {"4", "add", "[1,2]"}}));
  BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
  BOOST_REQUIRE_EQUAL(step.calls.size(), 4u);
  BOOST_CHECK(step.calls[0].refusal.find("unknown tool 'nope'") != std::string::npos);
  BOOST_CHECK(step.calls[0].refusal.find("add, echo") != std::string::npos);
  BOOST_CHECK(step.calls[1].refusal.find("not a JSON object") != std::string::npos);
  BOOST_CHECK_EQUAL(step.calls[2].refusal, "missing required argument(s): b");
  BOOST_CHECK(step.calls[3].refusal.find("not a JSON object") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_last_turn_answers_without_tools) {
  agent_machine m({.max_turns = 2}, tools(), task());
  BOOST_CHECK(m.begin().tools_allowed);
  auto step = m.on_reply(asking({{"1", "echo", R"({"m":1})"}}, "first look"));
  step = m.on_results(answered(step));
  BOOST_CHECK_EQUAL(step.turn, 2);
  BOOST_CHECK(!step.tools_allowed);  // tool_choice none: answer with what you have
  step = m.on_reply(assistant_message("the answer"));
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::max_turns);
  BOOST_CHECK(step.why.find("turn limit (2) reached") != std::string::npos);
  BOOST_CHECK_EQUAL(step.answer, "the answer");
}

BOOST_AUTO_TEST_CASE(a_model_that_still_asks_for_tools_on_the_last_turn_keeps_what_it_said) {
  agent_machine m({.max_turns = 2}, tools(), task());
  m.begin();
  auto step = m.on_reply(asking({{"1", "echo", R"({"m":1})"}}, "first look"));
  m.on_results(answered(step));
  step = m.on_reply(asking({{"2", "echo", R"({"m":2})"}}, "still looking"));
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::max_turns);
  BOOST_CHECK(step.why.find("still asked for tools") != std::string::npos);
  BOOST_CHECK_EQUAL(step.answer, "first look\n\nstill looking");
  BOOST_CHECK_EQUAL(m.tool_calls(), 1);  // the last turn's call never ran
}

BOOST_AUTO_TEST_CASE(one_turn_is_an_answer_without_tools) {
  agent_machine m({.max_turns = 1}, tools(), task());
  BOOST_CHECK(!m.begin().tools_allowed);
  const auto step = m.on_reply(assistant_message("plain"));
  BOOST_CHECK(step.end == agent_end::answered);  // a whole answer, not a partial one
}

BOOST_AUTO_TEST_CASE(calls_past_the_tool_call_limit_are_refused_and_the_next_turn_answers) {
  agent_machine m({.max_tool_calls = 3}, tools(), task());
  m.begin();
  auto step = m.on_reply(asking({{"1", "echo", R"({"m":1})"}, {"2", "echo", R"({"m":2})"}}));
  BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
  m.on_results(answered(step));
  step = m.on_reply(asking({{"3", "echo", R"({"m":3})"}, {"4", "echo", R"({"m":4})"}}));
  BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
  BOOST_CHECK(step.calls[0].refusal.empty());
  BOOST_CHECK(step.calls[1].refusal.find("tool call limit (3) reached") != std::string::npos);
  BOOST_CHECK_EQUAL(m.tool_calls(), 3);
  step = m.on_results(answered(step));
  BOOST_CHECK(!step.tools_allowed);
  step = m.on_reply(assistant_message("done"));
  BOOST_CHECK(step.end == agent_end::max_tool_calls);
  BOOST_CHECK_EQUAL(step.answer, "done");
}

BOOST_AUTO_TEST_CASE(calls_of_a_reply_cut_by_the_output_limit_are_refused) {
  agent_machine m({}, tools(), task());
  m.begin();
  auto step = m.on_reply(asking({{"1", "echo", R"({"m":1})"}}), true);
  BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
  BOOST_CHECK(step.calls[0].refusal.find("cut by the output token limit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_conversation_past_its_size_limit_stops) {
  agent_machine m({.max_conversation_bytes = 100}, tools(), task());
  m.begin();
  auto step = m.on_reply(asking({{"1", "echo", "{}"}}, "looking"));
  step = m.on_results({{"1", std::string(200, 'x'), false}});
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::too_long);
  BOOST_CHECK_EQUAL(step.answer, "looking");
}

BOOST_AUTO_TEST_CASE(the_same_call_three_times_in_a_row_is_a_stall) {
  agent_machine m({}, tools(), task());
  m.begin();
  // Key order and spacing do not make a call different.
  auto step = m.on_reply(asking({{"1", "add", R"({"a":1,"b":2})"}}));
  m.on_results(answered(step));
  step = m.on_reply(asking({{"2", "add", R"({"b": 2, "a": 1})"}}));
  BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
  m.on_results(answered(step));
  step = m.on_reply(asking({{"3", "add", R"({"a":1,"b":2})"}}));
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::stalled);
  BOOST_CHECK(step.why.find("3 times in a row") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_different_call_in_between_is_no_stall) {
  agent_machine m({}, tools(), task());
  m.begin();
  for (int turn = 0; turn < 4; ++turn) {
    const std::string a = turn % 2 ? R"({"a":1,"b":2})" : R"({"a":5,"b":2})";
    auto step = m.on_reply(asking({{"", "add", a}}));
    BOOST_REQUIRE(step.what == agent_step::kind::run_tools);
    m.on_results(answered(step));
  }
}

BOOST_AUTO_TEST_CASE(long_results_are_cut_on_a_character_boundary_and_marked) {
  agent_machine m({.max_tool_result_bytes = 49}, tools(), task());
  m.begin();
  m.on_reply(asking({{"1", "echo", "{}"}}));
  // "é" is two bytes: 49 less the marker's room (36) is 13, which would split the seventh.
  std::string accents;
  for (int i = 0; i < 30; ++i) accents += "\xC3\xA9";
  m.on_results({{"1", accents, false}});
  const auto& r = std::get<tool_result>(m.conversation().back().parts[0]);
  BOOST_CHECK_EQUAL(r.content, accents.substr(0, 12) + "\n[cut: 12 of 60 bytes]");
  BOOST_CHECK_LE(r.content.size(), 49u);
  BOOST_CHECK_EQUAL(agent_machine::cap_result(r.content, 49), r.content);  // cut once only
  BOOST_CHECK_EQUAL(agent_machine::cap_result("short", 10), "short");
}

BOOST_AUTO_TEST_CASE(canonical_arguments_sort_keys_at_every_depth) {
  BOOST_CHECK_EQUAL(
      agent_machine::canonical_arguments(R"({"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]})"),
      R"({"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}})");
  BOOST_CHECK_EQUAL(agent_machine::canonical_arguments("not json"), "not json");
}

BOOST_AUTO_TEST_CASE(a_paused_turn_goes_back_as_it_is_and_counts_as_a_turn) {
  agent_limits limits;
  limits.max_turns = 3;
  agent_machine m(limits, tools(), task());
  auto step = m.begin();
  step = m.on_paused(assistant_message("half of it"));
  BOOST_CHECK(step.what == agent_step::kind::call_model);
  BOOST_CHECK_EQUAL(step.turn, 2);
  BOOST_CHECK(step.tools_allowed);
  // The paused reply is the conversation's last message, for the model to continue.
  BOOST_REQUIRE_EQUAL(m.conversation().size(), 2u);
  BOOST_CHECK(m.conversation().back().who == role::assistant);
  BOOST_CHECK_EQUAL(m.conversation().back().text(), "half of it");
  // An endless pause meets the turn limit: the last turn must answer without tools.
  step = m.on_paused(assistant_message(" and more"));
  BOOST_CHECK_EQUAL(step.turn, 3);
  BOOST_CHECK(!step.tools_allowed);
  step = m.on_reply(assistant_message(" done"));
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::max_turns);
  BOOST_CHECK_EQUAL(step.answer, "half of it and more done");  // nothing lost at the limit
}

BOOST_AUTO_TEST_CASE(a_paused_turn_and_its_continuation_are_one_answer) {
  agent_machine m({}, tools(), task());
  m.begin();
  m.on_paused(assistant_message("The first half"));
  auto step = m.on_reply(assistant_message(", the second."));
  BOOST_CHECK(step.what == agent_step::kind::done);
  BOOST_CHECK(step.end == agent_end::answered);
  BOOST_CHECK_EQUAL(step.answer, "The first half, the second.");
  // A tool turn after a pause drops its words, as any tool turn's words are dropped.
  agent_machine t({}, tools(), task());
  t.begin();
  t.on_paused(assistant_message("Let me look..."));
  step = t.on_reply(asking({{"1", "echo", R"({"m":1})"}}));
  BOOST_CHECK(step.what == agent_step::kind::run_tools);
  t.on_results(answered(step));
  step = t.on_reply(assistant_message("Found it."));
  BOOST_CHECK_EQUAL(step.answer, "Found it.");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_agent_machine
