#include "json_scratch.hpp"

#include <conclave/engine/text.hpp>
#include <conclave/http/header_values.hpp>
#include <conclave/openai/tool_calls.hpp>
#include <conclave/openai/wire.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace json = boost::json;

namespace conclave::openai {
namespace {

// The usage object, when it is believable: both counts present and counts. A server's
// counts are untrusted; a caller estimates instead of keeping what it cannot believe.
std::optional<usage> read_usage(const json::value& v) {
  const auto* o = v.if_object();
  if (!o) return std::nullopt;
  const auto prompt = count_at(*o, "prompt_tokens");
  const auto completion = count_at(*o, "completion_tokens");
  if (!prompt || !completion) return std::nullopt;
  usage u{*prompt, *completion};
  // Cached prompt tokens are part of prompt_tokens, priced apart; never more than it.
  if (const auto* d = o->if_contains("prompt_tokens_details"); d && d->is_object()) {
    u.cache_read_tokens = std::min(count_at(d->get_object(), "cached_tokens").value_or(0), *prompt);
  }
  return u;
}

// The error object of an error body or of an in-stream error chunk, as a conclave error.
error classify_error_object(const json::object& err) {
  const std::string type = string_at(err, "type");
  const std::string code = string_at(err, "code");
  if (type == "overloaded_error" || code == "overloaded") return error::overloaded;
  if (code == "rate_limit_exceeded" || type == "rate_limit_error") return error::rate_limited;
  if (type == "invalid_request_error") return error::bad_request;
  return error::provider_error;
}

}  // namespace

boost::system::error_code decode_chat_completion(std::string_view body, chat_response& out,
                                                 bool* usage_reported) {
  if (usage_reported) *usage_reported = false;
  boost::system::error_code ec;
  scratch mem;
  json::value v = json::parse(body, ec, mem.storage());
  if (ec || !v.is_object()) {
    out.diag.message = "reply is not a JSON object: " + cut(body);
    return error::bad_response;
  }
  const auto& o = v.get_object();
  if (auto* err = o.if_contains("error"); err && err->is_object()) {
    out.diag.message = string_at(err->get_object(), "message");
    out.diag.provider_code = string_at(err->get_object(), "code");
    return classify_error_object(err->get_object());
  }
  const auto* choices = o.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty() ||
      !choices->get_array()[0].is_object()) {
    out.diag.message = "reply has no choices: " + cut(body);
    return error::bad_response;
  }
  const auto& choice = choices->get_array()[0].get_object();
  const auto* message = choice.if_contains("message");
  if (!message || !message->is_object()) {
    out.diag.message = "first choice has no message";
    return error::bad_response;
  }
  std::string words;
  if (auto* c = message->get_object().if_contains("content"); c && c->is_string()) {
    words = std::string(c->get_string());
  } else if (c && !c->is_null()) {
    out.diag.message = "message content is neither a string nor null";
    return error::bad_response;
  }
  std::vector<tool_call> calls;
  if (auto* a = message->get_object().if_contains("tool_calls"); a && !a->is_null()) {
    std::string why;
    if (!decode_tool_calls(*a, calls, why)) {
      out.diag.message = why;
      return error::bad_response;
    }
  }
  const bool asked_for_tools = !calls.empty();
  out.message = assistant_message(std::move(words), std::move(calls),
                                  string_at(message->get_object(), "reasoning_content"));
  out.finish_reason = string_at(choice, "finish_reason");
  // Whether the model asked for tools is what it sent, not what finish_reason says
  // (compatible servers send "stop" with tool calls).
  out.stop = asked_for_tools ? stop_reason::tool_use : stop_reason_from(out.finish_reason);
  out.model = string_at(o, "model");
  if (auto* u = o.if_contains("usage")) {
    if (auto reported = read_usage(*u)) {
      out.tokens = *reported;
      if (usage_reported) *usage_reported = true;
    }
  }
  return {};
}

void decode_error_body(std::string_view body, diagnostics& diag) {
  boost::system::error_code ec;
  scratch mem;
  json::value v = json::parse(body, ec, mem.storage());
  if (!ec && v.is_object()) {
    if (auto* err = v.get_object().if_contains("error"); err && err->is_object()) {
      diag.message = string_at(err->get_object(), "message");
      diag.provider_code = string_at(err->get_object(), "code");
      if (diag.provider_code.empty()) diag.provider_code = string_at(err->get_object(), "type");
      return;
    }
  }
  diag.message = cut(body);
}

