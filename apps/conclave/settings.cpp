#include "settings.hpp"

#include "providers.hpp"

#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace json = boost::json;

namespace conclave::cli {
namespace {

constexpr double year_s = 365.0 * 24 * 3600;

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n\v\f");
  return s.substr(first, last - first + 1);
}

// Reads the config's keys into `s`, each checked; `where` prefixes every message.
class config_reader {
 public:
  config_reader(const json::object& o, std::string where, ask_settings& s, std::string path)
      : o_(o), where_(std::move(where)), s_(s), dir_(std::filesystem::path(path).parent_path()) {}

  void read() {
    text("provider", s_.provider);
    text("model", s_.model);
    text("decompose_model", s_.decompose_model);
    text("synth_model", s_.synth_model);
    agent_models();
    aliases();
    text("base_url", s_.base_url);
    text("ca_file", s_.ca_file);
    text("system", s_.system);
    text("color", s_.color);
    seconds("timeout", s_.timeout_s);
    seconds("agent_timeout", s_.agent_timeout_s);
    seconds("decompose_timeout", s_.decompose_timeout_s);
    count("agents", 1, max_agents, s_.agents);
    count("concurrency", 1, max_agents, s_.concurrency);
    count("max_connections", 1, 100'000, s_.max_connections);
    if (o_.contains("max_output_tokens")) {
      int n = 0;
      count("max_output_tokens", 1, 10'000'000, n);
      s_.max_output_tokens = n;
    }
    if (const auto* t = take("temperature")) {
      if (!t->is_number() || t->to_number<double>() < 0 || t->to_number<double>() > 2) {
        fail("temperature", "a number from 0 to 2");
      }
      s_.temperature = t->to_number<double>();
    }
    flag("stream", s_.stream);
    flag("stop_at_budget", s_.budget.cancel_running);
    amount("rpm", s_.rpm);
    amount("tpm", s_.tpm);
    amount("budget_tokens", s_.budget.max_tokens);
    cost("budget_cost", s_.budget.max_cost);
    renamed("max_tokens", "budget_tokens");
    renamed("max_cost", "budget_cost");
    names("fallback_models", s_.fallback_models);
    names("tools", s_.tools, "tool names");
    names("roots", s_.roots, "directories");
    for (auto& r : s_.roots) r = beside_config(r);
    text("mcp", s_.mcp_path);
    s_.mcp_path = beside_config(s_.mcp_path);
    count("max_turns", 1, max_turns_limit, s_.max_turns);
    count("max_tool_calls", 1, max_tool_calls_limit, s_.max_tool_calls);
    seconds("tool_timeout", s_.tool_timeout_s);
    prices();
    breaker();
    for (const auto& [key, value] : o_) {
      if (!known_.count(std::string(key))) {
        s_.warnings.push_back(where_ + ": unknown key '" + text::to_valid_utf8(key) +
                              "' (ignored)");
      }
    }
  }

 private:
  const json::value* take(const char* key) {
    known_.insert(key);
    return o_.if_contains(key);
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected) {
    throw usage_error(where_ + ": '" + key + "' must be " + expected);
  }
  void text(const char* key, std::string& out) {
    if (const auto* v = take(key)) {
      if (!v->is_string()) fail(key, "a string");
      out = std::string(v->get_string());
    }
  }
  void seconds(const char* key, double& out) {
    if (const auto* v = take(key)) {
      if (v->is_string()) {
        out = parse_seconds(where_ + ": '" + key + "'", std::string(v->get_string()));
      } else if (v->is_number() && v->to_number<double>() >= 0.001) {
        out = std::min(v->to_number<double>(), year_s * 2);  // past a year: no limit
        if (out > year_s) out = INFINITY;
      } else {
        fail(key, "a number of seconds >= 0.001 (or \"inf\")");
      }
    }
  }
  void count(const char* key, int lo, int hi, int& out) {
    if (const auto* v = take(key)) {
      if (!v->is_int64() || v->get_int64() < lo || v->get_int64() > hi) {
        fail(key, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
      }
      out = static_cast<int>(v->get_int64());
    }
  }
  void amount(const char* key, std::int64_t& out) {
    if (const auto* v = take(key)) {
      if (!v->is_int64() || v->get_int64() < 0) fail(key, "a whole number >= 0");
      out = v->get_int64();
    }
  }
  void cost(const char* key, double& out) {
    if (const auto* v = take(key)) {
      if (!v->is_number() || !(v->to_number<double>() >= 0) ||
          !std::isfinite(v->to_number<double>())) {
        fail(key, "a number >= 0");
      }
      out = v->to_number<double>();
    }
  }
  void flag(const char* key, bool& out) {
    if (const auto* v = take(key)) {
      if (!v->is_bool()) fail(key, "true or false");
      out = v->get_bool();
    }
  }
  void renamed(const char* old_key, const char* new_key) {
    if (take(old_key)) {
      throw usage_error(where_ + ": '" + old_key + "' is now '" + new_key +
                        "' (the run's budget; a reply's cap is 'max_output_tokens')");
    }
  }
  void names(const char* key, std::vector<std::string>& out, const char* what = "model names") {
    if (const auto* v = take(key)) {
      const std::string expected = std::string("a list of ") + what;
      if (!v->is_array()) fail(key, expected.c_str());
      out.clear();
      for (const auto& m : v->get_array()) {
        if (!m.is_string()) fail(key, expected.c_str());
        out.emplace_back(m.get_string());
      }
    }
  }
  // A path in the config file: relative to the file's own directory, not to wherever conclave
  // happens to run.
  std::string beside_config(const std::string& path) const {
    if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
    return (dir_ / path).lexically_normal().string();
  }
  // "agent_model": one for every agent; "agent_models": a list taken in turn. Not both.
  void agent_models() {
    std::string one;
    text("agent_model", one);
    names("agent_models", s_.agent_models);
    if (!one.empty() && o_.contains("agent_models")) {
      throw usage_error(where_ + ": 'agent_model' and 'agent_models' both set: keep one");
    }
    if (!one.empty()) s_.agent_models = {one};
  }
  void aliases() {
    const auto* a = take("aliases");
    if (!a) return;
    if (!a->is_object()) fail("aliases", "an object mapping names to model references");
    for (const auto& [name, target] : a->get_object()) {
      if (!target.is_string()) {
        fail("aliases." + std::string(name), "a model reference (\"provider:model\")");
      }
      s_.aliases[std::string(name)] = std::string(target.get_string());
    }
  }
  void prices() {
    const auto* p = take("prices");
    if (!p) return;
    if (!p->is_object()) fail("prices", "an object mapping model names to prices");
    for (const auto& [name, price] : p->get_object()) {
      const std::string key = "prices." + std::string(name);
      if (!price.is_object())
        fail(key,
             "{\"input\": USD per 1M, \"output\": USD per 1M, \"cache_read\": ..., "
             "\"cache_write\": ...}");
      model_price mp;
      auto read = [&](const char* part, double& out) {
        if (const auto* v = price.get_object().if_contains(part)) {
          if (!v->is_number() || !(v->to_number<double>() >= 0))
            fail(key + "." + part, "a number >= 0");
          out = v->to_number<double>();
        }
      };
      read("input", mp.input_per_million);
      read("output", mp.output_per_million);
      double cache = 0;
      if (price.get_object().contains("cache_read")) {
        read("cache_read", cache);
        mp.cache_read_per_million = cache;
      }
      if (price.get_object().contains("cache_write")) {
        read("cache_write", cache);
        mp.cache_write_per_million = cache;
      }
      s_.budget.prices[std::string(name)] = mp;
    }
  }
  void breaker() {
    const auto* b = take("breaker");
    if (!b) return;
    if (!b->is_object()) fail("breaker", "{\"failures\": N, \"cool_off\": S}");
    if (const auto* f = b->get_object().if_contains("failures")) {
      if (!f->is_int64() || f->get_int64() < 0 || f->get_int64() > 1000) {
        fail("breaker.failures", "a whole number from 0 to 1000");
      }
      s_.breaker_failures = static_cast<int>(f->get_int64());
    }
    if (const auto* c = b->get_object().if_contains("cool_off")) {
      if (!c->is_number() || !(c->to_number<double>() > 0) || c->to_number<double>() > 86400) {
        fail("breaker.cool_off", "a number of seconds from 0 to 86400");
      }
      s_.breaker_cool_off_s = c->to_number<double>();
    }
  }

  const json::object& o_;
  std::string where_;
  ask_settings& s_;
  std::filesystem::path dir_;  // the config file's directory
  std::set<std::string> known_;
};

}  // namespace

std::int64_t to_milliseconds(double seconds) noexcept {
  if (!(seconds > 0)) return 0;
  if (seconds >= year_s) return static_cast<std::int64_t>(year_s * 1000);
  return static_cast<std::int64_t>(std::llround(seconds * 1000));
}

double parse_seconds(const std::string& what, const std::string& text) {
  const std::string t = trim(text);
  if (t == "inf" || t == "infinity" || t == "none") return INFINITY;
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc::result_out_of_range && end == t.data() + t.size()) {
    // Too large is no limit; too small (1e-400) is not a usable time at all.
    errno = 0;
    const double big = std::strtod(t.c_str(), nullptr);
    if (big == HUGE_VAL) return INFINITY;
    throw usage_error(what + " must be at least 0.001 s, got '" + text::quote(text, 40) + "'");
  }
  if (ec != std::errc{} || end != t.data() + t.size() || std::isnan(v) || v <= 0) {
    throw usage_error(what +
                      " needs a positive number of seconds (or \"inf\" for no limit), got '" +
                      text::quote(text, 40) + "'");
  }
  if (v > year_s) return INFINITY;  // 1e16 s: nobody means it; no limit is what they get
  if (v < 0.001) throw usage_error(what + " must be at least 0.001 s");
  return v;
}

void apply_config_file(const std::string& path, bool required, ask_settings& s) {
  std::ifstream in(path);
  if (!in) {
    if (required) throw usage_error("cannot read config file " + path);
    return;
  }
  std::stringstream body;
  body << in.rdbuf();
  // A stream parser says how far it got, so a syntax error can name its line and column.
  const std::string text = body.str();
  boost::system::error_code ec;
  json::stream_parser parser;
  const std::size_t used = parser.write_some(text, ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    const std::size_t line =
        1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + used, '\n'));
    const std::size_t line_start = text.rfind('\n', used == 0 ? 0 : used - 1);
    const std::size_t column = used - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    throw usage_error("config file " + path + ": " + ec.message() + " at line " +
                      std::to_string(line) + ", column " + std::to_string(column));
  }
  json::value v = parser.release();
  if (!v.is_object()) throw usage_error("config file " + path + " is not a JSON object");
  config_reader(v.get_object(), "config " + path, s, path).read();
}

