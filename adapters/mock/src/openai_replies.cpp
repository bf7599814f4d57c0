#include "openai_replies.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave::mock::replies {
namespace {

constexpr std::int64_t created_at = 1'750'000'000;  // fixed: replies are deterministic

// A reply's JSON tree lives in a buffer on the stack, serialized before it goes: built on the
// heap, a completion's tree was 27 allocations of the mock's each request.
struct reply_arena {
  unsigned char buffer[4096];
  json::monotonic_resource resource{buffer, sizeof buffer};
  json::storage_ptr storage() { return &resource; }
};

json::object usage_object(const usage& u, const json::storage_ptr& sp) {
  return json::object({{"prompt_tokens", u.prompt_tokens},
                       {"completion_tokens", u.completion_tokens},
                       {"total_tokens", u.total()}},
                      sp);
}

std::string completion_in(const json::storage_ptr& sp, std::string_view id, std::string_view model,
                          json::object message, const usage& u, std::string_view finish_reason) {
  json::object choice({{"index", 0},
                       {"message", std::move(message)},
                       {"logprobs", nullptr},
                       {"finish_reason", finish_reason}},
                      sp);
  json::array choices(sp);
  choices.push_back(std::move(choice));
  const json::object body({{"id", id},
                           {"object", "chat.completion"},
                           {"created", created_at},
                           {"model", model},
                           {"choices", std::move(choices)},
                           {"usage", usage_object(u, sp)},
                           {"system_fingerprint", "fp_conclave_mock"}},
                          sp);
  return json::serialize(body);
}

std::string as_event(const json::value& v) { return "data: " + json::serialize(v) + "\n\n"; }

}  // namespace

std::string completion(std::string_view id, std::string_view model, std::string_view content,
                       const usage& u, std::string_view finish_reason) {
  reply_arena arena;
  const auto sp = arena.storage();
  json::object message({{"role", "assistant"}, {"content", content}, {"refusal", nullptr}}, sp);
  return completion_in(sp, id, model, std::move(message), u, finish_reason);
}

std::string completion_of(std::string_view id, std::string_view model, json::object message,
                          const usage& u, std::string_view finish_reason) {
  reply_arena arena;
  return completion_in(arena.storage(), id, model, std::move(message), u, finish_reason);
}

std::string chunk_event(std::string_view id, std::string_view model, std::string_view content,
                        bool first, std::string_view finish_reason) {
  reply_arena arena;
  const auto sp = arena.storage();
  json::object delta(sp);
  if (first) delta["role"] = "assistant";
  if (!content.empty() || first) delta["content"] = content;
  json::object choice({{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}}, sp);
  if (finish_reason.empty()) {
    choice["finish_reason"] = nullptr;
  } else {
    choice["finish_reason"] = finish_reason;
  }
  json::array choices(sp);
  choices.push_back(std::move(choice));
  return as_event(json::object({{"id", id},
                                {"object", "chat.completion.chunk"},
                                {"created", created_at},
                                {"model", model},
                                {"system_fingerprint", "fp_conclave_mock"},
                                {"choices", std::move(choices)}},
                               sp));
}

std::string usage_event(std::string_view id, std::string_view model, const usage& u) {
  reply_arena arena;
  const auto sp = arena.storage();
  return as_event(json::object({{"id", id},
                                {"object", "chat.completion.chunk"},
                                {"created", created_at},
                                {"model", model},
                                {"choices", json::array(sp)},
                                {"usage", usage_object(u, sp)}},
                               sp));
}

std::string done_event() { return "data: [DONE]\n\n"; }

std::string error_body(std::string_view message, std::string_view type, std::string_view code) {
  json::object err{{"message", message}, {"type", type}, {"param", nullptr}};
  if (code.empty()) {
    err["code"] = nullptr;
  } else {
    err["code"] = code;
  }
  return json::serialize(json::object{{"error", std::move(err)}});
}

std::string models_list(std::string_view model) {
  json::object m{
      {"id", model}, {"object", "model"}, {"created", created_at}, {"owned_by", "conclave"}};
  return json::serialize(json::object{{"object", "list"}, {"data", json::array{std::move(m)}}});
}

std::string json_string(std::string_view s) { return json::serialize(json::string(s)); }

}  // namespace conclave::mock::replies
