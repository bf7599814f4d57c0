// The CLI as a new user meets it: where the question comes from, what is refused (and how),
// what is printed, and an exit status that tells the truth about where the answer went.
#include "background_mock.hpp"
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace integration_test_cli_front_door {  // file-local names stay apart in unity batches

namespace json = boost::json;
using conclave::test::background_mock;
using conclave::test::clean_env;
using conclave::test::env_with;
using conclave::test::parse_object;
using conclave::test::process;
using conclave::test::stdio_options;
using conclave::test::temp_file;

BOOST_AUTO_TEST_SUITE(cli_front_door)

BOOST_AUTO_TEST_CASE(the_question_comes_from_stdin_a_file_or_a_pipe_with_context) {
  const temp_file question_file("Why do cats purr?");
  const std::string& question = question_file.path();
  // `-` and a pipe with no argument: stdin is the question.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"ask", "-", "--json", "-n", "1"},
        std::vector<std::string>{"ask", "--json", "-n", "1"}}) {
    auto r = process(CONCLAVE_CLI, args, clean_env, stdio_options{.stdin_path = question}).wait();
    BOOST_CHECK_EQUAL(r.exit_code, 0);
    BOOST_CHECK_EQUAL(parse_object(r.out).at("question").as_string(), "Why do cats purr?");
  }
  // -f FILE.
  auto f = process(CONCLAVE_CLI, {"ask", "-f", question, "--json", "-n", "1"}, clean_env).wait();
  BOOST_CHECK_EQUAL(parse_object(f.out).at("question").as_string(), "Why do cats purr?");
  // Piped text plus a question: the text is context for the question.
  const temp_file notes_file("Cats purr at 25-150 Hz.\n");
  const std::string& notes = notes_file.path();
  auto c = process(CONCLAVE_CLI, {"ask", "summarise", "--json", "-n", "1"}, clean_env,
                   stdio_options{.stdin_path = notes})
               .wait();
  BOOST_CHECK_EQUAL(c.exit_code, 0);
  BOOST_CHECK_EQUAL(parse_object(c.out).at("question").as_string(),
                    "summarise\n\nContext:\nCats purr at 25-150 Hz.\n");
}

