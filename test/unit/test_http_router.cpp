// The server's router without a socket: exact patterns with {name} segments, suffix routes,
// exact before suffix, HEAD served by GET, 404 and 405 with Allow; and the error body's shape.
#include <conclave/http/server.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_http_router {  // file-local names stay apart in unity batches

using conclave::http::exchange;
using conclave::http::router;

namespace {

// A handler that is never called: the tests compare which one a match found.
conclave::http::handler tag() {
  return [](exchange&) -> boost::asio::awaitable<void> { co_return; };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_router)

BOOST_AUTO_TEST_CASE(exact_patterns_capture_their_named_segments) {
  router r;
  r.add("GET", "/v1/tasks", tag()).add("GET", "/v1/tasks/{id}", tag());
  r.add("GET", "/v1/tasks/{id}/events/{n}", tag());
  const auto list = r.match("GET", "/v1/tasks");
  BOOST_REQUIRE(list.h);
  BOOST_CHECK(list.params.empty());
  const auto one = r.match("GET", "/v1/tasks/7");
  BOOST_REQUIRE(one.h);
  BOOST_CHECK(one.h != list.h);
  BOOST_CHECK_EQUAL(one.params.at("id"), "7");
  const auto ev = r.match("GET", "/v1/tasks/a%20b/events/3");
  BOOST_REQUIRE(ev.h);
  BOOST_CHECK_EQUAL(ev.params.at("id"), "a b");  // percent-decoded
  BOOST_CHECK_EQUAL(ev.params.at("n"), "3");
}

BOOST_AUTO_TEST_CASE(segments_must_line_up) {
  router r;
  r.add("GET", "/v1/tasks/{id}", tag());
  BOOST_CHECK_EQUAL(r.match("GET", "/v1/tasks/").status, 404u);  // an empty capture
  BOOST_CHECK_EQUAL(r.match("GET", "/v1/tasks/7/more").status, 404u);
  BOOST_CHECK_EQUAL(r.match("GET", "/v1/task/7").status, 404u);
  BOOST_CHECK_EQUAL(r.match("GET", "/v1/tasks").status, 404u);
  BOOST_CHECK_EQUAL(r.match("GET", "").status, 404u);
}

BOOST_AUTO_TEST_CASE(suffix_routes_match_under_any_base_path) {
  router r;
  r.add_suffix("POST", "/chat/completions", tag()).add_suffix("POST", "/messages", tag());
  BOOST_CHECK(r.match("POST", "/v1/chat/completions").h);
  BOOST_CHECK(r.match("POST", "/proxy/v1/chat/completions").h);
  BOOST_CHECK(r.match("POST", "/chat/completions").h);
  BOOST_CHECK(r.match("POST", "/messages").h);
  BOOST_CHECK_EQUAL(r.match("POST", "/v1/xmessages").status, 404u);
  BOOST_CHECK_EQUAL(r.match("POST", "/v1/messages/").status, 404u);
}

BOOST_AUTO_TEST_CASE(exact_routes_win_over_suffix_routes_and_the_first_match_wins) {
  router r;
  r.add_suffix("GET", "/models", tag());
  r.add("GET", "/v1/models", tag());
  r.add("GET", "/v1/{what}", tag());
  const auto exact = r.match("GET", "/v1/models");
  const auto suffix = r.match("GET", "/x/models");
  const auto capture = r.match("GET", "/v1/stats");
  BOOST_REQUIRE(exact.h && suffix.h && capture.h);
  BOOST_CHECK(exact.h != suffix.h);
  BOOST_CHECK(exact.h != capture.h);
  BOOST_CHECK(exact.params.empty());  // "/v1/models" was first, before "/v1/{what}"
  BOOST_CHECK_EQUAL(capture.params.at("what"), "stats");
}

BOOST_AUTO_TEST_CASE(another_method_gives_405_with_allow) {
  router r;
  r.add("GET", "/v1/tasks/{id}", tag()).add("DELETE", "/v1/tasks/{id}", tag());
  r.add_suffix("POST", "/7", tag());
  const auto m = r.match("PUT", "/v1/tasks/7");
  BOOST_CHECK(!m.h);
  BOOST_CHECK_EQUAL(m.status, 405u);
  BOOST_CHECK_EQUAL(m.allow, "GET, DELETE, POST, HEAD");
  const auto post_only = r.match("GET", "/x/7");
  BOOST_CHECK_EQUAL(post_only.status, 405u);
  BOOST_CHECK_EQUAL(post_only.allow, "POST");
}

BOOST_AUTO_TEST_CASE(head_is_served_by_get_unless_it_has_its_own_route) {
  router r;
  r.add("GET", "/a", tag()).add("GET", "/b", tag()).add("HEAD", "/b", tag());
  const auto a = r.match("HEAD", "/a");
  BOOST_CHECK(a.h == r.match("GET", "/a").h);
  const auto b = r.match("HEAD", "/b");
  BOOST_REQUIRE(b.h);
  BOOST_CHECK(b.h != r.match("GET", "/b").h);
  BOOST_CHECK_EQUAL(r.match("POST", "/b").allow, "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(no_route_at_all_is_404) {
  router r;
  const auto m = r.match("GET", "/anything");
  BOOST_CHECK(!m.h);
  BOOST_CHECK_EQUAL(m.status, 404u);
  BOOST_CHECK(m.allow.empty());
  BOOST_CHECK(!r.fallback_handler());
  r.fallback([](exchange&, unsigned) -> boost::asio::awaitable<void> { co_return; });
  BOOST_CHECK(static_cast<bool>(r.fallback_handler()));
}

BOOST_AUTO_TEST_CASE(the_error_body_has_the_openai_shape_and_escapes) {
  const auto v = boost::json::parse(
      conclave::http::error_body("bad \"x\"\n\x01", "invalid_request_error", "", "model"));
  const auto& e = v.at("error");
  BOOST_CHECK_EQUAL(e.at("message").as_string(), "bad \"x\"\n\x01");
  BOOST_CHECK_EQUAL(e.at("type").as_string(), "invalid_request_error");
  BOOST_CHECK(e.at("code").is_null());
  BOOST_CHECK_EQUAL(e.at("param").as_string(), "model");
  const auto w = boost::json::parse(conclave::http::error_body("m", "t", "c"));
  BOOST_CHECK(w.at("error").at("param").is_null());
  BOOST_CHECK_EQUAL(w.at("error").at("code").as_string(), "c");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_http_router
