// The body of `POST /v1/tasks`, read and checked without I/O: a question or a plan, its priority
// and its options. Every refusal names the parameter, the HTTP status and a stable code, the way
// OpenAI-style errors do ({"error": {"message", "type", "param", "code"}}).
#pragma once

#include <conclave/engine/plan.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace conclave::serve {

/// What a task may set; unset fields take the server's defaults.
struct task_options {
  std::optional<int> agents;  ///< "agents": 0 (chosen per question) or 1..20; not with a plan
  std::optional<std::string> combine;                 ///< "combine": synthesize | vote | select
  std::optional<bool> verify;                         ///< "verify": run the verify stage
  std::optional<int> verify_rounds;                   ///< "verify_rounds": 1..3
  std::optional<std::chrono::milliseconds> deadline;  ///< "deadline_s": 1..3600, counted from start
  /// "queue_timeout_s": 1..86400; a task still queued that long after it was created expires.
  std::optional<std::chrono::milliseconds> queue_timeout;
  std::optional<std::string> model;  ///< "model": a model reference, 1..256 bytes
};

/// One task as submitted. With a plan, `question` is empty (the plan holds its own), and
/// options' combine / verify / verify_rounds, when set, override the plan's.
struct task_spec {
  std::string question;                ///< heavy mode's question; empty when `plan` is set
  std::optional<conclave::plan> plan;  ///< a given plan, already validated
  int priority = 5;                    ///< 0..10, 10 served first
  task_options options;
  std::string options_json;  ///< the options as canonical JSON (fixed key order), for the journal
  std::string client_ref;    ///< the request's "metadata" string, echoed back; at most 1024 bytes
};

/// Why a request is refused. `code` is one of: invalid_json, missing_parameter, invalid_type,
/// invalid_value, unknown_parameter, invalid_plan, string_too_long (all 400), and the queue's
/// queue_full (429).
struct request_error {
  unsigned status = 400;  ///< the HTTP status
  std::string message;    ///< one line for people; quoted user input is bounded
  std::string param;  ///< the offending parameter ("priority", "options.deadline_s"); may be empty
  std::string code;   ///< stable, for programs
};

/// The most bytes of `metadata` kept.
inline constexpr std::size_t max_metadata_bytes = 1024;

/// Reads `{"question": "..." | "plan": {...}, "priority": 0..10, "options": {...}, "metadata":
/// "..."}`. Exactly one of question (a non-blank string of at most `max_question_chars`
/// characters) or plan (an object that parse_plan() reads and validate() accepts; the refusal
/// carries their words, code invalid_plan). A null member counts as absent. Unknown keys, at
/// the top or in options, are refused by name; so are wrong types and values out of range.
/// The body must be one JSON object (at most 32 levels deep). Linear in the body's size.
std::variant<task_spec, request_error> parse_task_request(std::string_view body,
                                                          std::size_t max_question_chars = 200'000);

}  // namespace conclave::serve
