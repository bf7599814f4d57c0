#include <conclave/engine/decompose.hpp>
#include <conclave/engine/plan.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_plan_json {  // file-local names stay apart in unity batches

using namespace conclave;

namespace {

using list = std::vector<std::string>;

plan full_plan() {
  plan p;
  p.question = "Which \"database\" fits?\nBe brief.";
  p.combine = combine_mode::vote;
  p.verify = true;
  p.verify_rounds = 2;
  subtask a;
  a.id = "a";
  a.prompt = "Compare the costs.";
  a.role = "a cost analyst";
  a.model = "fast";
  a.tools = list{};
  a.exclusive = {"gpu", "disk"};
  a.priority = -3;
  subtask b;
  b.id = "b.2_x-y";
  b.prompt = "Weigh é and 漢字.";
  b.depends_on = {"a"};
  b.tools = list{"search", "fetch"};
  b.optional = true;
  b.priority = 7;
  subtask c;
  c.id = "c";
  c.prompt = "Sum up.";
  c.depends_on = {"a", "b.2_x-y"};
  p.subtasks = {a, b, c};
  return p;
}

std::string error_of(std::string_view text, std::size_t max_bytes = 1 << 20) {
  const auto r = parse_plan(text, max_bytes);
  BOOST_CHECK(!r.value);
  return r.error;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plan_json)

BOOST_AUTO_TEST_CASE(round_trip) {
  const plan p = full_plan();
  const std::string text = boost::json::serialize(to_json(p));
  const auto back = parse_plan(text);
  BOOST_REQUIRE_MESSAGE(back.value, back.error);
  BOOST_CHECK(*back.value == p);
  BOOST_CHECK(back.error.empty());
  // Defaults are left out of subtasks; tools unset is absent, tools [] is written.
  BOOST_CHECK(text.find(R"({"id":"c","prompt":"Sum up.","depends_on":["a","b.2_x-y"]})") !=
              std::string::npos);
  BOOST_CHECK(text.find(R"("tools":[])") != std::string::npos);
  plan minimal;
  minimal.subtasks.push_back({.id = "x", .prompt = "y"});
  BOOST_CHECK(*parse_plan(boost::json::serialize(to_json(minimal))).value == minimal);
}

BOOST_AUTO_TEST_CASE(only_id_and_prompt_are_required) {
  const auto r = parse_plan(R"({"subtasks": [{"id": "a", "prompt": "Why?"}]})");
  BOOST_REQUIRE_MESSAGE(r.value, r.error);
  const plan& p = *r.value;
  BOOST_CHECK_EQUAL(p.question, "");
  BOOST_CHECK(p.combine == combine_mode::synthesize);
  BOOST_CHECK(!p.verify);
  BOOST_CHECK_EQUAL(p.verify_rounds, 1);
  BOOST_REQUIRE_EQUAL(p.subtasks.size(), 1u);
  const subtask& t = p.subtasks[0];
  BOOST_CHECK(!t.tools);
  BOOST_CHECK(t.depends_on.empty() && t.exclusive.empty() && t.role.empty() && t.model.empty());
  BOOST_CHECK_EQUAL(t.priority, 0);
  BOOST_CHECK(!t.optional);
}

BOOST_AUTO_TEST_CASE(tools_unset_differs_from_none) {
  const auto unset = parse_plan(R"({"subtasks": [{"id": "a", "prompt": "p"}]})");
  const auto none = parse_plan(R"({"subtasks": [{"id": "a", "prompt": "p", "tools": []}]})");
  const auto some =
      parse_plan(R"({"subtasks": [{"id": "a", "prompt": "p", "tools": ["search"]}]})");
  BOOST_CHECK(!unset.value->subtasks[0].tools);
  BOOST_REQUIRE(none.value->subtasks[0].tools);
  BOOST_CHECK(none.value->subtasks[0].tools->empty());
  BOOST_CHECK(*some.value->subtasks[0].tools == list{"search"});
}

BOOST_AUTO_TEST_CASE(combine_names) {
  for (const char* name : {"synthesize", "vote", "select"}) {
    const auto r = parse_plan(std::string(R"({"subtasks": [], "combine": ")") + name + "\"}");
    BOOST_REQUIRE_MESSAGE(r.value, r.error);
    BOOST_CHECK_EQUAL(to_string(r.value->combine), name);
  }
  BOOST_CHECK_EQUAL(error_of(R"({"subtasks": [], "combine": "merge"})"),
                    R"(combine: expected "synthesize", "vote" or "select")");
}

BOOST_AUTO_TEST_CASE(each_wrong_type_says_where) {
  struct row {
    const char* text;
    const char* error;
  };
  const row rows[] = {
      {"[]", "the plan must be a JSON object"},
      {"{}", R"(missing "subtasks")"},
      {R"({"question": 1, "subtasks": []})", "question: expected a string"},
      {R"({"subtasks": {}})", "subtasks: expected an array of objects"},
      {R"({"subtasks": ["a"]})", "subtasks[0]: expected an object"},
      {R"({"subtasks": [{"prompt": "p"}]})", R"(subtasks[0]: missing "id")"},
      {R"({"subtasks": [{"id": "a"}]})", R"(subtasks[0]: missing "prompt")"},
      {R"({"subtasks": [{"id": 5, "prompt": "p"}]})", "subtasks[0].id: expected a string"},
      {R"({"subtasks": [{"id": "a", "prompt": null}]})", "subtasks[0].prompt: expected a string"},
      {R"({"subtasks": [{"id": "a", "prompt": "p"}, {"id": "b", "prompt": "p"},
          {"id": "c", "prompt": "p", "depends_on": "a"}]})",
       "subtasks[2].depends_on: expected an array of strings"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "depends_on": ["b", 1]}]})",
       "subtasks[0].depends_on: expected an array of strings"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "exclusive": [null]}]})",
       "subtasks[0].exclusive: expected an array of strings"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "tools": "all"}]})",
       "subtasks[0].tools: expected an array of strings"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "role": ["x"]}]})",
       "subtasks[0].role: expected a string"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "model": false}]})",
       "subtasks[0].model: expected a string"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "optional": "yes"}]})",
       "subtasks[0].optional: expected true or false"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "priority": 1.5}]})",
       "subtasks[0].priority: expected an integer"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "priority": 3000000000}]})",
       "subtasks[0].priority: integer out of range"},
      {R"({"subtasks": [], "combine": 1})", "combine: expected a string"},
      {R"({"subtasks": [], "verify": 1})", "verify: expected true or false"},
      {R"({"subtasks": [], "verify_rounds": "2"})", "verify_rounds: expected an integer"},
      {R"({"subtasks": [{"id": "a", "prompt": "p", "dependson": []}]})",
       R"(unknown key "dependson" in subtasks[0])"},
      {R"({"subtasks": [], "Question": "q"})", R"(unknown key "Question" in the plan)"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.text) { BOOST_CHECK_EQUAL(error_of(r.text), r.error); }
  }
}

