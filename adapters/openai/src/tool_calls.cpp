#include <conclave/engine/text.hpp>
#include <conclave/openai/tool_calls.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave::openai {
namespace {

const json::string* string_in(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

// Arguments as received: "" is {}; a JSON object is re-serialised compactly; anything else
// is kept as sent (valid UTF-8), for the agent to answer with an error result the model sees
// (a model that wrote broken JSON can correct itself; failing the call would lose the turn).
void canonical_arguments(const std::string& received, std::string& out) {
  if (text::is_blank(received)) {
    out = "{}";
    return;
  }
  boost::system::error_code ec;
  json::value v = json::parse(received, ec);
  out = !ec && v.is_object() ? json::serialize(v) : text::to_valid_utf8(received);
}

}  // namespace

bool tool_call_accumulator::add(const json::value& fragment, std::string& why,
                                std::size_t* position) {
  const auto* o = fragment.if_object();
  if (!o) {
    why = "a tool call fragment is not an object";
    return false;
  }
  std::int64_t index = -1;
  if (const auto* i = o->if_contains("index")) {
    if (!i->is_int64() || i->get_int64() < 0) {
      why = "a tool call's index is not a whole number >= 0";
      return false;
    }
    index = i->get_int64();
  }
  const json::string* id = string_in(*o, "id");
  const json::object* function = nullptr;
  if (const auto* f = o->if_contains("function")) {
    function = f->if_object();
    if (!function) {
      why = "a tool call's function is not an object";
      return false;
    }
  }

  // Which call this fragment belongs to: by index when given; without one, a new id opens a
  // call and anything else continues the last.
  partial* target = nullptr;
  if (index >= 0) {
    for (auto& c : calls_) {
      if (c.index == index) target = &c;
    }
  } else if (!calls_.empty() && (!id || id->empty() || calls_.back().call.id == *id)) {
    target = &calls_.back();
  }
  if (!target) {
    if (calls_.size() >= max_calls) {
      why = "more than " + std::to_string(max_calls) + " tool calls in one reply";
      return false;
    }
    calls_.push_back(partial{index, {}, {}});
    target = &calls_.back();
  }
  if (position) *position = static_cast<std::size_t>(target - calls_.data());
  if (id && !id->empty()) target->call.id = std::string(*id);
  if (function) {
    if (const auto* name = string_in(*function, "name"); name && !name->empty()) {
      target->call.name = std::string(*name);
    }
    if (const auto* args = function->if_contains("arguments")) {
      if (!args->is_string()) {
        why = "a tool call's arguments are not a string";
        return false;
      }
      target->arguments.append(args->get_string().data(), args->get_string().size());
      if (target->arguments.size() > max_argument_bytes) {
        why = "a tool call's arguments exceed " + std::to_string(max_argument_bytes) + " bytes";
        return false;
      }
    }
  }
  return true;
}

bool tool_call_accumulator::finish(std::vector<tool_call>& out, std::string& why) const {
  out.clear();
  out.reserve(calls_.size());
  for (const auto& c : calls_) {
    if (c.call.name.empty()) {
      why = "a tool call has no name";
      return false;
    }
    tool_call call = c.call;
    canonical_arguments(c.arguments, call.arguments);
    out.push_back(std::move(call));
  }
  return true;
}

bool decode_tool_calls(const json::value& array, std::vector<tool_call>& out, std::string& why) {
  const auto* a = array.if_array();
  if (!a) {
    why = "tool_calls is not an array";
    return false;
  }
  tool_call_accumulator acc;
  for (std::size_t i = 0; i < a->size(); ++i) {
    // A whole message's calls are whole: number them so none is taken for another's piece.
    json::value numbered = (*a)[i];
    if (auto* o = numbered.if_object(); o && !o->contains("index")) {
      (*o)["index"] = static_cast<std::int64_t>(i);
    }
    if (!acc.add(numbered, why)) return false;
  }
  return acc.finish(out, why);
}

}  // namespace conclave::openai
