#include <conclave/engine/agent_machine.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <utility>

namespace json = boost::json;

namespace conclave {
namespace {

// The `required` list of a parameters schema (strings only; anything else is ignored).
std::vector<std::string> required_of(const std::string& parameters) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const json::value v = json::parse(parameters, ec);
  if (ec || !v.is_object()) return out;
  const auto* required = v.get_object().if_contains("required");
  if (!required || !required->is_array()) return out;
  for (const auto& r : required->get_array()) {
    if (r.is_string()) out.emplace_back(r.get_string());
  }
  return out;
}

json::value sorted(const json::value& v) {
  if (const auto* o = v.if_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> items;
    for (const auto& kv : *o) items.emplace_back(kv.key(), &kv.value());
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    json::object out;
    for (const auto& [k, item] : items) out[k] = sorted(*item);
    return out;
  }
  if (const auto* a = v.if_array()) {
    json::array out;
    for (const auto& item : *a) out.push_back(sorted(item));
    return out;
  }
  return v;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

const char* to_string(agent_end e) noexcept {
  switch (e) {
    case agent_end::answered:
      return "answered";
    case agent_end::max_turns:
      return "max_turns";
    case agent_end::max_tool_calls:
      return "max_tool_calls";
    case agent_end::stalled:
      return "stalled";
    case agent_end::too_long:
      return "too_long";
  }
  return "answered";
}

agent_machine::agent_machine(agent_limits limits, const std::vector<tool_spec>& offered,
                             std::vector<chat_message> start)
    : limits_(limits), conversation_(std::move(start)) {
  limits_.max_turns = std::max(1, limits_.max_turns);
  limits_.stall_repeats = std::max(2, limits_.stall_repeats);
  for (const auto& t : offered) {
    names_.push_back(t.name);
    required_.push_back(required_of(t.parameters));
  }
}

agent_step agent_machine::begin() {
  turns_ = 1;
  forced_ = limits_.max_turns <= 1;  // one turn: it must answer
  if (forced_) {
    limit_ = agent_end::max_turns;
    limit_why_ = "turn limit (1): the only turn answered without tools";
  }
  return {.what = agent_step::kind::call_model, .turn = 1, .tools_allowed = !forced_};
}

agent_step agent_machine::stop(agent_end end, std::string why, std::string answer) const {
  return {.what = agent_step::kind::done,
          .turn = turns_,
          .end = end,
          .why = std::move(why),
          .answer = std::move(answer)};
}

std::size_t agent_machine::conversation_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& m : conversation_) n += m.size();
  return n;
}

std::string agent_machine::canonical_arguments(const std::string& arguments) {
  boost::system::error_code ec;
  const json::value v = json::parse(arguments, ec);
  if (ec) return arguments;
  return json::serialize(sorted(v));
}

std::string agent_machine::cap_result(std::string result, std::size_t limit) {
  if (result.size() <= limit) return result;
  // The marker fits inside the limit, so a capped result is never capped again.
  const std::string was = std::to_string(result.size());
  const std::size_t room = 32 + was.size() * 2;
  const std::size_t keep = limit > room ? limit - room : 0;
  result.resize(text::utf8_prefix(result, keep).size());
  result += "\n[cut: " + std::to_string(result.size()) + " of " + was + " bytes]";
  return result;
}

planned_call agent_machine::plan(tool_call call) const {
  planned_call p;
  const auto at = std::find(names_.begin(), names_.end(), call.name);
  if (at == names_.end()) {
    p.refusal = "unknown tool '" + text::quote(call.name, 64) +
                "'; the tools are: " + (names_.empty() ? std::string("none") : joined(names_));
    p.call = std::move(call);
    return p;
  }
  p.tool = static_cast<std::size_t>(at - names_.begin());
  boost::system::error_code ec;
  const json::value args = json::parse(call.arguments, ec);
  if (ec || !args.is_object()) {
    p.refusal = "the arguments are not a JSON object: " + text::quote(call.arguments, 200);
  } else {
    std::vector<std::string> missing;
    for (const auto& field : required_[p.tool]) {
      if (!args.get_object().contains(field)) missing.push_back(field);
    }
    if (!missing.empty()) p.refusal = "missing required argument(s): " + joined(missing);
  }
  p.call = std::move(call);
  return p;
}

