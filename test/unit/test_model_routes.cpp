// Model references to providers, with no model attached: prefixes, Ollama-style names,
// aliases and their chains, and the tables refused at construction.
#include <conclave/engine/model_routes.hpp>

#include <boost/test/unit_test.hpp>

#include <stdexcept>

namespace unit_test_model_routes {  // file-local names stay apart in unity batches

using conclave::alias_table;
using conclave::model_route;
using conclave::model_routes;

namespace {

model_routes two(alias_table aliases = {}) {
  return model_routes({"openai", "anthropic"}, "openai", std::move(aliases));
}

// The construction fails with std::invalid_argument whose message holds `says`.
void refused(const std::function<void()>& build, const std::string& says) {
  try {
    build();
    BOOST_ERROR("not refused; expected: " << says);
  } catch (const std::invalid_argument& e) {
    BOOST_CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, e.what());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_routes_logic)

BOOST_AUTO_TEST_CASE(a_known_provider_prefix_is_split_off_at_the_first_colon) {
  const auto r = two();
  BOOST_CHECK(
      (r.resolve("anthropic:claude-sonnet-4-5") == model_route{"anthropic", "claude-sonnet-4-5"}));
  BOOST_CHECK((r.resolve("openai:gpt-4o") == model_route{"openai", "gpt-4o"}));
  BOOST_CHECK((r.resolve("openai:llama3:8b") == model_route{"openai", "llama3:8b"}));
  BOOST_CHECK((r.resolve("anthropic:") == model_route{"anthropic", ""}));  // its default
  BOOST_CHECK_EQUAL(r.describe("anthropic:claude-x"), "anthropic:claude-x");
  BOOST_CHECK_EQUAL(r.describe("anthropic:"), "anthropic");
}

BOOST_AUTO_TEST_CASE(bare_names_and_none_go_to_the_default_provider) {
  const auto r = two();
  BOOST_CHECK((r.resolve("gpt-4o-mini") == model_route{"openai", "gpt-4o-mini"}));
  BOOST_CHECK((r.resolve("") == model_route{"openai", ""}));
  BOOST_CHECK_EQUAL(r.describe(""), "openai");
  const model_routes other({"openai", "anthropic"}, "anthropic");
  BOOST_CHECK((other.resolve("claude-x") == model_route{"anthropic", "claude-x"}));
}

BOOST_AUTO_TEST_CASE(ollama_names_and_unknown_prefixes_are_bare_names) {
  const auto r = two();
  for (const char* name : {"llama3:8b", "qwen2.5:7b", "mistral:large", "deepseek-r1:70b-q4_0",
                           ":leading", "openai-compatible:x"}) {
    BOOST_TEST_CONTEXT(name) { BOOST_CHECK((r.resolve(name) == model_route{"openai", name})); }
  }
}

BOOST_AUTO_TEST_CASE(aliases_resolve_through_chains) {
  const auto r = two({{"planner", "anthropic:claude-sonnet-4-5"},
                      {"smart", "planner"},
                      {"cheap", "gpt-4o-mini"},
                      {"local", "openai:llama3:8b"},
                      {"openai:old", "openai:gpt-4o"}});
  BOOST_CHECK((r.resolve("planner") == model_route{"anthropic", "claude-sonnet-4-5"}));
  BOOST_CHECK((r.resolve("smart") == model_route{"anthropic", "claude-sonnet-4-5"}));
  BOOST_CHECK((r.resolve("cheap") == model_route{"openai", "gpt-4o-mini"}));
  BOOST_CHECK((r.resolve("local") == model_route{"openai", "llama3:8b"}));
  BOOST_CHECK((r.resolve("openai:old") == model_route{"openai", "gpt-4o"}));  // exact name first
  BOOST_CHECK_EQUAL(r.describe("smart"), "anthropic:claude-sonnet-4-5");
  // A qualified reference is not looked up as an alias of its bare part.
  BOOST_CHECK((r.resolve("anthropic:planner") == model_route{"anthropic", "planner"}));
  BOOST_CHECK_EQUAL(r.aliases().size(), 5u);
}

BOOST_AUTO_TEST_CASE(a_chain_as_deep_as_allowed_resolves_and_a_deeper_one_is_refused) {
  static_assert(model_routes::max_alias_depth == 4);
  const auto ok = two({{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "anthropic:end"}});
  BOOST_CHECK((ok.resolve("a") == model_route{"anthropic", "end"}));
  refused(
      [] {
        two({{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"e", "x"}});
      },
      "alias 'a' goes through more than 4 aliases");
}

BOOST_AUTO_TEST_CASE(cycles_are_refused_naming_the_path) {
  refused([] { two({{"a", "b"}, {"b", "a"}}); }, "alias cycle a -> b -> a");
  refused([] { two({{"self", "self"}}); }, "alias cycle self -> self");
  refused([] { two({{"x", "y"}, {"y", "z"}, {"z", "y"}}); }, "alias cycle x -> y -> z -> y");
}

BOOST_AUTO_TEST_CASE(bad_alias_targets_are_refused_naming_them) {
  refused(
      [] {
        two({{"big", "mistral:large"}});
      },
      "alias 'big' names provider 'mistral', which is not one of openai, anthropic");
  refused([] { two({{"big", "mistral:large"}}); }, "'openai:mistral:large'");  // the way out
  refused([] { two({{"big", "mid"}, {"mid", "nope:x"}}); }, "alias 'mid' names provider 'nope'");
  refused([] { two({{"empty", ""}}); }, "alias 'empty' has no target");
  refused([] { two({{"", "gpt-4o"}}); }, "an alias has an empty name");
}

BOOST_AUTO_TEST_CASE(bad_provider_tables_are_refused) {
  refused([] { model_routes({}, "openai"); }, "no providers");
  refused(
      [] {
        model_routes({"openai", "openai"}, "openai");
      },
      "provider 'openai' is listed twice");
  refused([] { model_routes({"openai"}, "anthropic"); },
          "the default provider 'anthropic' is not one of openai");
  refused([] { model_routes({"a:b"}, "a:b"); }, "must be non-empty and hold no ':'");
  refused([] { model_routes({""}, ""); }, "must be non-empty");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_model_routes
