#include <conclave/mock/scenario.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

namespace json = boost::json;
using namespace conclave;
using namespace conclave::mock;

namespace {

incoming_request ask(std::string text, std::string model = "mock") {
  incoming_request r;
  r.model = std::move(model);
  r.messages.push_back({role::user, std::move(text)});
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_scenario)

BOOST_AUTO_TEST_CASE(fault_names) {
  BOOST_CHECK(fault_from_model("mock") == fault::none);
  BOOST_CHECK(fault_from_model("gpt-4o") == fault::none);
  BOOST_CHECK(fault_from_model("mock-429") == fault::rate_limited);
  BOOST_CHECK(fault_from_model("mock-500") == fault::server_error);
  BOOST_CHECK(fault_from_model("mock-503") == fault::unavailable);
  BOOST_CHECK(fault_from_model("mock-hang") == fault::hang);
  BOOST_CHECK(fault_from_model("mock-reset") == fault::reset);
  BOOST_CHECK(fault_from_model("mock-malformed") == fault::malformed);
  BOOST_CHECK(fault_from_model("mock-truncated") == fault::truncated);
  BOOST_CHECK(fault_from_model("mock-drip") == fault::drip);
  BOOST_CHECK(fault_from_model("mock-error-event") == fault::error_event);
  BOOST_CHECK(fault_from_model("mock-length") == fault::length);
  BOOST_CHECK(fault_from_model("mock-filtered") == fault::filtered);
  BOOST_CHECK(fault_from_model("mock-empty") == fault::empty);
  BOOST_CHECK(fault_from_model("mock-echo-401") == fault::echo_401);
  BOOST_CHECK(fault_from_model("mock-echo-text") == fault::echo_text);
  BOOST_CHECK(fault_from_model("mock-echo-200-error") == fault::echo_200_error);
  BOOST_CHECK(fault_from_model("mock-echo-malformed") == fault::echo_malformed);
  BOOST_CHECK(fault_from_model("mock-echo-stream") == fault::echo_stream);
  BOOST_CHECK(fault_from_model("mock-html") == fault::html);
  BOOST_CHECK(fault_from_model("mock-early-hints") == fault::early_hints);
  // Every kind has its own name, and the names map back ("mock-" + name, but for the
  // statuses): fault_kinds counts them all.
  std::set<std::string> names;
  for (std::size_t k = 0; k < fault_kinds; ++k) names.insert(to_string(static_cast<fault>(k)));
  BOOST_CHECK_EQUAL(names.size(), fault_kinds);
  BOOST_CHECK(fault_from_model(std::string("mock-") + to_string(fault::early_hints)) ==
              fault::early_hints);
}

BOOST_AUTO_TEST_CASE(decomposition_into_thousands_of_subquestions) {
  auto req = ask("Split the question into 10000 sub-questions.\nQuestion: Why?");
  BOOST_REQUIRE(requested_subquestions(req));
  BOOST_CHECK_EQUAL(*requested_subquestions(req), 10'000);
  BOOST_CHECK_EQUAL(json::parse(reply_text(req, 10)).as_array().size(), 10'000u);
  BOOST_CHECK_EQUAL(*requested_subquestions(ask("Split it into 12345 sub-questions.")), 10'000);
  BOOST_CHECK_EQUAL(
      *requested_subquestions(ask("Split it into 99999999999999999999 sub-questions.")),
      max_subquestions);
  BOOST_CHECK_EQUAL(*requested_subquestions(ask("Split it into 00007 sub-questions.")), 7);
}

BOOST_AUTO_TEST_CASE(replies_are_deterministic_and_differ_by_prompt) {
  const auto a = reply_text(ask("Why is the sky blue?"), 12);
  BOOST_CHECK_EQUAL(a, reply_text(ask("Why is the sky blue?"), 12));
  BOOST_CHECK_NE(a, reply_text(ask("Why is grass green?"), 12));
  BOOST_CHECK(a.find("Why is the sky blue?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(decomposition_returns_n_distinct_subquestions) {
  for (int n : {1, 3, 8, 20}) {
    auto req = ask("Split the question into " + std::to_string(n) +
                   " independent sub-questions.\nQuestion: How should a city cut traffic deaths?");
    BOOST_REQUIRE(requested_subquestions(req));
    BOOST_CHECK_EQUAL(*requested_subquestions(req), n);
    const auto arr = json::parse(reply_text(req, 10)).as_array();
    BOOST_REQUIRE_EQUAL(arr.size(), static_cast<std::size_t>(n));
    std::set<std::string> distinct;
    for (const auto& q : arr) {
      distinct.insert(std::string(q.as_string()));
      BOOST_CHECK(std::string(q.as_string()).find("traffic deaths") != std::string::npos);
    }
    BOOST_CHECK_EQUAL(distinct.size(), static_cast<std::size_t>(n));
  }
  BOOST_CHECK(!requested_subquestions(ask("What are sub-questions?")));
}

BOOST_AUTO_TEST_CASE(request_parsing) {
  incoming_request r;
  std::string why;
  BOOST_CHECK(parse_request(
      R"({"model":"mock","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"developer","content":"x"},{"role":"user","content":"y"}]})",
      r, why));
  BOOST_CHECK(r.stream);
  BOOST_CHECK(r.include_usage);
  BOOST_CHECK(r.messages[0].who == role::system);

  for (const char* bad : {"", "[]", R"({"messages":[]})", R"({"model":"m"})",
                          R"({"model":"m","messages":[{"role":"alien","content":"x"}]})",
                          R"({"model":"m","messages":[{"role":"user"}]})"}) {
    BOOST_TEST_CONTEXT("body: " << bad) {
      incoming_request x;
      std::string reason;
      BOOST_CHECK(!parse_request(bad, x, reason));
      BOOST_CHECK(!reason.empty());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
