#include "settings.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace json = boost::json;

namespace conclave::cli {

const char* const ask_usage = R"(usage: conclave ask "question" [options]
Heavy mode: one call splits the question into N sub-questions, N agents answer them in
parallel, and one call merges their decisions into the answer.
  --agents N               sub-questions / agents (default 4; 1 asks the question directly)
  --concurrency N          agents calling the model at once; the rest queue (default 16)
  --provider openai|mock   which API (default: openai when OPENAI_API_KEY is set, else mock)
  --model M                model name (default: the provider's)
  --base-url URL           endpoint (default: OPENAI_BASE_URL, else the provider's)
  --timeout S              seconds for the whole run (default 300)
  --json                   print the run report as one JSON object
  --events jsonl           print every event as a JSON line on stdout
  --no-stream              agents wait for whole replies instead of streaming
  --ca-file F              trust this CA (PEM) for https endpoints
  --fallback-model M       when the model fails for good, agents move to M (repeatable;
                           tried in order)
  --rpm N, --tpm N         the provider's requests / tokens per minute: never exceeded
                           (without them, limits are learnt from 429s and x-ratelimit-*)
  --max-tokens N           the run's token budget: once spent, no new call starts
  --max-cost X             the run's cost budget (needs "prices" in the config file)
  --stop-at-budget         when a budget is spent, stop running agents too
  --config F               JSON defaults: {"provider", "model", "base_url", "timeout",
                           "agents", "concurrency", "fallback_models": [...], "rpm",
                           "tpm", "max_tokens", "max_cost", "stop_at_budget",
                           "prices": {"MODEL": {"input": USD_PER_1M, "output": USD_PER_1M}},
                           "breaker": {"failures": 5, "cool_off": 30}}
Environment: OPENAI_API_KEY, OPENAI_BASE_URL, CONCLAVE_CONFIG.
Exit status: 0 answered, 1 failed, 2 usage error, 130 interrupted (Ctrl-C).
)";

namespace {

constexpr int max_agents = 10'000;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

int to_count(const std::string& flag, const std::string& text, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 1 || v > max) {
    throw usage_error(flag + " needs a whole number from 1 to " + std::to_string(max) + ", got '" +
                      text + "'");
  }
  return v;
}

// A number > 0 of type T, the whole of `text`; `what` says what was expected.
template <typename T>
T to_positive(const std::string& flag, const std::string& text, const char* what) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !(v > 0)) {
    throw usage_error(flag + " needs " + what + ", got '" + text + "'");
  }
  return v;
}

std::int64_t to_amount(const std::string& flag, const std::string& text) {
  return to_positive<std::int64_t>(flag, text, "a positive whole number");
}

double to_seconds(const std::string& flag, const std::string& text) {
  return to_positive<double>(flag, text, "a positive number of seconds");
}

