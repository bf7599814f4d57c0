#include "backend.hpp"

#include <conclave/openai/openai_model.hpp>

#include <algorithm>
#include <cmath>

namespace conclave::cli {

backend make_backend(boost::asio::any_io_executor ex, const ask_settings& s, long open_file_limit) {
  backend b;
  http::client_options copts;
  copts.tls.ca_file = s.ca_file;
  // As many connections as agents call at once (the client's default, 256, held a
  // 2,048-agent run to 256 calls in flight), within the open-file limit.
  std::size_t connections =
      static_cast<std::size_t>(s.max_connections > 0 ? s.max_connections : s.concurrency);
  if (open_file_limit > 0) {
    const auto room = static_cast<std::size_t>(std::max(16L, open_file_limit - 64));
    if (connections > room) {
      b.warnings.push_back("the open-file limit (" + std::to_string(open_file_limit) +
                           ") holds connections to " + std::to_string(room));
      connections = room;
    }
  }
  copts.max_connections_per_origin = connections;
  b.client = std::make_unique<http::client>(ex, copts);

  openai::openai_options oopts;
  oopts.request_timeout = std::chrono::milliseconds(to_milliseconds(s.timeout_s));
  oopts.api_key = s.api_key;
  if (!s.model.empty()) oopts.default_model = s.model;

  std::string provider = s.provider;
  if (provider.empty()) provider = (!s.api_key.empty() || !s.base_url.empty()) ? "openai" : "mock";
  b.provider = provider;

  if (provider == "openai") {
    if (!s.base_url.empty()) oopts.base_url = s.base_url;
    if (s.api_key.empty() && s.base_url.empty()) {
      throw usage_error(
          "--provider openai needs OPENAI_API_KEY (or a --base-url); or use --provider mock");
    }
  } else {
    if (s.model.empty()) oopts.default_model = "mock";
    if (!s.base_url.empty()) {
      oopts.base_url = s.base_url;  // an external conclave-mock
      b.note = "answering with the mock model at " + s.base_url;
    } else {
      mock::mock_options mopts;
      mopts.latency = std::chrono::milliseconds(150);  // enough to see the answer stream in
      mopts.stream_interval = std::chrono::milliseconds(15);
      b.builtin_mock = std::make_unique<mock::mock_server>(ex, mopts);
      b.builtin_mock->start();
      oopts.base_url = b.builtin_mock->base_url();
      b.note = std::string(s.api_key.empty() ? "no OPENAI_API_KEY set: " : "") +
               "answering with the built-in mock model (canned text, not a real LLM)";
    }
  }
  try {
    b.llm = std::make_unique<openai::openai_model>(*b.client, oopts);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  rate_limit_options limits;
  limits.max_concurrency = s.concurrency;  // the most a run asks for; 429s shrink it
  limits.requests_per_window = s.rpm;
  limits.tokens_per_window = s.tpm;
  b.limited = std::make_unique<limited_model>(*b.llm, limits);
  breaker_options breaker;
  breaker.failure_threshold = s.breaker_failures;
  breaker.cool_off = std::chrono::milliseconds(to_milliseconds(s.breaker_cool_off_s));
  b.guarded = std::make_unique<breaker_model>(*b.limited, breaker);
  return b;
}

}  // namespace conclave::cli
