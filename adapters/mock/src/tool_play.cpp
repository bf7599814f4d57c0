// The mock's tool-use rule: call tools for R rounds, then answer with text quoting the
// results. Deterministic: the same conversation gets the same calls.
#include <conclave/engine/text.hpp>
#include <conclave/mock/tool_play.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

namespace conclave::mock {
namespace {

constexpr std::string_view tools_prefix = "mock-tools";
constexpr std::string_view think_prefix = "mock-think";

std::uint64_t mix(std::string_view s, std::uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The last user message's position: rounds and results are counted after it.
std::size_t after_last_user(const incoming_request& req) {
  for (std::size_t i = req.messages.size(); i > 0; --i) {
    if (req.messages[i - 1].who == role::user) return i;
  }
  return 0;
}

// Tool calls anywhere in the conversation: new ids continue the count, so they stay unique.
std::size_t calls_so_far(const incoming_request& req) {
  std::size_t n = 0;
  for (const auto& m : req.messages) {
    for (const auto& p : m.parts) n += std::holds_alternative<tool_call>(p);
  }
  return n;
}

std::string unoffered_name(const incoming_request& req) {
  std::string name = "no_such_tool";
  auto offered = [&](const std::string& n) {
    return std::any_of(req.tools.begin(), req.tools.end(),
                       [&](const tool_spec& t) { return t.name == n; });
  };
  while (offered(name)) name += "_x";
  return name;
}

// One line of a tool's result: control characters as spaces, cut on a character boundary.
std::string quoted_result(std::string_view content) {
  std::string out(text::utf8_prefix(content, result_quote_bytes));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (out.size() < content.size()) out += "...";
  return out;
}

}  // namespace

std::optional<tool_mode> tool_mode_from_model(std::string_view model, std::string& why) {
  tool_mode mode;
  const std::string named = "model '" + text::quote(model, 80) + "'";
  std::string_view rest;
  if (model.starts_with(think_prefix)) {
    // "mock-think" alone, or "mock-think" before a "-tools..." mode.
    rest = model.substr(think_prefix.size());
    if (rest.empty()) return mode;
    if (!rest.starts_with("-tools")) {
      why = named + ": expected mock-think or mock-think-tools[-N][-option]...";
      return std::nullopt;
    }
    rest.remove_prefix(6);
  } else if (model.starts_with(tools_prefix)) {
    rest = model.substr(tools_prefix.size());
  } else {
    return mode;
  }
  // Longest first: "endless-varied" before "endless".
  constexpr std::array<std::string_view, 7> options = {
      "endless-varied", "endless", "malformed", "unknown", "noindex", "late-name", "finish-stop"};
  while (!rest.empty()) {
    if (rest.front() != '-') {
      why = named + ": expected '-' before '" + text::quote(rest, 40) + "'";
      return std::nullopt;
    }
    rest.remove_prefix(1);
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits > 0 && (digits == rest.size() || rest[digits] == '-')) {
      int n = max_tool_rounds + 1;
      std::from_chars(rest.data(), rest.data() + std::min<std::size_t>(digits, 4), n);
      if (digits > 4 || n > max_tool_rounds) {
        why = named + ": at most " + std::to_string(max_tool_rounds) + " tool rounds";
        return std::nullopt;
      }
      mode.rounds = n;
      rest.remove_prefix(digits);
      continue;
    }
    const auto it = std::find_if(options.begin(), options.end(), [&](std::string_view o) {
      return rest.starts_with(o) && (rest.size() == o.size() || rest[o.size()] == '-');
    });
    if (it == options.end()) {
      why = named + ": unknown tool mode '" + text::quote(rest.substr(0, rest.find('-')), 40) +
            "' (known: N, endless, endless-varied, malformed, unknown, noindex, late-name, "
            "finish-stop)";
      return std::nullopt;
    }
    const std::string_view o = *it;
    if (o == "endless-varied") mode.endless = mode.varied = true;
    if (o == "endless") mode.endless = true;
    if (o == "malformed") mode.malformed = true;
    if (o == "unknown") mode.unknown = true;
    if (o == "noindex") mode.no_index = true;
    if (o == "late-name") mode.late_name = true;
    if (o == "finish-stop") mode.finish_stop = true;
    rest.remove_prefix(o.size());
  }
  return mode;
}

int tool_rounds(const incoming_request& req) {
  int rounds = 0;
  for (std::size_t i = after_last_user(req); i < req.messages.size(); ++i) {
    const auto& m = req.messages[i];
    if (m.who == role::assistant && m.has_tool_calls()) ++rounds;
  }
  return rounds;
}

std::optional<tool_turn> play_tools(const incoming_request& req, const tool_mode& mode) {
  if (req.tools.empty() || req.choice.how == tool_choice::mode::none) return std::nullopt;
  const int round = tool_rounds(req);
  const bool required = req.choice.how != tool_choice::mode::automatic;
  const int limit = required ? std::max(mode.rounds, 1) : mode.rounds;
  if (!mode.endless && round >= limit) return std::nullopt;

  // Which tools: the named one; else by the subject's hash (and the round's, so rounds differ;
  // not in endless modes, which repeat the same tool), two in a row when parallel calls are
  // allowed and two or more tools are offered.
  std::vector<const tool_spec*> picked;
  if (req.choice.how == tool_choice::mode::named) {
    for (const auto& t : req.tools) {
      if (t.name == req.choice.name) picked.push_back(&t);
    }
  } else {
    const std::uint64_t h = mix(mode.endless ? "" : std::to_string(round), mix(subject_of(req)));
    const std::size_t first = h % req.tools.size();
    picked.push_back(&req.tools[first]);
    if (req.parallel_tool_calls.value_or(true) && req.tools.size() >= 2) {
      picked.push_back(&req.tools[(first + 1) % req.tools.size()]);
    }
  }

  tool_turn turn;
  if (mode.finish_stop) turn.finish_reason = "stop";
  std::size_t next_id = calls_so_far(req);
  for (const tool_spec* t : picked) {
    tool_call call{"call_" + std::to_string(++next_id), t->name,
                   fill_arguments(t->parameters, mode.varied ? round : 0)};
    if (mode.unknown) {
      call.name = unoffered_name(req);
      call.arguments = "{}";
    }
    // Cut before the closing brace: `{"a":2,"b":3` (and `{` for no arguments).
    if (mode.malformed) call.arguments.pop_back();
    turn.calls.push_back(std::move(call));
  }
  return turn;
}

std::string with_tool_results(const incoming_request& req, std::string text) {
  // The last round: the tool messages after the last assistant turn that called tools.
  std::size_t round_at = req.messages.size();
  for (std::size_t i = req.messages.size(); i > after_last_user(req); --i) {
    if (req.messages[i - 1].who == role::assistant && req.messages[i - 1].has_tool_calls()) {
      round_at = i - 1;
      break;
    }
  }
  if (round_at == req.messages.size()) return text;
  const auto calls = req.messages[round_at].tool_calls();
  for (std::size_t i = round_at + 1; i < req.messages.size(); ++i) {
    for (const auto& p : req.messages[i].parts) {
      const auto* r = std::get_if<tool_result>(&p);
      if (!r) continue;
      std::string name = r->call_id;  // a result for a call we did not make: its id
      for (const auto& c : calls) {
        if (c.id == r->call_id) name = c.name;
      }
      std::string quote = quoted_result(r->content);
      if (quote.empty() || quote.back() != '.') quote += '.';
      if (!text.empty()) text += ' ';
      text += "Tool " + name + " said: " + quote;
    }
  }
  return text;
}

}  // namespace conclave::mock
