// TCP-level faults between the OpenAI adapter and the mock, through the fault proxy: replies
// re-chunked into tiny writes (SSE events and UTF-8 characters split at every point), latency
// and a bandwidth cap, a reset and a clean close mid-stream, a stall, and a slow close.
#include "fault_proxy.hpp"
#include "model_call.hpp"
#include "run.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/test/unit_test.hpp>

namespace integration_test_fault_proxy {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace conclave;
using boost::system::error_code;
using conclave::test::fault_proxy;
using conclave::test::proxy_faults;

namespace {

// Non-ASCII on purpose: two-, three- and four-byte UTF-8 characters in the reply's subject.
const std::string unicode_question = "¿Cómo reducir los accidentes? 交通安全 🚦 naïve café";

using outcome = conclave::test::call_result;

struct rig {
  explicit rig(proxy_faults faults = {}, mock::mock_options mopts = {},
               std::chrono::milliseconds timeout = 10s)
      : server(io.get_executor(), mopts), client(io.get_executor()) {
    server.start();
    proxy = std::make_unique<fault_proxy>(
        io.get_executor(),
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()), faults);
    proxy->start();
    direct = make_model(server.base_url(), timeout);
    proxied = make_model(proxy->url("/v1"), timeout);
  }
  ~rig() {
    proxy->stop();
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }

  std::unique_ptr<openai::openai_model> make_model(const std::string& url,
                                                   std::chrono::milliseconds timeout) {
    openai::openai_options o;
    o.base_url = url;
    o.default_model = "mock";
    o.request_timeout = timeout;
    return std::make_unique<openai::openai_model>(client, o);
  }

  outcome ask(model& m, bool stream, const std::string& question = unicode_question) {
    chat_request req;
    req.stream = stream;
    req.messages = {{role::user, question}};
    return conclave::test::complete(io, m, std::move(req));
  }

  asio::io_context io;
  mock::mock_server server;
  http::client client;
  std::unique_ptr<fault_proxy> proxy;
  std::unique_ptr<openai::openai_model> direct;
  std::unique_ptr<openai::openai_model> proxied;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fault_proxy_suite)

BOOST_AUTO_TEST_CASE(tiny_writes_split_events_and_characters_anywhere_yet_the_reply_is_whole) {
  for (std::size_t size : {1u, 2u, 3u, 5u, 7u, 64u}) {
    BOOST_TEST_CONTEXT("writes of " << size << " bytes") {
      proxy_faults f;
      f.max_write = size;
      rig t(f);
      const auto expected = t.ask(*t.direct, true);
      BOOST_REQUIRE(!expected.ec);
      BOOST_REQUIRE(expected.response.text().find("🚦") != std::string::npos);
      const auto streamed = t.ask(*t.proxied, true);
      BOOST_CHECK_MESSAGE(!streamed.ec, streamed.ec.message()
                                            << ": " << streamed.response.diag.message);
      BOOST_CHECK_EQUAL(streamed.response.text(), expected.response.text());
      BOOST_CHECK_EQUAL(streamed.deltas, expected.response.text());
      BOOST_CHECK_EQUAL(streamed.response.tokens.total(), expected.response.tokens.total());
      const auto whole = t.ask(*t.proxied, false);
      BOOST_CHECK(!whole.ec);
      BOOST_CHECK_EQUAL(whole.response.text(), expected.response.text());
    }
  }
}

BOOST_AUTO_TEST_CASE(latency_and_a_bandwidth_cap_slow_but_do_not_break) {
  proxy_faults f;
  f.latency = 20ms;
  f.bytes_per_second = 64 * 1024;
  f.max_write = 100;
  rig t(f);
  const auto expected = t.ask(*t.direct, true);
  const auto slow = t.ask(*t.proxied, true);
  BOOST_CHECK(!slow.ec);
  BOOST_CHECK_EQUAL(slow.response.text(), expected.response.text());
  BOOST_CHECK_GE(slow.response.latency, 20ms);  // it went through the delay, at least once
}

BOOST_AUTO_TEST_CASE(a_reset_mid_stream_is_a_connection_failure_that_keeps_what_it_spent) {
  proxy_faults f;
  f.reset_after = 420;  // past the headers, inside the event stream
  rig t(f);
  const auto r = t.ask(*t.proxied, true);
  BOOST_CHECK(r.ec == error::connection_failed);
  BOOST_CHECK_GT(r.response.tokens.prompt_tokens, 0);
}

BOOST_AUTO_TEST_CASE(a_clean_close_mid_stream_is_never_a_success) {
  for (std::size_t at : {40u, 200u, 420u, 600u}) {
    BOOST_TEST_CONTEXT("closed after " << at << " bytes") {
      proxy_faults f;
      f.close_after = at;
      rig t(f);
      const auto streamed = t.ask(*t.proxied, true);
      BOOST_CHECK_MESSAGE(
          streamed.ec == error::stream_truncated || streamed.ec == error::connection_failed,
          streamed.ec.message());
      const auto whole = t.ask(*t.proxied, false);
      BOOST_CHECK_MESSAGE(whole.ec == error::connection_failed || whole.ec == error::bad_response,
                          whole.ec.message());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stall_ends_at_the_request_deadline) {
  proxy_faults f;
  f.stall_after = 300;
  rig t(f, {}, 200ms);
  const auto r = t.ask(*t.proxied, true);
  BOOST_CHECK(r.ec == error::timeout);
}

BOOST_AUTO_TEST_CASE(a_slow_close_after_each_reply_still_lets_every_request_through) {
  // The server closes after every reply, the proxy passes the close on late: the client reuses
  // a connection that is about to die, and must replace it without losing the request.
  proxy_faults f;
  f.slow_close = 30ms;
  mock::mock_options m;
  m.close_after_requests = 1;
  rig t(f, m);
  for (int i = 0; i < 5; ++i) {
    const auto r = t.ask(*t.proxied, i % 2 == 0);
    BOOST_CHECK_MESSAGE(!r.ec, r.ec.message() << ": " << r.response.diag.message);
  }
  BOOST_CHECK_EQUAL(t.server.stats().completions, 5u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_fault_proxy
