// The CLI's providers and mixed models end to end: provider:model references, agents taking
// --agent-models in turn, each phase its own model, aliases from a config file, fallbacks
// across providers, Ollama-style names, and the usage errors of an unconfigured provider.
#include "background_mock.hpp"
#include "cli_run.hpp"
#include "process.hpp"
#include "temp_file.hpp"

#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>

namespace integration_test_cli_models {  // file-local names stay apart in unity batches

namespace json = boost::json;
using conclave::test::background_mock;
using conclave::test::clean_env;
using conclave::test::env_with;
using conclave::test::parse_object;
using conclave::test::process;
using conclave::test::temp_file;

namespace {

std::string text_of(const json::value& v) {
  return v.is_null() ? "(null)" : std::string(v.as_string());
}

// `ask QUESTION args... --json` against the built-in mock (or `env`); must exit 0.
json::object run_json(std::vector<std::string> args,
                      const std::map<std::string, std::string>& env = clean_env) {
  args.insert(args.begin(), {"ask", "How do tides work?"});
  args.push_back("--json");
  auto r = process(CONCLAVE_CLI, args, env).wait();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return parse_object(r.out);
}

std::vector<std::string> field_of_agents(const json::object& o, const char* field) {
  std::vector<std::string> out;
  for (const auto& a : o.at("agents").as_array()) out.push_back(text_of(a.as_object().at(field)));
  return out;
}

// A conclave-mock standing in for a configured OpenAI-compatible server.
std::map<std::string, std::string> configured(const background_mock& mock) {
  return env_with({{"OPENAI_API_KEY", "sk-x"}, {"OPENAI_BASE_URL", mock.server.base_url()}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_models)

BOOST_AUTO_TEST_CASE(agent_models_are_assigned_in_turn) {
  for (const auto& flags :
       {std::vector<std::string>{"--agent-models", "mock:a,mock:b"},
        std::vector<std::string>{"--agent-models", "mock:a", "--agent-models", "mock:b"}}) {
    std::vector<std::string> args{"-n", "5"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto o = run_json(args);
    BOOST_CHECK((field_of_agents(o, "model_ref") ==
                 std::vector<std::string>{"mock:a", "mock:b", "mock:a", "mock:b", "mock:a"}));
    // The mock names itself after the model asked: the provider got the bare name.
    BOOST_CHECK((field_of_agents(o, "model") == std::vector<std::string>{"a", "b", "a", "b", "a"}));
    BOOST_CHECK_EQUAL(o.at("decomposition").as_object().at("model_ref").as_string(), "mock");
  }
  // The events say which model each agent called.
  auto r = process(CONCLAVE_CLI,
                   {"ask", "Q?", "-n", "2", "--agent-models", "mock:a,mock:b", "--events", "jsonl"},
                   clean_env)
               .wait();
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  std::istringstream lines(r.out);
  int started = 0;
  for (std::string line; std::getline(lines, line);) {
    auto e = parse_object(line);
    if (e.at("event").as_string() != "started") continue;
    ++started;
    BOOST_CHECK_EQUAL(e.at("model").as_string(),
                      e.at("agent").as_int64() == 1 ? "mock:a" : "mock:b");
  }
  BOOST_CHECK_EQUAL(started, 2);
}

BOOST_AUTO_TEST_CASE(each_phase_flag_reaches_its_phase) {
  auto o = run_json({"-n", "2", "--decompose-model", "mock:d", "--agent-model", "mock:w",
                     "--synth-model", "mock:s"});
  BOOST_CHECK_EQUAL(o.at("decomposition").as_object().at("model").as_string(), "d");
  BOOST_CHECK_EQUAL(o.at("decomposition").as_object().at("model_ref").as_string(), "mock:d");
  BOOST_CHECK((field_of_agents(o, "model") == std::vector<std::string>{"w", "w"}));
  BOOST_CHECK_EQUAL(o.at("synthesis").as_object().at("model").as_string(), "s");
  BOOST_CHECK_EQUAL(o.at("synthesis").as_object().at("model_ref").as_string(), "mock:s");
  // -m is every phase's default; with no key the mock answers every provider's references.
  auto every = run_json({"-n", "2", "-m", "openai:x"});
  BOOST_CHECK_EQUAL(every.at("decomposition").as_object().at("model_ref").as_string(), "openai:x");
  BOOST_CHECK(
      (field_of_agents(every, "model_ref") == std::vector<std::string>{"openai:x", "openai:x"}));
  BOOST_CHECK_EQUAL(every.at("synthesis").as_object().at("model").as_string(), "x");
  BOOST_CHECK_EQUAL(every.at("provider").as_string(), "mock");
  BOOST_CHECK(text_of(every.at("note")).find("built-in mock") != std::string::npos);
  // Both agent flags at once are refused.
  auto both =
      process(CONCLAVE_CLI, {"ask", "x", "--agent-model", "mock:a", "--agent-models", "mock:b"},
              clean_env)
          .wait();
  BOOST_CHECK_EQUAL(both.exit_code, 2);
}

BOOST_AUTO_TEST_CASE(a_fallback_chain_crosses_providers) {
  auto o = run_json({"-n", "1", "-m", "openai:mock-500", "--fallback-model", "mock:rescue"});
  const auto& a = o.at("agents").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
  BOOST_CHECK_EQUAL(a.at("model_ref").as_string(), "mock:rescue");
  BOOST_CHECK_EQUAL(a.at("model").as_string(), "rescue");
  const auto& tried = a.at("models_tried").as_array();
  BOOST_REQUIRE_EQUAL(tried.size(), 2u);
  BOOST_CHECK_EQUAL(tried[0].as_string(), "openai:mock-500");
  BOOST_CHECK_EQUAL(tried[1].as_string(), "mock:rescue");
}

BOOST_AUTO_TEST_CASE(aliases_come_from_the_config_file) {
  const temp_file config(R"({"aliases": {"planner": "mock:plan", "worker": "inner",
                                         "inner": "mock:work", "merger": "mock:"},
                             "decompose_model": "planner", "synth_model": "merger",
                             "agent_models": ["worker", "mock:direct"]})");
  auto o = run_json({"-n", "3", "--config", config.path()});
  BOOST_CHECK_EQUAL(o.at("decomposition").as_object().at("model_ref").as_string(), "mock:plan");
  BOOST_CHECK_EQUAL(o.at("decomposition").as_object().at("model").as_string(), "plan");
  BOOST_CHECK((field_of_agents(o, "model_ref") ==
               std::vector<std::string>{"mock:work", "mock:direct", "mock:work"}));
  // models_tried keeps the reference as written.
  BOOST_CHECK_EQUAL(o.at("agents").as_array()[0].at("models_tried").as_array()[0].as_string(),
                    "worker");
  BOOST_CHECK_EQUAL(o.at("synthesis").as_object().at("model_ref").as_string(), "mock");
  BOOST_CHECK_EQUAL(o.at("synthesis").as_object().at("model").as_string(), "mock");  // its default
  // A flag wins over the config's list.
  auto flag = run_json({"-n", "2", "--config", config.path(), "--agent-model", "planner"});
  BOOST_CHECK(
      (field_of_agents(flag, "model_ref") == std::vector<std::string>{"mock:plan", "mock:plan"}));

  const temp_file cycle(R"({"aliases": {"a": "b", "b": "a"}})");
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--config", cycle.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("alias cycle a -> b -> a") != std::string::npos, r.err);
  const temp_file typo(R"({"aliases": {"big": "mistral:large"}})");
  r = process(CONCLAVE_CLI, {"ask", "x", "--config", typo.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("names provider 'mistral'") != std::string::npos, r.err);
  const temp_file not_text(R"({"aliases": {"big": 3}})");
  r = process(CONCLAVE_CLI, {"ask", "x", "--config", not_text.path()}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("'aliases.big' must be a model reference") != std::string::npos,
                      r.err);
}

BOOST_AUTO_TEST_CASE(an_unknown_provider_prefix_goes_to_the_default_provider_whole) {
  background_mock mock;
  auto o = run_json({"-n", "1", "-m", "foo:bar"}, configured(mock));
  BOOST_CHECK_EQUAL(o.at("provider").as_string(), "openai");
  BOOST_CHECK(o.at("note").is_null());  // a real provider: no mock notice
  const auto& a = o.at("agents").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(a.at("model").as_string(), "foo:bar");
  BOOST_CHECK_EQUAL(a.at("model_ref").as_string(), "openai:foo:bar");
  BOOST_CHECK_EQUAL(mock.server.stats().completions, 1u);
}

BOOST_AUTO_TEST_CASE(ollama_style_names_are_bare_names) {
  background_mock mock;  // an Ollama: a base URL, no key
  const auto ollama = env_with({{"OPENAI_BASE_URL", mock.server.base_url()}});
  for (const char* name : {"llama3:8b", "qwen2.5:7b"}) {
    auto o = run_json({"-n", "1", "-m", name}, ollama);
    const auto& a = o.at("agents").as_array().at(0).as_object();
    BOOST_CHECK_EQUAL(a.at("model").as_string(), name);
    BOOST_CHECK_EQUAL(a.at("model_ref").as_string(), std::string("openai:") + name);
  }
  auto builtin = run_json({"-n", "1", "-m", "llama3:8b"});
  BOOST_CHECK_EQUAL(builtin.at("agents").as_array()[0].at("model_ref").as_string(),
                    "mock:llama3:8b");
}

BOOST_AUTO_TEST_CASE(a_referenced_provider_without_its_key_is_a_usage_error) {
  background_mock mock;
  const temp_file config(
      R"({"aliases": {"smart": "anthropic:claude-x", "unused": "anthropic:y"}})");
  const std::vector<std::vector<std::string>> cases{{"--agent-models", "mock,anthropic:claude-x"},
                                                    {"--fallback-model", "anthropic:claude-x"},
                                                    {"--synth-model", "anthropic:"},
                                                    {"--config", config.path(), "-m", "smart"}};
  for (const auto& extra : cases) {
    BOOST_TEST_CONTEXT(extra.at(0) << " " << extra.at(1)) {
      std::vector<std::string> args{"ask", "x"};
      args.insert(args.end(), extra.begin(), extra.end());
      auto r = process(CONCLAVE_CLI, args, configured(mock)).wait();
      BOOST_CHECK_EQUAL(r.exit_code, 2);
      BOOST_CHECK_MESSAGE(
          r.err.find("set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL)") != std::string::npos, r.err);
      BOOST_CHECK_MESSAGE(
          r.err.find("anthropic provider, which is not configured") != std::string::npos, r.err);
    }
  }
  BOOST_CHECK_EQUAL(mock.server.stats().requests, 0u);  // refused before any call
  // An alias nobody uses may point anywhere; "mock:" references always work.
  auto o = run_json({"-n", "2", "--config", config.path(), "--agent-models", "mock:m"},
                    configured(mock));
  BOOST_CHECK((field_of_agents(o, "model_ref") == std::vector<std::string>{"mock:m", "mock:m"}));
  BOOST_CHECK(text_of(o.at("note")).find("answers the mock: references") != std::string::npos);
  // A default provider chosen without its key is refused the same way.
  auto r = process(CONCLAVE_CLI, {"ask", "x", "--provider", "anthropic"}, clean_env).wait();
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(
      r.err.find("--provider anthropic needs ANTHROPIC_API_KEY") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_flag_or_an_empty_entry_is_never_taken_for_a_model) {
  const std::vector<std::vector<std::string>> bad = {
      {"--fallback-model", "--json", "Q?"},
      {"-m", "-q", "Q?"},
      {"--agent-models", "mock:a,,mock:b", "Q?"},
      {"--agent-models", ",", "Q?"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> full{"ask"};
    full.insert(full.end(), args.begin(), args.end());
    auto r = process(CONCLAVE_CLI, full, clean_env).wait();
    BOOST_TEST_CONTEXT(args[0] << " " << args[1]) {
      BOOST_CHECK_EQUAL(r.exit_code, 2);
      BOOST_CHECK(r.out.empty());
      BOOST_CHECK(r.err.find("model") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_paused_anthropic_turn_and_its_continuation_make_one_answer) {
  // The mock pauses after half its answer and continues from there when sent the turn back.
  const auto plain = run_json({"-n", "1", "-m", "anthropic:mock"});
  const auto paused = run_json({"-n", "1", "-m", "anthropic:mock-pause"});
  const auto& agent = paused.at("agents").as_array().at(0).as_object();
  BOOST_CHECK_EQUAL(text_of(agent.at("status")), "ok");
  BOOST_CHECK_EQUAL(agent.at("turns").as_int64(), 2);
  BOOST_CHECK_EQUAL(text_of(paused.at("answer")), text_of(plain.at("answer")));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_cli_models
