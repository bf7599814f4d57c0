#include <conclave/http/error.hpp>
#include <conclave/provider/http_errors.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_provider_errors {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace conclave;

BOOST_AUTO_TEST_SUITE(provider_errors)

BOOST_AUTO_TEST_CASE(transport_failures) {
  struct row {
    boost::system::error_code transport;
    error expected;
  };
  const row rows[] = {
      {boost::beast::error::timeout, error::timeout},
      {asio::error::timed_out, error::timeout},
      {asio::error::operation_aborted, error::cancelled},
      {asio::error::connection_refused, error::connection_failed},
      {asio::error::connection_reset, error::connection_failed},
      {asio::error::eof, error::connection_failed},
      {bhttp::error::end_of_stream, error::connection_failed},
      {bhttp::error::partial_message, error::connection_failed},
      {asio::ssl::error::stream_truncated, error::connection_failed},
      {http::error::tls_config_invalid, error::tls_failed},
      {http::error::unsafe_request, error::bad_request},  // refused by us, never sent
      {http::error::too_many_interim_responses, error::bad_response},
      {{0x0A000086, asio::error::get_ssl_category()}, error::tls_failed},  // verify failed
      {bhttp::error::body_limit, error::response_too_large},
      {bhttp::error::header_limit, error::response_too_large},
      {bhttp::error::bad_version, error::bad_response},
      {bhttp::error::bad_chunk, error::bad_response},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.transport.message()) {
      http::response resp;
      resp.ec = r.transport;
      resp.failure_detail = "detail words";
      diagnostics d;
      BOOST_CHECK(provider::classify_transport(resp, d) == r.expected);
      BOOST_CHECK_EQUAL(d.message, "detail words");
    }
  }
}

BOOST_AUTO_TEST_CASE(statuses) {
  BOOST_CHECK(provider::classify_status(400) == error::bad_request);
  BOOST_CHECK(provider::classify_status(401) == error::auth_failed);
  BOOST_CHECK(provider::classify_status(403) == error::auth_failed);
  BOOST_CHECK(provider::classify_status(404) == error::bad_request);
  BOOST_CHECK(provider::classify_status(408) == error::timeout);
  BOOST_CHECK(provider::classify_status(409) == error::provider_error);
  BOOST_CHECK(provider::classify_status(422) == error::bad_request);
  BOOST_CHECK(provider::classify_status(429) == error::rate_limited);
  BOOST_CHECK(provider::classify_status(500) == error::provider_error);
  BOOST_CHECK(provider::classify_status(502) == error::provider_error);
  BOOST_CHECK(provider::classify_status(503) == error::overloaded);
  BOOST_CHECK(provider::classify_status(529) == error::overloaded);
  // What the SDKs retry is what is_retryable says for these.
  for (unsigned s : {408u, 409u, 429u, 500u, 502u, 503u, 529u}) {
    BOOST_CHECK(is_retryable(provider::classify_status(s)));
  }
  for (unsigned s : {400u, 401u, 403u, 404u, 422u}) {
    BOOST_CHECK(!is_retryable(provider::classify_status(s)));
  }
}

BOOST_AUTO_TEST_CASE(retry_headers) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  http::header_fields h;
  h.set("retry-after", "2");
  h.set("retry-after-ms", "350");
  h.set("x-should-retry", "false");
  h.set("x-request-id", "req_123");
  diagnostics d;
  provider::read_retry_headers(h, d, now);
  BOOST_CHECK_EQUAL(d.retry_after->count(), 350);  // the finer one wins
  BOOST_CHECK(d.should_retry && !*d.should_retry);
  BOOST_CHECK_EQUAL(d.request_id, "req_123");

  http::header_fields only_seconds;
  only_seconds.set("retry-after", "Wed, 21 Oct 2015 07:28:03 GMT");
  only_seconds.set("retry-after-ms", "garbage");
  diagnostics e;
  provider::read_retry_headers(only_seconds, e, now);
  BOOST_CHECK_EQUAL(e.retry_after->count(), 3000);
  BOOST_CHECK(!e.should_retry);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_provider_errors