BOOST_AUTO_TEST_CASE(errors_never_echo_huge_input) {
  const std::string key(5000, 'k');
  const std::string err = error_of(R"({"subtasks": [], ")" + key + R"(": 1})");
  BOOST_CHECK_EQUAL(err, "unknown key \"" + std::string(64, 'k') + "...\" in the plan");
  // A control character in a key cannot break the one-line message.
  const std::string nl = error_of(R"({"subtasks": [], "a\nb": 1})");
  BOOST_CHECK(nl.find('\n') == std::string::npos);
  BOOST_CHECK(nl.starts_with("unknown key \"a"));
}

BOOST_AUTO_TEST_CASE(malformed_json_and_size_limit) {
  BOOST_CHECK(error_of(R"({"subtasks": [)").starts_with("malformed JSON at byte "));
  BOOST_CHECK(error_of("").starts_with("malformed JSON"));
  BOOST_CHECK(error_of(R"({"subtasks": []} x)").starts_with("malformed JSON at byte 17"));
  BOOST_CHECK(error_of("{\"question\": \"\xFF\", \"subtasks\": []}").starts_with("malformed JSON"));
  const std::string ok = R"({"subtasks": []})";
  BOOST_CHECK(parse_plan(ok, ok.size()).value);
  BOOST_CHECK_EQUAL(error_of(ok, ok.size() - 1), "the plan file is 16 bytes; the limit is 15");
}

