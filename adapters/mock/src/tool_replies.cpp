#include "tool_replies.hpp"

#include "openai_replies.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave::mock::replies {
namespace {

constexpr std::int64_t created_at = 1'750'000'000;  // as openai_replies.cpp: deterministic

std::string chunk(std::string_view id, std::string_view model, json::object delta,
                  std::string_view finish_reason) {
  json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
  if (finish_reason.empty()) {
    choice["finish_reason"] = nullptr;
  } else {
    choice["finish_reason"] = finish_reason;
  }
  json::object body{{"id", id},
                    {"object", "chat.completion.chunk"},
                    {"created", created_at},
                    {"model", model},
                    {"system_fingerprint", "fp_conclave_mock"},
                    {"choices", json::array{std::move(choice)}}};
  return "data: " + json::serialize(body) + "\n\n";
}

// A delta carrying one fragment of one call.
json::object fragment(json::object call) {
  return json::object{{"tool_calls", json::array{std::move(call)}}};
}

}  // namespace

std::string tool_completion(std::string_view id, std::string_view model,
                            const std::vector<tool_call>& calls, const usage& u,
                            std::string_view finish_reason) {
  json::array tool_calls;
  for (const auto& c : calls) {
    tool_calls.push_back(
        json::object{{"id", c.id},
                     {"type", "function"},
                     {"function", json::object{{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return completion_of(id, model,
                       {{"role", "assistant"},
                        {"content", nullptr},
                        {"tool_calls", std::move(tool_calls)},
                        {"refusal", nullptr}},
                       u, finish_reason);
}

std::vector<std::string_view> split_in_three(std::string_view s) {
  auto boundary = [&](std::size_t at) {
    // Forward past UTF-8 continuation bytes (10xxxxxx).
    while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
    return at;
  };
  const std::size_t a = boundary(s.size() / 3);
  const std::size_t b = std::max(a, boundary(2 * s.size() / 3));
  std::vector<std::string_view> out;
  for (auto piece : {s.substr(0, a), s.substr(a, b - a), s.substr(b)}) {
    if (!piece.empty()) out.push_back(piece);
  }
  return out;
}

std::vector<std::string> tool_chunk_events(std::string_view id, std::string_view model,
                                           const std::vector<tool_call>& calls,
                                           tool_stream_style style,
                                           std::string_view finish_reason) {
  std::vector<std::string> events;
  // OpenAI opens a tool turn with the role and a null content.
  events.push_back(chunk(id, model, json::object{{"role", "assistant"}, {"content", nullptr}}, ""));
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto& c = calls[i];
    // `index` first, where OpenAI puts it.
    auto numbered = [&](json::object o) {
      json::object out;
      if (style.with_index) out["index"] = static_cast<std::int64_t>(i);
      for (auto& field : o) out[field.key()] = std::move(field.value());
      return out;
    };
    json::object function{{"arguments", ""}};
    if (!style.late_name) function["name"] = c.name;
    events.push_back(chunk(
        id, model,
        fragment(numbered({{"id", c.id}, {"type", "function"}, {"function", std::move(function)}})),
        ""));
    auto pieces = split_in_three(c.arguments);
    if (pieces.empty() && style.late_name) pieces.push_back("");  // the name still needs a ride
    for (std::size_t p = 0; p < pieces.size(); ++p) {
      json::object more{{"arguments", pieces[p]}};
      if (p == 0 && style.late_name) more["name"] = c.name;
      events.push_back(chunk(id, model, fragment(numbered({{"function", std::move(more)}})), ""));
    }
  }
  events.push_back(chunk(id, model, json::object{}, finish_reason));
  return events;
}

}  // namespace conclave::mock::replies
