// The body of POST /v1/tasks: what it accepts, and every refusal with its param, status, code.
#include <conclave/engine/plan.hpp>
#include <conclave/serve/task_request.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

namespace unit_test_task_request {  // file-local names stay apart in unity batches

using namespace conclave::serve;
using namespace std::chrono_literals;

namespace {

task_spec accepted(std::string_view body, std::size_t max_chars = 200'000) {
  auto r = parse_task_request(body, max_chars);
  if (auto* e = std::get_if<request_error>(&r))
    BOOST_FAIL("refused " << body << ": " << e->param << " " << e->code << " " << e->message);
  return std::get<task_spec>(std::move(r));
}

request_error refused(std::string_view body, std::size_t max_chars = 200'000) {
  auto r = parse_task_request(body, max_chars);
  if (!std::holds_alternative<request_error>(r)) BOOST_FAIL("accepted " << body);
  return std::get<request_error>(std::move(r));
}

const std::string plan_ab =
    R"({"subtasks":[{"id":"a","prompt":"A?"},{"id":"b","prompt":"B?","depends_on":["a"]}]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(task_request)

BOOST_AUTO_TEST_CASE(a_question_with_defaults) {
  const task_spec s = accepted(R"({"question":"Why is the sky blue?"})");
  BOOST_TEST(s.question == "Why is the sky blue?");
  BOOST_TEST(!s.plan);
  BOOST_TEST(s.priority == 5);
  BOOST_TEST(s.options_json == "{}");
  BOOST_TEST(s.client_ref.empty());
  BOOST_TEST(!s.options.agents);
  BOOST_TEST(!s.options.deadline);
}

BOOST_AUTO_TEST_CASE(every_option_and_a_canonical_journal_form) {
  const task_spec s = accepted(
      R"({"metadata":"order-7","options":{"model":"fast","queue_timeout_s":90,"deadline_s":1.5,)"
      R"("verify_rounds":2,"verify":true,"combine":"vote","agents":0},"priority":10,)"
      R"("question":"Q","plan":null})");
  BOOST_TEST(s.priority == 10);
  BOOST_TEST(s.client_ref == "order-7");
  BOOST_TEST(*s.options.agents == 0);
  BOOST_TEST(*s.options.combine == "vote");
  BOOST_TEST(*s.options.verify);
  BOOST_TEST(*s.options.verify_rounds == 2);
  BOOST_TEST(s.options.deadline->count() == 1500);
  BOOST_TEST(s.options.queue_timeout->count() == 90'000);
  BOOST_TEST(*s.options.model == "fast");
  BOOST_TEST(s.options_json ==
             R"({"agents":0,"combine":"vote","verify":true,"verify_rounds":2,"deadline_s":1.5,)"
             R"("queue_timeout_s":90,"model":"fast"})");
  // null members count as absent
  BOOST_TEST(
      accepted(R"({"question":"Q","options":null,"metadata":null,"priority":null})").priority == 5);
  BOOST_TEST(accepted(R"({"question":"Q","options":{"agents":null}})").options_json == "{}");
}

BOOST_AUTO_TEST_CASE(a_plan_accepted) {
  const task_spec s = accepted(R"({"priority":0,"plan":)" + plan_ab + "}");
  BOOST_TEST_REQUIRE(s.plan.has_value());
  BOOST_TEST(s.plan->subtasks.size() == 2u);
  BOOST_TEST(s.plan->subtasks[1].depends_on == std::vector<std::string>{"a"});
  BOOST_TEST(s.question.empty());
  BOOST_TEST(s.priority == 0);
  const task_spec over = accepted(R"({"plan":)" + plan_ab + R"(,"options":{"combine":"select"}})");
  BOOST_TEST(*over.options.combine == "select");
}

BOOST_AUTO_TEST_CASE(a_plan_refused_in_parse_plan_and_validate_words) {
  const std::string missing_prompt = R"({"subtasks":[{"id":"a"}]})";
  auto e = refused(R"({"plan":)" + missing_prompt + "}");
  BOOST_TEST(e.status == 400u);
  BOOST_TEST(e.param == "plan");
  BOOST_TEST(e.code == "invalid_plan");
  BOOST_TEST(e.message == "invalid plan: " + conclave::parse_plan(missing_prompt).error);

  const std::string cycle = R"({"subtasks":[{"id":"a","prompt":"A","depends_on":["b"]},)"
                            R"({"id":"b","prompt":"B","depends_on":["a"]}]})";
  const auto problem = conclave::validate(*conclave::parse_plan(cycle).value);
  BOOST_TEST_REQUIRE(problem.has_value());
  e = refused(R"({"plan":)" + cycle + "}");
  BOOST_TEST(e.code == "invalid_plan");
  BOOST_TEST(e.message == "invalid plan: " + problem->message);
  BOOST_TEST(e.message.find("cycle") != std::string::npos);

  e = refused(R"({"plan":{"subtasks":[]}})");
  BOOST_TEST(e.code == "invalid_plan");
  e = refused(R"({"plan":"a then b"})");
  BOOST_TEST(e.param == "plan");
  BOOST_TEST(e.code == "invalid_type");
  e = refused(R"({"plan":)" + plan_ab + R"(,"options":{"agents":3}})");
  BOOST_TEST(e.param == "options.agents");
  BOOST_TEST(e.code == "invalid_value");
}

BOOST_AUTO_TEST_CASE(every_refusal_names_its_param) {
  struct row {
    std::string body, param, code, says;
  };
  const std::string q = R"("question":"Q",)";
  const std::string long_model(257, 'm'), long_meta(max_metadata_bytes + 1, 'x');
  const row rows[] = {
      {"not json", "", "invalid_json", "not valid JSON"},
      {"[1,2]", "", "invalid_json", "JSON object"},
      {R"({"question":"Q"} trailing)", "", "invalid_json", "not valid JSON"},
      {"{}", "question", "missing_parameter", "question or plan is required"},
      {R"({"question":null})", "question", "missing_parameter", "required"},
      {R"({"question":""})", "question", "invalid_value", "blank"},
      {R"({"question":" \n\t"})", "question", "invalid_value", "blank"},
      {R"({"question":5})", "question", "invalid_type", "must be a string"},
      {R"({"question":"Q","plan":)" + plan_ab + "}", "plan", "invalid_value", "not both"},
      {R"({"question":"Q","model":"x"})", "model", "unknown_parameter", "\"model\""},
      {R"({"question":"Q","priority":11})", "priority", "invalid_value", "from 0 to 10"},
      {R"({"question":"Q","priority":-1})", "priority", "invalid_value", "from 0 to 10"},
      {R"({"question":"Q","priority":18446744073709551615})", "priority", "invalid_value", ""},
      {R"({"question":"Q","priority":"5"})", "priority", "invalid_type", "an integer"},
      {R"({"question":"Q","priority":5.5})", "priority", "invalid_type", "an integer"},
      {R"({"question":"Q","priority":true})", "priority", "invalid_type", "an integer"},
      {"{" + q + R"("options":[]})", "options", "invalid_type", "an object"},
      {"{" + q + R"("options":{"temperature":1}})", "options.temperature", "unknown_parameter",
       "\"options.temperature\""},
      {"{" + q + R"("options":{"agents":21}})", "options.agents", "invalid_value", "0 to 20"},
      {"{" + q + R"("options":{"agents":-1}})", "options.agents", "invalid_value", ""},
      {"{" + q + R"("options":{"agents":"3"}})", "options.agents", "invalid_type", ""},
      {"{" + q + R"("options":{"combine":"mix"}})", "options.combine", "invalid_value",
       "synthesize, vote or select"},
      {"{" + q + R"("options":{"combine":1}})", "options.combine", "invalid_type", ""},
      {"{" + q + R"("options":{"verify":"yes"}})", "options.verify", "invalid_type",
       "true or false"},
      {"{" + q + R"("options":{"verify_rounds":0}})", "options.verify_rounds", "invalid_value",
       "1 to 3"},
      {"{" + q + R"("options":{"verify_rounds":4}})", "options.verify_rounds", "invalid_value", ""},
      {"{" + q + R"("options":{"deadline_s":0}})", "options.deadline_s", "invalid_value",
       "1 to 3600 seconds"},
      {"{" + q + R"("options":{"deadline_s":3600.5}})", "options.deadline_s", "invalid_value", ""},
      {"{" + q + R"("options":{"deadline_s":"60"}})", "options.deadline_s", "invalid_type", ""},
      {"{" + q + R"("options":{"queue_timeout_s":0.5}})", "options.queue_timeout_s",
       "invalid_value", "1 to 86400"},
      {"{" + q + R"("options":{"model":""}})", "options.model", "invalid_value", "empty"},
      {"{" + q + R"("options":{"model":")" + long_model + R"("}})", "options.model",
       "string_too_long", "256 bytes"},
      {"{" + q + R"("metadata":{"k":"v"}})", "metadata", "invalid_type", "a string"},
      {"{" + q + R"("metadata":")" + long_meta + R"("})", "metadata", "string_too_long", "1024"},
      {"{" + q + R"("x":)" + std::string(40, '[') + std::string(40, ']') + "}", "", "invalid_json",
       ""},
  };
  for (const row& r : rows) {
    const request_error e = refused(r.body);
    BOOST_TEST(e.status == 400u, r.body);
    BOOST_TEST(e.param == r.param, r.body);
    BOOST_TEST(e.code == r.code, r.body);
    BOOST_TEST(e.message.find(r.says) != std::string::npos, r.body << ": " << e.message);
    BOOST_TEST(e.message.find('\n') == std::string::npos, r.body);
  }
}

BOOST_AUTO_TEST_CASE(question_length_in_characters) {
  BOOST_TEST(accepted(R"({"question":"0123456789"})", 10).question.size() == 10u);
  auto e = refused(R"({"question":"01234567890"})", 10);
  BOOST_TEST(e.param == "question");
  BOOST_TEST(e.code == "string_too_long");
  BOOST_TEST(e.message.find("10 characters") != std::string::npos);
  // ten two-byte characters are ten characters
  BOOST_TEST(accepted(R"({"question":"éééééééééé"})", 10).question.size() == 20u);
  // invalid UTF-8 is no JSON text
  BOOST_TEST(refused("{\"question\":\"\xff\"}").code == "invalid_json");
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_quoted_bounded) {
  const auto e = refused(R"({"question":"Q",")" + std::string(500, 'k') + "\\u001b[2J\":1}");
  BOOST_TEST(e.code == "unknown_parameter");
  BOOST_TEST(e.message.size() < 120u);
  BOOST_TEST(e.message.find('\x1b') == std::string::npos);
  BOOST_TEST(e.param.size() <= 67u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_task_request