std::string header_safe(const std::string& what, const std::string& value) {
  std::string out = trim(value);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x20 || c == 0x7F) {
      throw usage_error(what + " contains a control character (byte " + std::to_string(i + 1) +
                        " of " + std::to_string(out.size()) +
                        "): it cannot go into an HTTP header; check how it was set");
    }
  }
  return out;
}

void check_save_path(const std::string& path) {
  if (path.empty()) return;
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw usage_error("cannot write --save " + path + ": " + std::strerror(errno));
  std::fclose(f);
}

void validate(ask_settings& s) {
  if (!text::is_valid_utf8(s.question)) {
    throw usage_error("the question (or the context piped with it) is not valid UTF-8 text");
  }
  const std::pair<const char*, const std::string*> texts[] = {
      {"--system", &s.system},
      {"the model name (-m)", &s.model},
      {"--decompose-model", &s.decompose_model},
      {"--synth-model", &s.synth_model},
      {"the base URL", &s.base_url},
      {"--ca-file", &s.ca_file}};
  for (const auto& [what, value] : texts) {
    if (!text::is_valid_utf8(*value))
      throw usage_error(std::string(what) + " is not valid UTF-8 text");
  }
  for (const auto& m : s.fallback_models) {
    if (!text::is_valid_utf8(m)) throw usage_error("--fallback-model is not valid UTF-8 text");
  }
  for (const auto& m : s.agent_models) {
    if (!text::is_valid_utf8(m)) throw usage_error("--agent-models is not valid UTF-8 text");
  }
  // A model flag followed by another flag took it as its value ("--fallback-model --json"),
  // and an empty entry would shift every later agent's model: both are mistakes to name.
  auto model_name = [](const std::string& what, const std::string& m) {
    if (text::is_blank(m)) throw usage_error(what + " has an empty model name");
    if (m.front() == '-') {
      throw usage_error(what + " needs a model name, not '" +
                        text::for_terminal(text::quote(m, 40), false) + "' (a flag?)");
    }
  };
  for (const auto& [what, value] : {std::pair<const char*, const std::string*>{"-m", &s.model},
                                    {"--decompose-model", &s.decompose_model},
                                    {"--synth-model", &s.synth_model}}) {
    if (!value->empty()) model_name(what, *value);
  }
  for (const auto& m : s.fallback_models) model_name("--fallback-model", m);
  for (const auto& m : s.agent_models) model_name("--agent-models", m);
  for (const auto& [name, target] : s.aliases) {
    if (!text::is_valid_utf8(name) || !text::is_valid_utf8(target))
      throw usage_error("an alias (config 'aliases') is not valid UTF-8 text");
  }
  if (text::is_blank(s.question)) {
    throw usage_error("no question given (pass it as an argument, with -f FILE, or on stdin)");
  }
  for (auto& e : s.endpoints) {
    e.api_key = header_safe(e.key_env, e.api_key);
    e.base_url = header_safe(e.base_url_env, e.base_url);
  }
  s.base_url = header_safe("the base URL (--base-url / base_url)", s.base_url);
  s.model = header_safe("the model name (-m)", s.model);
  s.decompose_model = header_safe("--decompose-model", s.decompose_model);
  s.synth_model = header_safe("--synth-model", s.synth_model);
  for (auto& m : s.fallback_models) m = header_safe("--fallback-model", m);
  for (auto& m : s.agent_models) m = header_safe("--agent-models", m);
  for (auto& [name, target] : s.aliases) {
    target =
        header_safe("the alias '" + text::for_terminal(text::quote(name, 40), false) + "'", target);
  }
  if (!s.provider.empty() && !find_provider(s.provider)) {
    throw usage_error("unknown provider '" +
                      text::for_terminal(text::quote(s.provider, 40), false) + "' (" +
                      provider_names() + ")");
  }
  if (s.color != "auto" && s.color != "always" && s.color != "never") {
    throw usage_error("color must be auto, always or never");
  }
  if (s.budget.max_cost > 0 && s.budget.prices.empty()) {
    throw usage_error("--budget-cost needs a price table: \"prices\" in the config file");
  }
  const bool file_tool = std::find_if(s.tools.begin(), s.tools.end(), [](const std::string& t) {
                           return t == "read_file" || t == "list_dir";
                         }) != s.tools.end();
  if (!s.roots.empty() && !file_tool) {
    s.warnings.push_back("--root is used only by read_file and list_dir (add --tool read_file)");
  }
  if (s.json && s.events_jsonl)
    throw usage_error("--json and --events jsonl both write stdout: pick one");
}

}  // namespace conclave::cli