void apply_config_file(const std::string& path, bool required, ask_settings& s) {
  std::ifstream in(path);
  if (!in) {
    if (required) throw usage_error("cannot read config file " + path);
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) throw usage_error("config file " + path + " is not a JSON object");
  const auto& o = v.get_object();
  auto str = [&](const char* key, std::string& out) {
    if (auto* f = o.if_contains(key)) {
      if (!f->is_string()) throw usage_error(std::string("config '") + key + "' must be a string");
      out = std::string(f->get_string());
    }
  };
  str("provider", s.provider);
  str("model", s.model);
  str("base_url", s.base_url);
  str("ca_file", s.ca_file);
  auto count = [&](const char* key, int max, int& out) {
    if (auto* f = o.if_contains(key)) {
      if (!f->is_int64() || f->get_int64() < 1 || f->get_int64() > max) {
        throw usage_error(std::string("config '") + key + "' must be a whole number from 1 to " +
                          std::to_string(max));
      }
      out = static_cast<int>(f->get_int64());
    }
  };
  count("agents", max_agents, s.agents);
  count("concurrency", max_agents, s.concurrency);
  auto amount = [&](const char* key, std::int64_t& out) {
    if (auto* f = o.if_contains(key)) {
      if (!f->is_int64() || f->get_int64() < 0) {
        throw usage_error(std::string("config '") + key + "' must be a whole number >= 0");
      }
      out = f->get_int64();
    }
  };
  amount("rpm", s.rpm);
  amount("tpm", s.tpm);
  amount("max_tokens", s.budget.max_tokens);
  auto positive = [&](const json::value& number, const std::string& key) {
    if (!number.is_number() || number.to_number<double>() < 0) {
      throw usage_error("config '" + key + "' must be a number >= 0");
    }
    return number.to_number<double>();
  };
  if (auto* c = o.if_contains("max_cost")) s.budget.max_cost = positive(*c, "max_cost");
  if (auto* b = o.if_contains("stop_at_budget")) {
    if (!b->is_bool()) throw usage_error("config 'stop_at_budget' must be true or false");
    s.budget.cancel_running = b->get_bool();
  }
  if (auto* f = o.if_contains("fallback_models")) {
    if (!f->is_array()) throw usage_error("config 'fallback_models' must be a list of names");
    s.fallback_models.clear();
    for (const auto& m : f->get_array()) {
      if (!m.is_string()) throw usage_error("config 'fallback_models' must be a list of names");
      s.fallback_models.emplace_back(m.get_string());
    }
  }
  if (auto* p = o.if_contains("prices")) {
    if (!p->is_object()) throw usage_error("config 'prices' must map model names to prices");
    for (const auto& [name, price] : p->get_object()) {
      const std::string where = "prices." + std::string(name);
      if (!price.is_object()) throw usage_error("config '" + where + "' must be {\"input\", \"output\"}");
      model_price mp;
      if (auto* input = price.get_object().if_contains("input")) mp.input_per_million = positive(*input, where + ".input");
      if (auto* out = price.get_object().if_contains("output")) mp.output_per_million = positive(*out, where + ".output");
      s.budget.prices[std::string(name)] = mp;
    }
  }
  if (auto* b = o.if_contains("breaker")) {
    if (!b->is_object()) throw usage_error("config 'breaker' must be {\"failures\", \"cool_off\"}");
    if (auto* f = b->get_object().if_contains("failures")) {
      if (!f->is_int64() || f->get_int64() < 0 || f->get_int64() > 1000) {
        throw usage_error("config 'breaker.failures' must be a whole number from 0 to 1000");
      }
      s.breaker_failures = static_cast<int>(f->get_int64());
    }
    if (auto* c = b->get_object().if_contains("cool_off")) s.breaker_cool_off_s = positive(*c, "breaker.cool_off");
  }
  if (auto* t = o.if_contains("timeout")) {
    if (!t->is_number() || t->to_number<double>() <= 0) {
      throw usage_error("config 'timeout' must be a positive number of seconds");
    }
    s.timeout_s = t->to_number<double>();
  }
}

}  // namespace

ask_settings parse_ask(const std::vector<std::string>& args) {
  // First pass: find --config, so the file's defaults sit under the flags.
  std::string config = env("CONCLAVE_CONFIG");
  bool config_required = !config.empty();
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") {
      config = args[i + 1];
      config_required = true;
    }
  }
  ask_settings s;
  if (config.empty() && !env("HOME").empty()) config = env("HOME") + "/.config/conclave/config.json";
  if (!config.empty()) apply_config_file(config, config_required, s);

  s.api_key = env("OPENAI_API_KEY");
  if (s.base_url.empty()) s.base_url = env("OPENAI_BASE_URL");

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--provider") s.provider = value();
    else if (a == "--model") s.model = value();
    else if (a == "--base-url") s.base_url = value();
    else if (a == "--timeout") s.timeout_s = to_seconds(a, value());
    else if (a == "--ca-file") s.ca_file = value();
    else if (a == "--agents") s.agents = to_count(a, value(), max_agents);
    else if (a == "--concurrency") s.concurrency = to_count(a, value(), max_agents);
    else if (a == "--events") {
      if (value() != "jsonl") throw usage_error("--events takes 'jsonl'");
      s.events_jsonl = true;
    }
    else if (a == "--config") value();  // handled above
    else if (a == "--fallback-model") s.fallback_models.push_back(value());
    else if (a == "--rpm") s.rpm = to_amount(a, value());
    else if (a == "--tpm") s.tpm = to_amount(a, value());
    else if (a == "--max-tokens") s.budget.max_tokens = to_amount(a, value());
    else if (a == "--max-cost") s.budget.max_cost = to_positive<double>(a, value(), "a positive number");
    else if (a == "--stop-at-budget") s.budget.cancel_running = true;
    else if (a == "--json") s.json = true;
    else if (a == "--no-stream") s.stream = false;
    else if (a.starts_with("--")) throw usage_error("unknown option " + a);
    else if (s.question.empty()) s.question = a;
    else throw usage_error("one question only (quote it): unexpected '" + a + "'");
  }
  if (s.question.empty()) throw usage_error("no question given");
  if (s.budget.max_cost > 0 && s.budget.prices.empty()) {
    throw usage_error("--max-cost needs a price table: \"prices\" in the config file");
  }
  if (!s.provider.empty() && s.provider != "openai" && s.provider != "mock") {
    throw usage_error("unknown provider '" + s.provider + "' (openai or mock)");
  }
  return s;
}

}  // namespace conclave::cli
