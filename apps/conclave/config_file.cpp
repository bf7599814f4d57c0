// The JSON config file (--config, $CONCLAVE_CONFIG, ~/.config/conclave/config.json) read into
// settings: every key checked, paths taken relative to the file, unknown keys warned about.
#include "providers.hpp"
#include "settings.hpp"

#include <conclave/engine/text.hpp>

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace json = boost::json;

namespace conclave::cli {
namespace {

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
    count("max_agents", 1, max_dynamic_agents, s_.max_agents);
    text("combine", s_.combine);
    if (!combine_mode_from(s_.combine)) fail("combine", "synthesize, vote or select");
    flag("verify", s_.verify);
    count("verify_rounds", 1, 3, s_.verify_rounds);
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
    log();
    journal();
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
        out = std::min(v->to_number<double>(), year_seconds * 2);  // past a year: no limit
        if (out > year_seconds) out = INFINITY;
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
      auto read = [&](const char* part) -> std::optional<double> {
        const auto* v = price.get_object().if_contains(part);
        if (!v) return std::nullopt;
        if (!v->is_number() || !(v->to_number<double>() >= 0))
          fail(key + "." + part, "a number >= 0");
        return v->to_number<double>();
      };
      mp.input_per_million = read("input").value_or(0);
      mp.output_per_million = read("output").value_or(0);
      mp.cache_read_per_million = read("cache_read");
      mp.cache_write_per_million = read("cache_write");
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

  // "log": a file for the attempt log (beside the config when relative), or false: none.
  void log() {
    const auto* l = take("log");
    if (!l) return;
    if (l->is_bool()) {
      s_.log = l->get_bool();
    } else if (l->is_string() && !l->get_string().empty()) {
      s_.log_path = beside_config(std::string(l->get_string()));
    } else {
      fail("log", "a file path, or false");
    }
  }

  // "journal": the run journal's file (beside the config when relative), or false: none.
  void journal() {
    const auto* j = take("journal");
    if (!j) return;
    if (j->is_bool()) {
      s_.journal = j->get_bool();
    } else if (j->is_string() && !j->get_string().empty()) {
      s_.journal_path = beside_config(std::string(j->get_string()));
    } else {
      fail("journal", "a file path, or false");
    }
  }

  const json::object& o_;
  std::string where_;
  ask_settings& s_;
  std::filesystem::path dir_;  // the config file's directory
  std::set<std::string> known_;
};

}  // namespace

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

}  // namespace conclave::cli