BOOST_AUTO_TEST_CASE(a_question_that_is_not_utf8_is_refused) {
  auto r = process(CONCLAVE_CLI, {"ask", "caf\xE9?"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK(r.err.find("not valid UTF-8") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keys_are_trimmed_and_control_characters_refused_without_printing_them) {
  auto injected = process(CONCLAVE_CLI, {"ask", "x", "-n", "1"},
                          env_with({{"OPENAI_API_KEY", "sk-secret-1234\r\nX-Injected: 1"},
                                    {"OPENAI_BASE_URL", "http://127.0.0.1:1/v1"}}))
                      .wait();
  BOOST_CHECK_EQUAL(injected.exit_code, 2);
  BOOST_CHECK_MESSAGE(
      injected.err.find("OPENAI_API_KEY contains a control character") != std::string::npos,
      injected.err);
  BOOST_CHECK(injected.err.find("sk-secret") == std::string::npos);
  // A .env with CRLF: the trailing CR is trimmed, not sent (the call then fails to connect,
  // which is the endpoint's fault, not a malformed request).
  auto crlf = process(CONCLAVE_CLI, {"ask", "x", "-n", "1"},
                      env_with({{"OPENAI_API_KEY", "sk-secret-1234\r"},
                                {"OPENAI_BASE_URL", "http://127.0.0.1:1/v1"}}))
                  .wait();
  BOOST_CHECK_EQUAL(crlf.exit_code, 1);
  BOOST_CHECK(crlf.err.find("connection failed") != std::string::npos);
  auto model = process(CONCLAVE_CLI, {"ask", "x", "-m", "gpt\nX: 1"}, clean_env).wait();
  BOOST_CHECK_EQUAL(model.exit_code, 2);
  BOOST_CHECK(model.err.find("model name (-m) contains a control character") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(huge_timeouts_mean_no_limit) {
  for (const char* t : {"inf", "1e308", "1e16", "1e400"}) {
    BOOST_TEST_CONTEXT(t) {
      auto r = process(CONCLAVE_CLI, {"ask", "x", "--json", "-n", "2", "--timeout", t}, clean_env)
                   .wait();
      BOOST_CHECK_EQUAL(r.exit_code, 0);
      BOOST_CHECK_EQUAL(parse_object(r.out).at("report").as_object().at("agents_ok").as_int64(), 2);
    }
  }
  const temp_file config_file(R"({"timeout": 1e300})");
  const std::string& config = config_file.path();
  auto r = process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "--config", config}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
}

BOOST_AUTO_TEST_CASE(an_answer_that_cannot_be_written_is_a_failure) {
  auto full = process(CONCLAVE_CLI, {"ask", "x", "-n", "1"}, clean_env,
                      stdio_options{.stdout_path = "/dev/full"})
                  .wait();
  BOOST_CHECK_EQUAL(full.exit_code, 1);
  BOOST_CHECK_MESSAGE(
      full.err.find("could not be written to stdout: No space left") != std::string::npos,
      full.err);
  auto closed =
      process(CONCLAVE_CLI, {"ask", "x", "-n", "1"}, clean_env, stdio_options{.close_stdout = true})
          .wait();
  BOOST_CHECK_EQUAL(closed.exit_code, 1);
  BOOST_CHECK(closed.err.find("stdout is closed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_answer_is_printed_once_and_whole) {
  auto json_run =
      process(CONCLAVE_CLI, {"ask", "How do tides work?", "--json", "-n", "3"}, clean_env).wait();
  const std::string answer(parse_object(json_run.out).at("answer").as_string());
  // Streamed as synthesis writes it, and not printed again at the end.
  auto plain = process(CONCLAVE_CLI, {"ask", "How do tides work?", "-n", "3"}, clean_env).wait();
  BOOST_CHECK_EQUAL(plain.exit_code, 0);
  BOOST_CHECK_EQUAL(plain.out, answer + "\n");
  auto quiet =
      process(CONCLAVE_CLI, {"ask", "How do tides work?", "-n", "3", "-q"}, clean_env).wait();
  BOOST_CHECK_EQUAL(quiet.out, answer + "\n");
  BOOST_CHECK(quiet.err.find("speedup") == std::string::npos);  // no summary line
  BOOST_CHECK(quiet.err.find("NOTE") != std::string::npos);     // but the notice stays
}

BOOST_AUTO_TEST_CASE(show_agents_save_and_version) {
  const auto saved = (std::filesystem::temp_directory_path() / "conclave-saved.json").string();
  auto r =
      process(CONCLAVE_CLI, {"ask", "Q?", "-n", "2", "--show-agents", "--save", saved}, clean_env)
          .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK(r.out.find("## Agent 1 (ok): ") != std::string::npos);
  BOOST_CHECK(r.out.find("## Agent 2 (ok): ") != std::string::npos);
  std::ifstream in(saved);
  std::stringstream body;
  body << in.rdbuf();
  BOOST_CHECK_EQUAL(parse_object(body.str()).at("agents").as_array().size(), 2u);
  std::filesystem::remove(saved);
  for (const char* flag : {"--version", "-V"}) {
    auto v = process(CONCLAVE_CLI, {flag}, clean_env).wait();
    BOOST_CHECK_EQUAL(v.exit_code, 0);
    BOOST_CHECK(v.out.find("conclave 0.1.0") != std::string::npos);
  }
  auto help = process(CONCLAVE_CLI, {"ask", "--help"}, clean_env).wait();
  BOOST_CHECK_EQUAL(help.exit_code, 0);
  BOOST_CHECK(help.out.find("--budget-tokens") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_config_keys_are_named_in_a_warning) {
  const temp_file config_file(R"({"agnets": 3, "model": "mock"})");
  const std::string& config = config_file.path();
  auto r = process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "--config", config}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_MESSAGE(r.err.find("unknown key 'agnets' (ignored)") != std::string::npos, r.err);
  const temp_file renamed_file(R"({"max_tokens": 3})");
  const std::string& renamed = renamed_file.path();
  auto old = process(CONCLAVE_CLI, {"ask", "x", "--config", renamed}, clean_env).wait();
  BOOST_CHECK_EQUAL(old.exit_code, 2);
  BOOST_CHECK(old.err.find("'max_tokens' is now 'budget_tokens'") != std::string::npos);
  const temp_file broken("{\"agents\": 3,\n  }");
  auto syntax = process(CONCLAVE_CLI, {"ask", "x", "--config", broken.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(syntax.exit_code, 2);
  BOOST_CHECK_MESSAGE(syntax.err.find("at line 2, column 3") != std::string::npos, syntax.err);
}

BOOST_AUTO_TEST_CASE(the_example_config_is_read_without_a_warning) {
  const std::string example =
      std::string(CONCLAVE_SOURCE_DIR) + "/apps/conclave/config.example.json";
  auto r = process(CONCLAVE_CLI,
                   {"ask", "x", "--config", example, "--provider", "mock", "-m", "mock",
                    "--synth-model", "mock", "--decompose-model", "mock", "-n", "2"},
                   clean_env)
               .wait();
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_MESSAGE(r.err.find("warning") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(json_numbers_are_plain_and_tokens_named_alike) {
  auto r = process(CONCLAVE_CLI, {"ask", "Q?", "--json", "-n", "3"}, clean_env).wait();
  // No number in exponent form: a digit, e or E, an optional sign, a digit.
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  bool exponent = false;
  for (std::size_t i = 1; i + 1 < r.out.size(); ++i) {
    if ((r.out[i] != 'e' && r.out[i] != 'E') || !digit(r.out[i - 1])) continue;
    const std::size_t after = (r.out[i + 1] == '+' || r.out[i + 1] == '-') ? i + 2 : i + 1;
    exponent = exponent || (after < r.out.size() && digit(r.out[after]));
  }
  BOOST_CHECK(!exponent);
  auto o = parse_object(r.out);
  BOOST_CHECK_EQUAL(o.at("schema_version").as_int64(), 1);
  BOOST_CHECK(o.at("report").as_object().at("cost").is_null());  // no prices given
  const auto& a = o.at("agents").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(a.at("agent").as_int64(), 1);
  BOOST_CHECK(a.at("truncated").is_bool());
  BOOST_CHECK(a.at("tokens").as_object().contains("input_tokens"));
  BOOST_CHECK(a.at("tokens").as_object().contains("total_tokens"));
  BOOST_CHECK_EQUAL(o.at("decomposition").as_object().at("model").as_string(), "mock");
}

BOOST_AUTO_TEST_CASE(a_server_echoing_the_key_never_gets_it_printed) {
  background_mock mock;
  const std::string key = "sk-live-0123456789abcdefghij";
  const auto env = env_with({{"OPENAI_API_KEY", key}, {"OPENAI_BASE_URL", mock.server.base_url()}});
  for (const char* model : {"mock-echo-401", "mock-echo-text", "mock-echo-200-error",
                            "mock-echo-malformed", "mock-echo-stream"}) {
    for (const std::vector<std::string>& format :
         {std::vector<std::string>{}, {"--json"}, {"--events", "jsonl"}, {"--no-stream", "-v"}}) {
      std::vector<std::string> args{"ask", "x", "-n", "2", "-m", model};
      args.insert(args.end(), format.begin(), format.end());
      BOOST_TEST_CONTEXT(model << " " << (format.empty() ? "" : format[0])) {
        auto r = process(CONCLAVE_CLI, args, env).wait();
        // (With --no-stream, mock-echo-stream's reply is a success whose text quotes the key.)
        BOOST_CHECK(r.out.find(key) == std::string::npos);
        BOOST_CHECK(r.err.find(key) == std::string::npos);
        BOOST_CHECK((r.out + r.err).find("[REDACTED]") != std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(cut_and_refused_answers_are_marked_for_the_user) {
  auto cut =
      process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "-m", "mock-length", "--json"}, clean_env)
          .wait();
  BOOST_CHECK_EQUAL(cut.exit_code, 0);
  auto o = parse_object(cut.out);
  BOOST_CHECK(o.at("agents").as_array().at(0).as_object().at("truncated").as_bool());
  BOOST_CHECK(o.at("degraded").as_bool());
  auto plain =
      process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "-m", "mock-length"}, clean_env).wait();
  BOOST_CHECK(plain.err.find("degraded answer: the answer is truncated") != std::string::npos);
  auto empty =
      process(CONCLAVE_CLI, {"ask", "x", "-n", "1", "-m", "mock-empty", "--json"}, clean_env)
          .wait();
  BOOST_CHECK_EQUAL(empty.exit_code, 1);
  BOOST_CHECK_EQUAL(parse_object(empty.out)
                        .at("agents")
                        .as_array()
                        .at(0)
                        .as_object()
                        .at("error")
                        .as_object()
                        .at("code")
                        .as_string(),
                    "empty_answer");
}

BOOST_AUTO_TEST_CASE(ten_thousand_agents_with_the_builtin_mock) {
  auto r = process(CONCLAVE_CLI, {"ask", "Q?", "-n", "10000", "--concurrency", "2000", "--json"},
                   clean_env)
               .wait(std::chrono::seconds(240));
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  auto o = parse_object(r.out);
  BOOST_CHECK(!o.at("decomposition").as_object().at("fallback").as_bool());
  BOOST_CHECK_EQUAL(o.at("report").as_object().at("agents_ok").as_int64(), 10000);
}

BOOST_AUTO_TEST_CASE(a_closed_pipe_is_exit_1_with_a_reason_not_a_signal) {
  const std::string cmd = std::string(CONCLAVE_CLI) +
                          " ask x -n 2 --save /dev/null | true; echo \"status ${PIPESTATUS[0]}\"";
  auto r = process("/bin/bash", {"-c", cmd}, clean_env).wait();
  BOOST_CHECK_MESSAGE(r.out.find("status 1") != std::string::npos, r.out << r.err);
  BOOST_CHECK(r.err.find("could not be written to stdout: Broken pipe") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(what_cannot_work_is_refused_before_the_run) {
  conclave::test::check_usage_errors(
      CONCLAVE_CLI,
      {
          {{"--save", "/nonexistent/dir/r.json"}, "cannot write --save /nonexistent/dir/r.json"},
          {{"-s", "sys\xff"}, "--system is not valid UTF-8"},
          {{"--fallback-model", "m\xff"}, "--fallback-model is not valid UTF-8"},
          {{"--timeout", "1e-400"}, "at least 0.001 s"},
          {{"--temperature", "nan"}, "--temperature"},
          {{"-q", "-v"}, "excludes"},
      });
}

BOOST_AUTO_TEST_CASE(no_stdin_leaves_piped_input_alone) {
  const temp_file lines("line two\nline three\n");
  auto r = process(CONCLAVE_CLI, {"ask", "line one", "--no-stdin", "--json", "-n", "1"}, clean_env,
                   stdio_options{.stdin_path = lines.path()})
               .wait();
  BOOST_CHECK_EQUAL(parse_object(r.out).at("question").as_string(), "line one");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_front_door
