// header_fields: Beast's fields over a block of their own. What a block holds stays valid as
// long as any fields or request sharing it, whatever is erased, moved, copied or swapped.
#include <conclave/http/client.hpp>
#include <conclave/http/header_fields.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>

namespace unit_test_header_fields {  // file-local names stay apart in unity batches

namespace bhttp = boost::beast::http;
using namespace conclave;

namespace {

std::string value_of(int i) { return std::string(40 + i, static_cast<char>('a' + i % 26)); }

// 30 fields, each past a 16-byte block: nearly every one takes a new block of the arena.
http::header_fields filled_in_a_small_block() {
  http::header_fields f(http::header_allocator<char>::with_block(16));
  for (int i = 0; i < 30; ++i) f.insert("x-field-" + std::to_string(i), value_of(i));
  return f;
}

void expect_all(const http::header_fields& f, int from = 0) {
  for (int i = from; i < 30; ++i) {
    BOOST_CHECK_EQUAL(f["x-field-" + std::to_string(i)], value_of(i));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(header_fields)

BOOST_AUTO_TEST_CASE(fields_past_their_first_block_are_all_kept) {
  auto f = filled_in_a_small_block();
  expect_all(f);
  f.erase("x-field-0");
  f.set("x-field-1", "replaced");
  BOOST_CHECK_EQUAL(f["x-field-1"], "replaced");
  BOOST_CHECK(f.find("x-field-0") == f.end());
  expect_all(f, 2);
}

BOOST_AUTO_TEST_CASE(moves_and_copies_outlive_the_fields_they_came_from) {
  http::header_fields copy;
  http::header_fields moved_into;
  {
    auto f = filled_in_a_small_block();
    copy = f;  // its own storage: a copy never shares the block
    http::header_fields copied_from_copy(copy);
    expect_all(copied_from_copy);
    auto g = filled_in_a_small_block();
    moved_into = std::move(g);  // into its own storage too: g keeps its block to itself
    BOOST_CHECK(moved_into.get_allocator() != g.get_allocator());
    g.insert("x-later", "g's own");
    http::header_fields made(std::move(f));  // move-made: takes the block
    expect_all(made);
    made.insert("x-after", "more");
    BOOST_CHECK_EQUAL(made["x-after"], "more");
  }
  expect_all(copy);
  expect_all(moved_into);

  http::header_fields plain;
  plain.insert("x-plain", "p");
  swap(plain, moved_into);  // allocators go with their fields
  expect_all(plain);
  BOOST_CHECK_EQUAL(moved_into["x-plain"], "p");
}

BOOST_AUTO_TEST_CASE(a_made_request_holds_its_target_and_fields_in_its_block) {
  auto base = *http::parse_base_url("http://127.0.0.1:8080/v1/");
  auto m = http::make_request(bhttp::verb::post, base, "/chat/completions", 16);
  m.set(bhttp::field::content_type, "application/json");
  m.set(bhttp::field::authorization, "Bearer " + std::string(200, 'k'));
  auto moved = std::move(m);
  BOOST_CHECK_EQUAL(moved.target(), "/v1/chat/completions");
  BOOST_CHECK_EQUAL(moved.target(), base.target("chat/completions"));
  BOOST_CHECK_EQUAL(moved[bhttp::field::content_type], "application/json");
  BOOST_CHECK_EQUAL(moved[bhttp::field::authorization].size(), 207u);
  BOOST_CHECK(moved.method() == bhttp::verb::post);
  BOOST_CHECK_EQUAL(moved.version(), 11u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_header_fields
