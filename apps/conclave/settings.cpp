// Settings beyond the config file: times from text, header-safe values, and the checks every
// run passes before a call is made (validate).
#include "settings.hpp"

#include "providers.hpp"

#include <conclave/engine/text.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace conclave::cli {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n\v\f");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::int64_t to_milliseconds(double seconds) noexcept {
  if (!(seconds > 0)) return 0;
  if (seconds >= year_seconds) return static_cast<std::int64_t>(year_seconds * 1000);
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
  if (v > year_seconds) return INFINITY;  // 1e16 s: nobody means it; no limit is what they get
  if (v < 0.001) throw usage_error(what + " must be at least 0.001 s");
  return v;
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

void validate(ask_settings& s, bool needs_question) {
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
  if (needs_question && text::is_blank(s.question)) {
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
  const auto file_tool = std::find_if(s.tools.begin(), s.tools.end(), [](const std::string& t) {
    return t == "read_file" || t == "list_dir" || t == "write_file";
  });
  // A file tool with nothing to see, or (write_file) nowhere to write: refused before any call.
  if (s.roots.empty() && file_tool != s.tools.end()) {
    throw usage_error(*file_tool +
                      " needs at least one root directory (give it one with --root DIR)");
  }
  if (!s.roots.empty() && file_tool == s.tools.end()) {
    s.warnings.push_back(
        "--root is used only by read_file, list_dir and write_file (add --tool read_file)");
  }
  if (s.json && s.events_jsonl)
    throw usage_error("--json and --events jsonl both write stdout: pick one");
}

}  // namespace conclave::cli