rate_limit_info decode_rate_limits(const http::header_fields& h) {
  rate_limit_info info;
  auto count = [&](const char* name) -> std::optional<std::int64_t> {
    auto it = h.find(name);
    return it == h.end() ? std::nullopt : http::parse_count(it->value());
  };
  auto duration = [&](const char* name) -> std::optional<std::chrono::milliseconds> {
    auto it = h.find(name);
    return it == h.end() ? std::nullopt : http::parse_duration(it->value());
  };
  info.limit_requests = count("x-ratelimit-limit-requests");
  info.remaining_requests = count("x-ratelimit-remaining-requests");
  info.reset_requests = duration("x-ratelimit-reset-requests");
  info.limit_tokens = count("x-ratelimit-limit-tokens");
  info.remaining_tokens = count("x-ratelimit-remaining-tokens");
  info.reset_tokens = duration("x-ratelimit-reset-tokens");
  return info;
}

chat_response& stream_decoder::response() {
  if (!done_ && !text_.empty()) {
    std::string reasoning = response_.message.reasoning;
    response_.message = assistant_message(text_, {}, std::move(reasoning));
  }
  return response_;
}

stream_decoder::step stream_decoder::fail(conclave::error e, std::string message) {
  error_ = e;
  failure_.message = std::move(message);
  return step::failed;
}

stream_decoder::step stream_decoder::on_event(const http::sse_event& event, stream_pieces& pieces) {
  if (error_) return step::failed;
  if (done_) return step::done;  // anything after [DONE] is ignored
  if (event.type == "error") return fail(error::provider_error, cut(event.data));
  if (event.data == "[DONE]") {
    std::vector<tool_call> calls;
    if (!tool_calls_.empty()) {
      std::string why;
      if (!tool_calls_.finish(calls, why)) return fail(error::bad_response, why);
      response_.stop = stop_reason::tool_use;  // whatever finish_reason said
    }
    std::string reasoning = std::move(response_.message.reasoning);
    response_.message = assistant_message(std::move(text_), std::move(calls), std::move(reasoning));
    done_ = true;
    return step::done;
  }

  boost::system::error_code ec;
  scratch mem;
  json::value v = json::parse(event.data, ec, mem.storage());
  if (ec || !v.is_object())
    return fail(error::bad_response, "malformed stream chunk: " + cut(event.data));
  const auto& o = v.get_object();
  if (auto* err = o.if_contains("error"); err && err->is_object()) {
    failure_.provider_code = string_at(err->get_object(), "code");
    return fail(classify_error_object(err->get_object()), string_at(err->get_object(), "message"));
  }
  if (response_.model.empty()) response_.model = string_at(o, "model");
  if (auto* u = o.if_contains("usage"); u && u->is_object()) {
    // The last usage object decides; one that cannot be believed leaves the count to estimates.
    const auto reported = read_usage(*u);
    response_.tokens = reported.value_or(usage{});
    usage_reported_ = reported.has_value();
  }
  const auto* choices = o.if_contains("choices");
  if (!choices || !choices->is_array()) {
    return fail(error::bad_response, "stream chunk has no choices array");
  }
  for (const auto& c : choices->get_array()) {
    const auto* choice = c.if_object();
    if (!choice) return fail(error::bad_response, "stream choice is not an object");
    if (auto* d = choice->if_contains("delta"); d && d->is_object()) {
      const auto& delta = d->get_object();
      if (auto* text = delta.if_contains("content"); text && text->is_string()) {
        pieces.text.append(text->get_string().data(), text->get_string().size());
        text_.append(text->get_string().data(), text->get_string().size());
      }
      if (auto* r = delta.if_contains("reasoning_content"); r && r->is_string()) {
        pieces.reasoning.append(r->get_string().data(), r->get_string().size());
        response_.message.reasoning.append(r->get_string().data(), r->get_string().size());
      }
      if (auto* calls = delta.if_contains("tool_calls"); calls && !calls->is_null()) {
        if (!calls->is_array())
          return fail(error::bad_response, "delta.tool_calls is not an array");
        std::string why;
        for (const auto& fragment : calls->get_array()) {
          std::size_t position = 0;
          if (!tool_calls_.add(fragment, why, &position)) return fail(error::bad_response, why);
          stream_pieces::tool_fragment piece{.index = position};
          if (const auto* f = fragment.as_object().if_contains("function"); f && f->is_object()) {
            piece.name = string_at(f->get_object(), "name");
            piece.arguments = string_at(f->get_object(), "arguments");
          }
          piece.id = string_at(fragment.as_object(), "id");
          pieces.tool_fragments.push_back(std::move(piece));
        }
      }
    }
    if (auto fr = string_at(*choice, "finish_reason"); !fr.empty()) {
      response_.finish_reason = std::move(fr);
      response_.stop = stop_reason_from(response_.finish_reason);
    }
  }
  return step::more;
}

}  // namespace conclave::openai