agent_step agent_machine::on_reply(chat_message assistant, bool cut) {
  int n = 0;
  for (auto& part : assistant.parts) {
    auto* call = std::get_if<tool_call>(&part);
    if (!call) continue;
    ++n;
    if (call->id.empty()) call->id = "call_" + std::to_string(turns_) + "_" + std::to_string(n);
  }
  std::vector<tool_call> calls = assistant.tool_calls();
  // A paused turn's words begin the answer its continuation ends; a tool turn drops them as
  // it drops any tool turn's words.
  std::string words = std::exchange(continued_, {}) + assistant.text();
  conversation_.push_back(std::move(assistant));
  if (forced_ && turns_ == 1 && calls.empty()) {
    // One turn, answered: no limit hit.
    return {.what = agent_step::kind::done, .turn = turns_, .answer = std::move(words)};
  }
  if (forced_) {
    // The turn that had to answer: its words are the answer (a model that still asked for
    // tools leaves what it said over all its turns).
    const bool answered = calls.empty() && !text::is_blank(words);
    return stop(limit_, limit_why_ + (calls.empty() ? "" : "; the model still asked for tools"),
                answered ? std::move(words) : said());
  }
  if (calls.empty()) {
    return {.what = agent_step::kind::done, .turn = turns_, .answer = std::move(words)};
  }

  agent_step run{.what = agent_step::kind::run_tools, .turn = turns_};
  const int room = std::max(0, limits_.max_tool_calls - tool_calls_);
  for (auto& call : calls) {
    std::string signature = call.name + '\n' + canonical_arguments(call.arguments);
    repeats_ = signature == last_signature_ ? repeats_ + 1 : 1;
    last_signature_ = std::move(signature);
    if (repeats_ >= limits_.stall_repeats) {
      return stop(agent_end::stalled,
                  "stalled: the same call to " + call.name + " " + std::to_string(repeats_) +
                      " times in a row",
                  said());
    }
    planned_call p = plan(std::move(call));
    if (cut && p.refusal.empty()) {
      p.refusal =
          "your reply was cut by the output token limit, so these arguments may be incomplete; "
          "call again with shorter arguments";
    }
    if (static_cast<int>(run.calls.size()) >= room) {
      p.refusal = "tool call limit (" + std::to_string(limits_.max_tool_calls) +
                  ") reached: answer with what you have";
      limit_ = agent_end::max_tool_calls;
      limit_why_ = "tool call limit (" + std::to_string(limits_.max_tool_calls) +
                   ") reached: the next turn answered without tools";
    }
    run.calls.push_back(std::move(p));
  }
  tool_calls_ += std::min(room, static_cast<int>(run.calls.size()));
  return run;
}

agent_step agent_machine::on_paused(chat_message assistant) {
  continued_ += assistant.text();
  conversation_.push_back(std::move(assistant));
  return next_turn();
}

agent_step agent_machine::on_results(std::vector<tool_result> results) {
  for (auto& r : results) {
    r.content = cap_result(std::move(r.content), limits_.max_tool_result_bytes);
    conversation_.push_back(chat_message::from_result(std::move(r)));
  }
  if (conversation_bytes() > limits_.max_conversation_bytes) {
    return stop(
        agent_end::too_long,
        "the conversation passed " + std::to_string(limits_.max_conversation_bytes) + " bytes",
        said());
  }
  return next_turn();
}

agent_step agent_machine::next_turn() {
  ++turns_;
  if (turns_ >= limits_.max_turns && limit_ == agent_end::answered) {
    limit_ = agent_end::max_turns;
    limit_why_ = "turn limit (" + std::to_string(limits_.max_turns) +
                 ") reached: the last turn answered without tools";
  }
  forced_ = limit_ != agent_end::answered;
  return {.what = agent_step::kind::call_model, .turn = turns_, .tools_allowed = !forced_};
}

std::string agent_machine::said() const {
  std::string out;
  for (const auto& m : conversation_) {
    if (m.who != role::assistant) continue;
    std::string words = m.text();
    if (text::is_blank(words)) continue;
    if (!out.empty()) out += "\n\n";
    out += words;
  }
  return out;
}

}  // namespace conclave
