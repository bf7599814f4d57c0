#include <conclave/engine/error.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_error {  // file-local names stay apart in unity batches

using conclave::error;

BOOST_AUTO_TEST_SUITE(error_codes)

BOOST_AUTO_TEST_CASE(category_and_words) {
  boost::system::error_code ec = error::rate_limited;
  BOOST_CHECK_EQUAL(ec.category().name(), std::string("conclave"));
  BOOST_CHECK_EQUAL(ec.message(), "rate limited");
  BOOST_CHECK_EQUAL(conclave::to_string(error::rate_limited), std::string("rate_limited"));
  BOOST_CHECK_EQUAL(conclave::error_id(error::timeout), "timeout");
  BOOST_CHECK_EQUAL(
      conclave::error_id(boost::system::error_code(2, boost::system::system_category())),
      "system:2");
  for (int v = 1; v <= static_cast<int>(error::internal_error); ++v) {
    BOOST_CHECK(conclave::make_error_code(static_cast<error>(v)).message().find("unknown") ==
                std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(what_the_sdks_retry) {
  BOOST_CHECK(conclave::is_retryable(error::rate_limited));
  BOOST_CHECK(conclave::is_retryable(error::overloaded));
  BOOST_CHECK(conclave::is_retryable(error::timeout));
  BOOST_CHECK(conclave::is_retryable(error::connection_failed));
  BOOST_CHECK(!conclave::is_retryable(error::auth_failed));
  BOOST_CHECK(!conclave::is_retryable(error::bad_request));
  BOOST_CHECK(!conclave::is_retryable(error::cancelled));
  BOOST_CHECK(!conclave::is_retryable(error::internal_error));
  BOOST_CHECK(!conclave::is_retryable(error::empty_answer));
  BOOST_CHECK(!conclave::is_retryable(boost::system::error_code()));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_error
