// The OpenAI adapter against the mock over loopback: replies, streams, and every fault mode
// mapped to its conclave error with the diagnostics a caller needs.
#include "model_call.hpp"
#include "run.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <stdexcept>

namespace integration_test_openai_model {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using boost::system::error_code;

namespace {

using outcome = conclave::test::call_result;

struct fixture {
  explicit fixture(mock::mock_options mopts = default_mock(),
                   std::chrono::milliseconds timeout = 10s, std::string key = "")
      : server(io.get_executor(), std::move(mopts)), client(io.get_executor()) {
    server.start();
    openai::openai_options o;
    o.base_url = server.base_url();
    o.default_model = "mock";
    o.request_timeout = timeout;
    o.api_key = std::move(key);
    llm = std::make_unique<openai::openai_model>(client, o);
  }
  ~fixture() {
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }

  static mock::mock_options default_mock() {
    mock::mock_options m;
    m.drip_interval = 1ms;
    m.retry_after = 250ms;
    return m;
  }

  outcome ask(const std::string& model, bool stream) {
    chat_request req;
    req.model = model;
    req.stream = stream;
    req.messages = {{role::system, "You are terse."}, {role::user, "Is water wet?"}};
    return conclave::test::complete(io, *llm, std::move(req));
  }

  asio::io_context io;
  mock::mock_server server;
  http::client client;
  std::unique_ptr<openai::openai_model> llm;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_model)

BOOST_AUTO_TEST_CASE(answers_without_streaming) {
  fixture f;
  auto o = f.ask("mock", false);
  BOOST_REQUIRE_MESSAGE(!o.ec, o.ec.message() + ": " + o.response.diag.message);
  BOOST_CHECK(o.response.text().find("Is water wet?") != std::string::npos);
  BOOST_CHECK_EQUAL(o.response.finish_reason, "stop");
  BOOST_CHECK_EQUAL(o.response.model, "mock");
  BOOST_CHECK_GT(o.response.tokens.prompt_tokens, 0);
  BOOST_CHECK_GT(o.response.tokens.completion_tokens, 0);
  BOOST_CHECK_EQUAL(o.delta_count, 0);
  BOOST_CHECK_GT(o.response.latency.count(), 0);
}

BOOST_AUTO_TEST_CASE(streams_deltas_that_add_up_to_the_answer) {
  fixture f;
  auto plain = f.ask("mock", false);
  auto o = f.ask("mock", true);
  BOOST_REQUIRE_MESSAGE(!o.ec, o.response.diag.message);
  BOOST_CHECK_GT(o.delta_count, 3);
  BOOST_CHECK_EQUAL(o.deltas, o.response.text());
  BOOST_CHECK_EQUAL(o.response.text(), plain.response.text());  // same prompt, same reply
  BOOST_CHECK_EQUAL(o.response.finish_reason, "stop");
  BOOST_CHECK(o.response.diag.request_id.starts_with("req_mock_"));  // streamed replies too
  // Usage came from the include_usage chunk, exactly as the non-streamed reply counts it.
  BOOST_CHECK_EQUAL(o.response.tokens.prompt_tokens, plain.response.tokens.prompt_tokens);
  BOOST_CHECK_EQUAL(o.response.tokens.completion_tokens, plain.response.tokens.completion_tokens);
}

BOOST_AUTO_TEST_CASE(rate_limit_carries_retry_after_and_limits) {
  fixture f;
  for (bool stream : {false, true}) {
    auto o = f.ask("mock-429", stream);
    BOOST_CHECK(o.ec == error::rate_limited);
    BOOST_CHECK(is_retryable(o.ec));
    BOOST_CHECK_EQUAL(o.response.diag.http_status, 429);
    BOOST_REQUIRE(o.response.diag.retry_after);
    BOOST_CHECK_EQUAL(o.response.diag.retry_after->count(), 250);  // retry-after-ms wins
    BOOST_CHECK_EQUAL(o.response.diag.provider_code, "rate_limit_exceeded");
    BOOST_CHECK(o.response.diag.request_id.starts_with("req_mock_"));
    BOOST_REQUIRE(o.response.limits.remaining_requests);
    BOOST_CHECK_EQUAL(*o.response.limits.remaining_requests, 0);
  }
}

BOOST_AUTO_TEST_CASE(server_errors_are_typed) {
  fixture f;
  auto e500 = f.ask("mock-500", false);
  BOOST_CHECK(e500.ec == error::provider_error);
  BOOST_CHECK_EQUAL(e500.response.diag.http_status, 500);
  BOOST_CHECK(e500.response.diag.message.find("server had an error") != std::string::npos);

  auto e503 = f.ask("mock-503", true);
  BOOST_CHECK(e503.ec == error::overloaded);
  BOOST_REQUIRE(e503.response.diag.retry_after);
  BOOST_CHECK_EQUAL(e503.response.diag.retry_after->count(), 1000);  // "retry-after: 1"
}

BOOST_AUTO_TEST_CASE(hang_hits_the_request_timeout) {
  fixture f(fixture::default_mock(), 150ms);
  auto o = f.ask("mock-hang", true);
  BOOST_CHECK(o.ec == error::timeout);
  BOOST_CHECK(o.response.diag.message.find("deadline expired") != std::string::npos);
  BOOST_CHECK_GT(o.response.tokens.prompt_tokens, 0);  // sent, so counted
}

BOOST_AUTO_TEST_CASE(reset_mid_stream_is_a_connection_failure_that_still_counts_tokens) {
  fixture f;
  auto o = f.ask("mock-reset", true);
  BOOST_CHECK(o.ec == error::connection_failed);
  BOOST_CHECK(!o.deltas.empty());  // some text arrived before the reset
  BOOST_CHECK_EQUAL(o.deltas, o.response.text());
  BOOST_CHECK_GT(o.response.tokens.completion_tokens, 0);
  BOOST_CHECK_GT(o.response.tokens.prompt_tokens, 0);

  auto plain = f.ask("mock-reset", false);
  BOOST_CHECK(plain.ec == error::connection_failed);
}

BOOST_AUTO_TEST_CASE(malformed_replies_are_bad_responses) {
  fixture f;
  auto plain = f.ask("mock-malformed", false);
  BOOST_CHECK(plain.ec == error::bad_response);
  BOOST_CHECK(plain.response.diag.message.find("not a JSON object") != std::string::npos);
  auto stream = f.ask("mock-malformed", true);
  BOOST_CHECK(stream.ec == error::bad_response);
  BOOST_CHECK(stream.response.diag.message.find("malformed stream chunk") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_stream_without_done_is_truncated_never_a_success) {
  fixture f;
  auto o = f.ask("mock-truncated", true);
  BOOST_CHECK(o.ec == error::stream_truncated);
  BOOST_CHECK(!o.response.text().empty());
  BOOST_CHECK(is_retryable(o.ec));
  auto plain = f.ask("mock-truncated", false);  // body shorter than content-length
  BOOST_CHECK(plain.ec == error::connection_failed);
}

BOOST_AUTO_TEST_CASE(an_error_event_after_200_is_an_overload) {
  fixture f;
  auto o = f.ask("mock-error-event", true);
  BOOST_CHECK(o.ec == error::overloaded);
  BOOST_CHECK_EQUAL(o.response.diag.provider_code, "overloaded");
  BOOST_CHECK(o.response.diag.message.find("overloaded") != std::string::npos);
  BOOST_CHECK_EQUAL(o.response.diag.http_status, 200);
}

BOOST_AUTO_TEST_CASE(a_slow_drip_still_completes) {
  fixture f;
  auto normal = f.ask("mock", true);
  auto o = f.ask("mock-drip", true);
  BOOST_REQUIRE_MESSAGE(!o.ec, o.response.diag.message);
  BOOST_CHECK_EQUAL(o.delta_count, static_cast<int>(o.response.text().size()));  // one char each
  BOOST_CHECK_EQUAL(o.response.text().size(), normal.response.text().size());
  auto plain = f.ask("mock-drip", false);
  BOOST_CHECK(!plain.ec);
}

BOOST_AUTO_TEST_CASE(a_wrong_key_is_an_auth_failure_and_the_key_stays_secret) {
  auto m = fixture::default_mock();
  m.required_api_key = "sk-right";
  fixture wrong(m, 10s, "sk-wrong");
  auto o = wrong.ask("mock", false);
  BOOST_CHECK(o.ec == error::auth_failed);
  BOOST_CHECK_EQUAL(o.response.diag.http_status, 401);
  BOOST_CHECK_EQUAL(o.response.diag.provider_code, "invalid_api_key");
  BOOST_CHECK(wrong.llm->describe().find("sk-") == std::string::npos);

  fixture right(m, 10s, "sk-right");
  BOOST_CHECK(!right.ask("mock", false).ec);
}

BOOST_AUTO_TEST_CASE(cancelling_the_call_completes_it_as_cancelled) {
  fixture f;
  asio::cancellation_signal cancel;
  chat_request req;
  req.model = "mock-hang";
  req.messages = {{role::user, "wait"}};
  error_code result;
  bool finished = false;
  f.llm->async_complete(
      req, nullptr, asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, chat_response) {
        result = ec;
        finished = true;
      }));
  BOOST_REQUIRE(conclave::test::pump_until(f.io, [&] { return f.server.stats().in_flight == 1; }));
  cancel.emit(asio::cancellation_type::terminal);
  BOOST_REQUIRE(conclave::test::pump_until(f.io, [&] { return finished; }));
  BOOST_CHECK(result == error::cancelled);
}

BOOST_AUTO_TEST_CASE(a_delta_handler_that_throws_fails_the_call_as_an_internal_error) {
  fixture f;
  chat_request req;
  req.stream = true;
  req.messages = {{role::user, "stream to a broken handler"}};
  error_code result;
  chat_response response;
  bool finished = false;
  f.llm->async_complete(
      req, [](const chat_delta&) { throw std::runtime_error("the host's handler broke"); },
      [&](error_code ec, chat_response r) {
        result = ec;
        response = std::move(r);
        finished = true;
      });
  BOOST_REQUIRE(conclave::test::pump_until(f.io, [&] { return finished; }));
  BOOST_CHECK(result == error::internal_error);
  BOOST_CHECK(response.diag.message.find("the host's handler broke") != std::string::npos);
  BOOST_CHECK(!conclave::test::complete(f.io, *f.llm, req).ec);  // the model still works
}

BOOST_AUTO_TEST_CASE(works_with_use_awaitable) {
  fixture f;
  auto call = [&]() -> asio::awaitable<std::string> {
    chat_request req;
    req.messages = {{role::user, "awaitable?"}};
    auto [ec, r] =
        co_await f.llm->async_complete(req, nullptr, asio::as_tuple(asio::use_awaitable));
    co_return ec ? ec.message() : r.text();
  };
  const auto text = conclave::test::run(f.io, call());
  BOOST_CHECK(text.find("awaitable?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_bad_base_url_is_refused_up_front) {
  asio::io_context io;
  http::client client(io.get_executor());
  openai::openai_options o;
  o.base_url = "localhost:8000/v1";
  BOOST_CHECK_THROW(openai::openai_model(client, o), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(stop_reasons_are_understood_in_both_paths) {
  fixture f;
  for (bool stream : {false, true}) {
    BOOST_TEST_CONTEXT("stream: " << stream) {
      auto normal = f.ask("mock", stream);
      BOOST_CHECK(normal.response.stop == stop_reason::end);

      auto length = f.ask("mock-length", stream);
      BOOST_REQUIRE_MESSAGE(!length.ec, length.response.diag.message);
      BOOST_CHECK_EQUAL(length.response.finish_reason, "length");
      BOOST_CHECK(length.response.stop == stop_reason::length);
      BOOST_CHECK_EQUAL(length.response.text(), normal.response.text());

      auto filtered = f.ask("mock-filtered", stream);
      BOOST_REQUIRE_MESSAGE(!filtered.ec, filtered.response.diag.message);
      BOOST_CHECK(filtered.response.stop == stop_reason::content_filter);
      BOOST_CHECK(!filtered.response.text().empty());
      BOOST_CHECK_LT(filtered.response.text().size(), normal.response.text().size());

      auto empty = f.ask("mock-empty", stream);
      BOOST_REQUIRE_MESSAGE(!empty.ec, empty.response.diag.message);
      BOOST_CHECK(empty.response.text().empty());
      BOOST_CHECK(empty.response.stop == stop_reason::end);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_200_that_is_not_json_or_not_an_event_stream_is_a_bad_response) {
  fixture f;
  auto plain = f.ask("mock-html", false);
  BOOST_CHECK(plain.ec == error::bad_response);
  BOOST_CHECK_EQUAL(plain.response.diag.message, "not JSON (content-type text/html)");
  BOOST_CHECK_EQUAL(plain.response.diag.http_status, 200);

  auto stream = f.ask("mock-html", true);
  BOOST_CHECK(stream.ec == error::bad_response);
  BOOST_CHECK_EQUAL(stream.response.diag.message, "not an event stream (content-type text/html)");
  BOOST_CHECK_EQUAL(stream.delta_count, 0);  // the page's "data:" line was never read as an event
  BOOST_CHECK(stream.response.text().empty());

  BOOST_CHECK(!f.ask("mock", false).ec);  // and the connection pool is still sound
}

BOOST_AUTO_TEST_CASE(an_early_hints_response_is_read_past) {
  fixture f;
  for (bool stream : {false, true}) {
    auto o = f.ask("mock-early-hints", stream);
    BOOST_REQUIRE_MESSAGE(!o.ec, o.response.diag.message);
    BOOST_CHECK_EQUAL(o.response.diag.http_status, 200);
    BOOST_CHECK(o.response.text().find("Is water wet?") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(the_request_deadline_bounds_the_call_when_sooner) {
  fixture f(fixture::default_mock(), 60s);  // longer than the test would wait
  chat_request req;
  req.model = "mock-hang";
  req.messages = {{role::user, "wait"}};
  req.deadline = std::chrono::steady_clock::now() + 100ms;
  auto o = conclave::test::complete(f.io, *f.llm, std::move(req));
  BOOST_CHECK(o.ec == error::timeout);
  BOOST_CHECK_LT(o.response.latency, 10s);
}

BOOST_AUTO_TEST_CASE(settings_with_control_characters_are_refused_naming_the_setting) {
  asio::io_context io;
  http::client client(io.get_executor());
  struct row {
    const char* field;
    void (*spoil)(openai::openai_options&);
  };
  const row rows[] = {
      {"api_key", [](openai::openai_options& o) { o.api_key = "sk-secret-key\r\nX-Injected: 1"; }},
      {"api_key", [](openai::openai_options& o) { o.api_key = std::string("sk-secret\0key", 13); }},
      {"api_key", [](openai::openai_options& o) { o.api_key = "sk-secret\x7f"; }},
      {"api_key", [](openai::openai_options& o) { o.api_key = "sk-secret\tkey"; }},
      {"default_model", [](openai::openai_options& o) { o.default_model = "gpt\nX: 1"; }},
      {"base_url", [](openai::openai_options& o) { o.base_url = "http://127.0.0.1:1/v1\r\nX: 1"; }},
  };
  for (const auto& r : rows) {
    openai::openai_options o;
    o.base_url = "http://127.0.0.1:1/v1";
    r.spoil(o);
    BOOST_TEST_CONTEXT(r.field) {
      try {
        openai::openai_model m(client, o);
        BOOST_ERROR("accepted");
      } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        BOOST_CHECK_MESSAGE(what.find(r.field) != std::string::npos, what);
        BOOST_CHECK(what.find("secret") == std::string::npos);  // named, never quoted
        BOOST_CHECK(what.find_first_of("\r\n") == std::string::npos);
      }
    }
  }
  openai::openai_options spaced;
  spaced.base_url = "http://127.0.0.1:1/my v1";
  BOOST_CHECK_THROW(openai::openai_model(client, spaced), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_model_name_with_control_characters_fails_before_sending) {
  fixture f;
  for (bool stream : {false, true}) {
    auto o = f.ask("mock\r\nX-Injected: 1", stream);
    BOOST_CHECK(o.ec == error::bad_request);
    BOOST_CHECK_MESSAGE(o.response.diag.message.find("model name") != std::string::npos,
                        o.response.diag.message);
  }
  BOOST_CHECK_EQUAL(f.server.stats().requests, 0u);
}

BOOST_AUTO_TEST_CASE(tools_that_cannot_be_sent_fail_before_sending) {
  fixture f;
  chat_request req;
  req.model = "mock";
  req.messages = {{role::user, "hi"}};
  req.tools = {{"bad name", "", "{}"}};
  auto o = conclave::test::complete(f.io, *f.llm, req);
  BOOST_CHECK(o.ec == error::bad_request);
  BOOST_CHECK_MESSAGE(o.response.diag.message.find("not sent") != std::string::npos,
                      o.response.diag.message);
  BOOST_CHECK_EQUAL(f.server.stats().requests, 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_openai_model
