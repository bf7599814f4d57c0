// The body of POST /v1/tasks read into a task_spec (task_request.hpp). Included once, by
// task_queue.cpp: the serve library's CMake list names one source for the task queue.
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/text.hpp>
#include <conclave/serve/task_request.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>

namespace json = boost::json;

namespace conclave::serve {
namespace {

request_error refuse(std::string param, std::string message, std::string code) {
  return {400, std::move(message), std::move(param), std::move(code)};
}

std::string quoted(std::string_view s) {
  return "\"" + text::for_terminal(text::quote(s, 64), false) + "\"";
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// An integer member in [lo, hi]; doubles are refused, as for the plan file.
std::optional<request_error> read_int(const json::value& v, const std::string& param, int lo,
                                      int hi, int& out) {
  const std::string range = " from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!v.is_int64() && !v.is_uint64())
    return refuse(param, param + " must be an integer" + range, "invalid_type");
  if (v.is_uint64() || v.get_int64() < lo || v.get_int64() > hi)
    return refuse(param, param + " must be" + range, "invalid_value");
  out = static_cast<int>(v.get_int64());
  return std::nullopt;
}

// A duration in seconds (integer or fraction) in [lo, hi], kept in milliseconds.
std::optional<request_error> read_seconds(const json::value& v, const std::string& param, double lo,
                                          double hi, std::chrono::milliseconds& out) {
  const std::string range = " from " + std::to_string(static_cast<int>(lo)) + " to " +
                            std::to_string(static_cast<int>(hi)) + " seconds";
  if (!v.is_number()) return refuse(param, param + " must be a number" + range, "invalid_type");
  const double s = v.to_number<double>();
  if (!(s >= lo && s <= hi)) return refuse(param, param + " must be" + range, "invalid_value");
  out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
  return std::nullopt;
}

std::optional<request_error> read_string(const json::value& v, const std::string& param,
                                         std::size_t max_bytes, std::string& out) {
  if (!v.is_string()) return refuse(param, param + " must be a string", "invalid_type");
  if (v.get_string().size() > max_bytes)
    return refuse(param, param + " is longer than " + std::to_string(max_bytes) + " bytes",
                  "string_too_long");
  out = std::string(v.get_string());
  return std::nullopt;
}

std::optional<request_error> read_options(const json::object& o, task_options& out) {
  for (const auto& [key, v] : o) {
    if (v.is_null()) continue;
    const std::string param = "options." + text::quote(key, 64);
    std::optional<request_error> e;
    if (key == "agents") {
      e = read_int(v, param, 0, max_dynamic_agents, out.agents.emplace());
    } else if (key == "combine") {
      e = read_string(v, param, 64, out.combine.emplace());
      if (!e && !combine_mode_from(*out.combine))
        e = refuse(param, param + " must be synthesize, vote or select", "invalid_value");
    } else if (key == "verify") {
      if (!v.is_bool()) e = refuse(param, param + " must be true or false", "invalid_type");
      out.verify = v.is_bool() && v.get_bool();
    } else if (key == "verify_rounds") {
      e = read_int(v, param, 1, 3, out.verify_rounds.emplace());
    } else if (key == "deadline_s") {
      e = read_seconds(v, param, 1, 3600, out.deadline.emplace());
    } else if (key == "queue_timeout_s") {
      e = read_seconds(v, param, 1, 86400, out.queue_timeout.emplace());
    } else if (key == "model") {
      e = read_string(v, param, 256, out.model.emplace());
      if (!e && out.model->empty())
        e = refuse(param, param + " must not be empty", "invalid_value");
    } else {
      e = refuse(param, "unknown parameter " + quoted(param), "unknown_parameter");
    }
    if (e) return e;
  }
  return std::nullopt;
}

// Seconds as JSON: an integer when whole, else a plain decimal.
json::value seconds_json(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return json::value(ms.count() / 1000);
  return json::value(static_cast<double>(ms.count()) / 1000.0);
}

std::string canonical(const task_options& o) {
  json::object j;
  if (o.agents) j["agents"] = *o.agents;
  if (o.combine) j["combine"] = *o.combine;
  if (o.verify) j["verify"] = *o.verify;
  if (o.verify_rounds) j["verify_rounds"] = *o.verify_rounds;
  if (o.deadline) j["deadline_s"] = seconds_json(*o.deadline);
  if (o.queue_timeout) j["queue_timeout_s"] = seconds_json(*o.queue_timeout);
  if (o.model) j["model"] = *o.model;
  return to_plain_json(j);
}

std::optional<request_error> read_plan(const json::value& v, conclave::plan& out) {
  if (!v.is_object()) return refuse("plan", "plan must be an object", "invalid_type");
  auto parsed = parse_plan(json::serialize(v));
  if (!parsed.value) return refuse("plan", "invalid plan: " + parsed.error, "invalid_plan");
  if (auto problem = validate(*parsed.value))
    return refuse("plan", "invalid plan: " + problem->message, "invalid_plan");
  out = std::move(*parsed.value);
  return std::nullopt;
}

std::optional<request_error> read_request(const json::object& o, std::size_t max_question_chars,
                                          task_spec& out) {
  bool has_question = false;
  for (const auto& [key, v] : o) {
    if (v.is_null()) continue;
    std::optional<request_error> e;
    if (key == "question") {
      has_question = true;
      if (!v.is_string()) return refuse("question", "question must be a string", "invalid_type");
      const std::string_view q = v.get_string();
      if (text::is_blank(q)) return refuse("question", "question is blank", "invalid_value");
      if (utf8_chars(q) > max_question_chars)
        return refuse(
            "question",
            "question is longer than " + std::to_string(max_question_chars) + " characters",
            "string_too_long");
      out.question = std::string(q);
    } else if (key == "plan") {
      e = read_plan(v, out.plan.emplace());
    } else if (key == "priority") {
      e = read_int(v, "priority", 0, 10, out.priority);
    } else if (key == "options") {
      if (!v.is_object()) return refuse("options", "options must be an object", "invalid_type");
      e = read_options(v.get_object(), out.options);
    } else if (key == "metadata") {
      e = read_string(v, "metadata", max_metadata_bytes, out.client_ref);
    } else {
      e = refuse(text::quote(key, 64), "unknown parameter " + quoted(key), "unknown_parameter");
    }
    if (e) return e;
  }
  if (has_question == out.plan.has_value())
    return refuse(
        has_question ? "plan" : "question",
        has_question ? "give either question or plan, not both" : "question or plan is required",
        has_question ? "invalid_value" : "missing_parameter");
  if (out.plan && out.options.agents)
    return refuse("options.agents", "options.agents applies to a question; a plan has its subtasks",
                  "invalid_value");
  out.options_json = canonical(out.options);
  return std::nullopt;
}

}  // namespace

std::variant<task_spec, request_error> parse_task_request(std::string_view body,
                                                          std::size_t max_question_chars) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 32;
  json::value v = json::parse(body, ec, {}, po);
  if (ec) return refuse("", "the body is not valid JSON: " + ec.message(), "invalid_json");
  if (!v.is_object()) return refuse("", "the body must be a JSON object", "invalid_json");
  task_spec spec;
  if (auto e = read_request(v.get_object(), max_question_chars, spec)) return std::move(*e);
  return spec;
}

}  // namespace conclave::serve
