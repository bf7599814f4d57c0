#include <conclave/http/header_safety.hpp>
#include <conclave/http/header_values.hpp>
#include <conclave/http/origin.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_header_values {  // file-local names stay apart in unity batches

using namespace std::chrono;
using namespace conclave::http;

namespace {
// Wed, 21 Oct 2015 07:28:00 GMT
const system_clock::time_point reference = system_clock::from_time_t(1445412480);
}  // namespace

BOOST_AUTO_TEST_SUITE(header_values)

BOOST_AUTO_TEST_CASE(retry_after_forms) {
  struct row {
    const char* value;
    std::optional<long long> ms;
  };
  const row rows[] = {
      {"0", 0},
      {"1", 1000},
      {"60", 60'000},
      {"61", 61'000},  // capping is the retry policy's job, not the parser's
      {"1.5", 1500},
      {"-5", 0},
      {"  7 ", 7000},
      {"Wed, 21 Oct 2015 07:28:30 GMT", 30'000},      // 30 s after the reference
      {"Wed, 21 Oct 2015 07:27:00 GMT", 0},           // in the past
      {"Wednesday, 21-Oct-15 07:28:10 GMT", 10'000},  // RFC 850
      {"Wed Oct 21 07:28:05 2015", 5000},             // asctime
      {"Wed, 21 Oct 2015 07:28:30 PST", std::nullopt},
      {"Wed, 32 Oct 2015 07:28:30 GMT", std::nullopt},
      {"soon", std::nullopt},
      {"", std::nullopt},
      {"12abc", std::nullopt},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("Retry-After: '" << r.value << "'") {
      const auto got = parse_retry_after(r.value, reference);
      BOOST_CHECK_EQUAL(got.has_value(), r.ms.has_value());
      if (got && r.ms) BOOST_CHECK_EQUAL(got->count(), *r.ms);
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_after_ms_forms) {
  BOOST_CHECK_EQUAL(parse_retry_after_ms("250")->count(), 250);
  BOOST_CHECK_EQUAL(parse_retry_after_ms("12.7")->count(), 12);
  BOOST_CHECK_EQUAL(parse_retry_after_ms("-3")->count(), 0);
  BOOST_CHECK(!parse_retry_after_ms(""));
  BOOST_CHECK(!parse_retry_after_ms("1s"));
}

BOOST_AUTO_TEST_CASE(durations_as_openai_sends_them) {
  BOOST_CHECK_EQUAL(parse_duration("1s")->count(), 1000);
  BOOST_CHECK_EQUAL(parse_duration("6m0s")->count(), 360'000);
  BOOST_CHECK_EQUAL(parse_duration("12ms")->count(), 12);
  BOOST_CHECK_EQUAL(parse_duration("1h2m3.5s")->count(), 3'723'500);
  BOOST_CHECK_EQUAL(parse_duration("0.5")->count(), 500);
  BOOST_CHECK_EQUAL(parse_duration("750us")->count(), 1);
  BOOST_CHECK(!parse_duration("5 minutes"));
  BOOST_CHECK(!parse_duration("s"));
  BOOST_CHECK(!parse_duration(""));
}

BOOST_AUTO_TEST_CASE(counts) {
  BOOST_CHECK_EQUAL(*parse_count("59"), 59);
  BOOST_CHECK(!parse_count("-1"));
  BOOST_CHECK(!parse_count("1e3"));
}

BOOST_AUTO_TEST_CASE(base_urls) {
  auto a = parse_base_url("https://api.openai.com/v1/");
  BOOST_REQUIRE(a);
  BOOST_CHECK(a->where.tls);
  BOOST_CHECK_EQUAL(a->where.host, "api.openai.com");
  BOOST_CHECK_EQUAL(a->where.port, 443);
  BOOST_CHECK_EQUAL(a->target("chat/completions"), "/v1/chat/completions");
  BOOST_CHECK_EQUAL(a->where.host_header(), "api.openai.com");

  auto b = parse_base_url("http://127.0.0.1:8000/v1");
  BOOST_REQUIRE(b);
  BOOST_CHECK(!b->where.tls);
  BOOST_CHECK_EQUAL(b->where.port, 8000);
  BOOST_CHECK_EQUAL(b->where.host_header(), "127.0.0.1:8000");
  BOOST_CHECK_EQUAL(b->where.key(), "http://127.0.0.1:8000");

  auto c = parse_base_url("http://[::1]:9000");
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c->where.host, "::1");
  BOOST_CHECK_EQUAL(c->where.host_header(), "[::1]:9000");
  BOOST_CHECK_EQUAL(c->target("/chat/completions"), "/chat/completions");

  BOOST_CHECK(!parse_base_url("ftp://example.com"));
  BOOST_CHECK(!parse_base_url("api.openai.com/v1"));
  BOOST_CHECK(!parse_base_url("http://host:99999/"));
  BOOST_CHECK(!parse_base_url("http://host/v1?x=1"));
  BOOST_CHECK(!parse_base_url("http://user:pw@host/v1"));

  // Refused without echoing: a message holding the raw bytes could forge log lines.
  for (const char* bad : {"http://host/v1\r\nX-Injected: 1", "http://host/v1\x1b[2J",
                          "http://ho st/v1", "http://host/v1\x7f", " http://host/v1"}) {
    BOOST_TEST_CONTEXT("url: " << bad) {
      auto r = parse_base_url(bad);
      BOOST_REQUIRE(!r);
      BOOST_CHECK(find_control_char(r.error()) == std::string_view::npos);
      BOOST_CHECK(r.error().find("host") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(header_safety) {
  BOOST_CHECK_EQUAL(find_control_char("plain text"), std::string_view::npos);
  BOOST_CHECK_EQUAL(find_control_char("a\tb"), 1u);
  BOOST_CHECK_EQUAL(find_control_char(std::string_view("ab\0", 3)), 2u);
  BOOST_CHECK_EQUAL(find_control_char("abc\x7f"), 3u);
  BOOST_CHECK_EQUAL(find_control_char("caf\xC3\xA9"), std::string_view::npos);  // UTF-8 is fine
  BOOST_CHECK(is_safe_header_value("Bearer sk-abc\tdef"));
  BOOST_CHECK(!is_safe_header_value("Bearer sk\r\nX-Injected: 1"));
  BOOST_CHECK(!is_safe_header_value("a\nb"));
  BOOST_CHECK(!is_safe_header_value(std::string_view("a\0b", 3)));
  BOOST_CHECK(parse_base_url("ftp://x").error().find("scheme") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_header_values