BOOST_AUTO_TEST_CASE(parsing_does_not_validate_the_graph) {
  const auto r = parse_plan(
      R"({"subtasks": [{"id": "a", "prompt": "p", "depends_on": ["a"]}], "verify_rounds": 9})");
  BOOST_REQUIRE(r.value);
  BOOST_CHECK_EQUAL(validate(*r.value)->message, "subtask a depends on itself");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plan_decomposition)

BOOST_AUTO_TEST_CASE(fixed_count_prompt) {
  const auto msgs = plan_prompt("Why is the sky blue?", 5, 10);
  BOOST_REQUIRE_EQUAL(msgs.size(), 2u);
  const std::string user = msgs[1].text();
  BOOST_CHECK(user.find("into 5 independent sub-questions") != std::string::npos);
  BOOST_CHECK(user.find("Choose how many") == std::string::npos);
  BOOST_CHECK(user.find(R"({"subtasks": [{"id": "s1", "prompt": "...", "depends_on": [], )"
                        R"("role": "..."}]})") != std::string::npos);
  BOOST_CHECK(user.find("plain JSON array of strings is also accepted") != std::string::npos);
  BOOST_CHECK(user.find("Question: Why is the sky blue?") != std::string::npos);
  // The first "sub-questions" of each message is what the mock reads a count from.
  BOOST_CHECK(msgs[0].text().find("sub-questions") == std::string::npos ||
              msgs[0].text().find_first_of("0123456789") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(dynamic_count_prompt) {
  const auto msgs = plan_prompt("Why?", 0, 8);
  const std::string user = msgs[1].text();
  BOOST_CHECK(user.find("Choose how many sub-questions") != std::string::npos);
  for (const char* words : {"1 for a simple fact", "2-4 for a comparison",
                            "up to 10 for broad research", "3 when unsure", "more than 8"}) {
    BOOST_TEST_CONTEXT(words) { BOOST_CHECK(user.find(words) != std::string::npos); }
  }
  BOOST_CHECK(user.find("\"depends_on\"") != std::string::npos);
  BOOST_CHECK(user.find("into ") == std::string::npos);  // no fixed count for the mock to read
}

BOOST_AUTO_TEST_CASE(decompositions_of_every_reply_shape) {
  struct expected_task {
    std::string id;
    std::string prompt;
    list depends_on;
    std::string role;
  };
  struct row {
    const char* name;
    std::string reply;
    int max_n;
    std::vector<expected_task> expected;
  };
  const row rows[] = {
      {"object with dependencies",
       R"({"subtasks": [{"id": "s1", "prompt": "Find X.", "depends_on": [], "role": "a chemist"},
                        {"id": "s2", "prompt": "Use X.", "depends_on": ["s1"]}]})",
       10,
       {{"s1", "Find X.", {}, "a chemist"}, {"s2", "Use X.", {"s1"}, ""}}},
      {"fenced with prose",
       "Here you go:\n```json\n{\"subtasks\": [{\"id\": \"a\", \"prompt\": \" A? \"}, "
       "{\"id\": \"b\", \"prompt\": \"B?\", \"depends_on\": [\"a\", \"a\"]}]}\n```\nDone {really}.",
       10,
       {{"a", "A?", {}, ""}, {"b", "B?", {"a"}, ""}}},
      {"list form",
       "1. First?\n2. Second?",
       10,
       {{"s1", "First?", {}, ""}, {"s2", "Second?", {}, ""}}},
      {"array of strings",
       R"(["A?", "B?", "a?"])",
       10,
       {{"s1", "A?", {}, ""}, {"s2", "B?", {}, ""}}},
      {"strings inside the object",
       R"({"subtasks": ["A?", {"prompt": "B?", "depends_on": ["s1"]}]})",
       10,
       {{"s1", "A?", {}, ""}, {"s2", "B?", {"s1"}, ""}}},
      {"unknown dependencies dropped",
       R"({"subtasks": [{"id": "a", "prompt": "A?", "depends_on": ["zz", 3]},
                        {"id": "b", "prompt": "B?", "depends_on": ["a", "nope"]}]})",
       10,
       {{"a", "A?", {}, ""}, {"b", "B?", {"a"}, ""}}},
      {"cycle falls back to no dependencies",
       R"({"subtasks": [{"id": "a", "prompt": "A?", "depends_on": ["c"]},
                        {"id": "b", "prompt": "B?", "depends_on": ["a"]},
                        {"id": "c", "prompt": "C?", "depends_on": ["b"]}]})",
       10,
       {{"a", "A?", {}, ""}, {"b", "B?", {}, ""}, {"c", "C?", {}, ""}}},
      {"self dependency falls back too",
       R"({"subtasks": [{"id": "a", "prompt": "A?", "depends_on": ["a"]},
                        {"id": "b", "prompt": "B?", "depends_on": ["a"]}]})",
       10,
       {{"a", "A?", {}, ""}, {"b", "B?", {}, ""}}},
      {"capped, dependencies on dropped ones removed",
       R"({"subtasks": [{"id": "a", "prompt": "A?", "depends_on": ["c"]},
                        {"id": "b", "prompt": "B?", "depends_on": ["a"]},
                        {"id": "c", "prompt": "C?"}]})",
       2,
       {{"a", "A?", {}, ""}, {"b", "B?", {"a"}, ""}}},
      {"duplicates merged, dependencies follow the one kept",
       R"({"subtasks": [{"id": "a", "prompt": "What is X?"},
                        {"id": "b", "prompt": "what  is x"},
                        {"id": "c", "prompt": "C?", "depends_on": ["b"]}]})",
       10,
       {{"a", "What is X?", {}, ""}, {"c", "C?", {"a"}, ""}}},
      {"bad and repeated ids replaced",
       R"({"subtasks": [{"id": "bad id", "prompt": "A?"}, {"id": "s1", "prompt": "B?"},
                        {"id": "s1", "prompt": "C?", "depends_on": ["s1"]}, {"prompt": "D?"}]})",
       10,
       {{"s2", "A?", {}, ""},
        {"s1", "B?", {}, ""},
        {"s3", "C?", {"s1"}, ""},
        {"s4", "D?", {}, ""}}},
      {"garbage", "I cannot help with that.", 10, {}},
      {"empty", "", 10, {}},
      {"object without subtasks", R"({"answer": 42})", 10, {}},
      {"numbers", "[1, 2, 3]", 10, {}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const plan p = parse_decomposition(r.reply, r.max_n);
      BOOST_REQUIRE_EQUAL(p.subtasks.size(), r.expected.size());
      for (std::size_t i = 0; i < r.expected.size(); ++i) {
        const auto& got = p.subtasks[i];
        const auto& want = r.expected[i];
        BOOST_CHECK_EQUAL(got.id, want.id);
        BOOST_CHECK_EQUAL(got.prompt, want.prompt);
        BOOST_CHECK_EQUAL(got.role, want.role);
        BOOST_CHECK_EQUAL_COLLECTIONS(got.depends_on.begin(), got.depends_on.end(),
                                      want.depends_on.begin(), want.depends_on.end());
      }
      if (!p.subtasks.empty()) BOOST_CHECK(!validate(p));
    }
  }
}

BOOST_AUTO_TEST_CASE(decomposition_is_capped_and_never_empty_handed) {
  BOOST_CHECK_EQUAL(parse_decomposition(R"(["a", "b", "c", "d"])", 3).subtasks.size(), 3u);
  BOOST_CHECK_EQUAL(parse_decomposition(R"(["a", "b"])", 0).subtasks.size(), 1u);
  BOOST_CHECK(parse_decomposition("{\"subtasks\": [{\"prompt\": \"   \"}]}", 5).subtasks.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_plan_json
