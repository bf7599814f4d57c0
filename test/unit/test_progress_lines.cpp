// The progress lines a run's events become in the reasoning stream, hostile model text included.
#include <conclave/engine/events.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/text.hpp>
#include <conclave/serve/openai_compat.hpp>

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>

namespace unit_test_progress_lines {  // file-local names stay apart in unity batches

namespace serve = conclave::serve;
using conclave::event;
using conclave::event_kind;

namespace {

event agent_event(event_kind k, std::size_t index, std::string text = {}) {
  event e;
  e.kind = k;
  e.agent = index;
  e.text = std::move(text);
  return e;
}

event with_answer(event e, std::string answer) {
  auto rep = std::make_shared<conclave::agent_report>();
  rep->answer = std::move(answer);
  e.report = rep;
  return e;
}

std::string line(const event& e, std::size_t total = 5, std::string_view sub = {}) {
  const auto l = serve::progress_line(e, total, sub);
  BOOST_REQUIRE_MESSAGE(l.has_value(), conclave::to_string(e.kind));
  return *l;
}

// One clean line: ends in one "\n", no other control character, valid UTF-8.
void check_clean(const std::string& l) {
  BOOST_TEST(conclave::text::is_valid_utf8(l));
  BOOST_REQUIRE(!l.empty());
  BOOST_TEST(l.back() == '\n');
  for (std::size_t i = 0; i + 1 < l.size(); ++i) {
    const auto c = static_cast<unsigned char>(l[i]);
    BOOST_TEST((c >= 0x20 && c != 0x7F), "control byte " << int(c) << " at " << i);
  }
  BOOST_TEST(l.find("\xC2\x9B") == std::string::npos);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_compat)

BOOST_AUTO_TEST_CASE(decomposed_lists_the_sub_questions) {
  event e;
  e.kind = event_kind::decomposed;
  e.count = 3;
  auto run = std::make_shared<conclave::run_report>();
  run->sub_questions = {"What is Rayleigh scattering?", "Why not violet?\nSecond line",
                        std::string(300, 'q')};
  e.run = run;
  const auto l = line(e);
  BOOST_TEST(l.starts_with("Decomposed into 3 sub-questions.\n"));
  BOOST_TEST(l.find("  1. What is Rayleigh scattering?\n") != std::string::npos);
  BOOST_TEST(l.find("  2. Why not violet? Second line\n") != std::string::npos);
  BOOST_TEST(l.find("  3. " + std::string(97, 'q') + "\xE2\x80\xA6\n") != std::string::npos);
  event one;
  one.kind = event_kind::decomposed;
  one.count = 1;
  one.text = "decomposition failed: bad JSON";
  BOOST_TEST(line(one) == "Decomposed into 1 sub-question: decomposition failed: bad JSON\n");
}

BOOST_AUTO_TEST_CASE(agent_lines) {
  auto started = agent_event(event_kind::started, 1);
  started.attempt = 1;
  started.turn = 1;
  BOOST_TEST(line(started, 5, "Why not violet?") == "Agent 2/5 started: Why not violet?\n");
  BOOST_TEST(line(started, 5) == "Agent 2/5 started.\n");
  BOOST_TEST(line(started, 0) == "Agent 2 started.\n");
  started.attempt = 2;  // a retry's call or a later turn: already said
  BOOST_TEST(!serve::progress_line(started, 5).has_value());
  started.attempt = 1;
  started.turn = 2;
  BOOST_TEST(!serve::progress_line(started, 5).has_value());

  auto done = with_answer(agent_event(event_kind::completed, 2),
                          "\n## Short answer: blue light scatters more\n\nDetails follow.");
  BOOST_TEST(line(done) == "Agent 3/5 done: Short answer: blue light scatters more\n");
  done.stop = conclave::stop_reason::length;
  BOOST_TEST(line(done).starts_with("Agent 3/5 done (truncated): Short answer"));
  BOOST_TEST(line(agent_event(event_kind::completed, 0)) == "Agent 1/5 done.\n");

  BOOST_TEST(line(agent_event(event_kind::failed, 2, "provider said 500")) ==
             "Agent 3/5 failed: provider said 500\n");
  auto failed = agent_event(event_kind::failed, 2);
  auto rep = std::make_shared<conclave::agent_report>();
  rep->diag.message = "connection reset";
  failed.report = rep;
  BOOST_TEST(line(failed) == "Agent 3/5 failed: connection reset\n");
  BOOST_TEST(line(agent_event(event_kind::timed_out, 2)) == "Agent 3/5 failed (timeout).\n");
  BOOST_TEST(line(agent_event(event_kind::cancelled, 4)) == "Agent 5/5 cancelled.\n");
  BOOST_TEST(line(agent_event(event_kind::skipped, 3, "dependency s1 failed")) ==
             "Agent 4/5 skipped: dependency s1 failed\n");
  BOOST_TEST(line(agent_event(event_kind::stopped, 0, "max_turns")) ==
             "Agent 1/5 stopped, partial answer kept: max_turns\n");

  auto retry = agent_event(event_kind::retrying, 0, "rate limited (429)");
  retry.attempt = 2;
  BOOST_TEST(line(retry) == "Agent 1/5 retrying (attempt 2): rate limited (429)\n");

  auto tool = agent_event(event_kind::tool_call_started, 0);
  tool.tool = "web_search";
  BOOST_TEST(line(tool) == "Agent 1/5 calls a tool: web_search\n");
  auto tool_done = agent_event(event_kind::tool_call_finished, 0);
  tool_done.tool = "web_search";
  BOOST_TEST(!serve::progress_line(tool_done, 5).has_value());
  tool_done.text = "timed out";
  BOOST_TEST(line(tool_done) == "Agent 1/5 tool web_search failed: timed out\n");
}

BOOST_AUTO_TEST_CASE(judged_and_run_lines) {
  BOOST_TEST(line(agent_event(event_kind::judged, 1, "pass")) == "Agent 2/5 judged pass.\n");
  auto judged = agent_event(event_kind::judged, 1, "needs_improvement");
  auto rep = std::make_shared<conclave::agent_report>();
  rep->critique = "Misses the sunset case.\nMore.";
  judged.report = rep;
  BOOST_TEST(line(judged) == "Agent 2/5 judged needs_improvement: Misses the sunset case.\n");

  event syn;
  syn.kind = event_kind::synthesis_started;
  syn.count = 5;
  syn.text = "synthesize";
  BOOST_TEST(line(syn) == "Combining 5 decisions.\n");
  syn.text = "vote";
  BOOST_TEST(line(syn) == "Voting on 5 answers.\n");
  syn.text = "select";
  BOOST_TEST(line(syn) == "Selecting the best of 5 answers.\n");

  event budget;
  budget.kind = event_kind::budget_exhausted;
  budget.text = "token cap 10000";
  BOOST_TEST(line(budget) == "Budget reached, stopping: token cap 10000\n");

  event fin;
  fin.kind = event_kind::finished;
  fin.text = "ok";
  BOOST_TEST(!serve::progress_line(fin, 5).has_value());
  fin.text = "timeout";
  BOOST_TEST(line(fin) == "Run ended: timeout\n");

  for (auto k : {event_kind::queued, event_kind::progress, event_kind::combined}) {
    BOOST_TEST(!serve::progress_line(agent_event(k, 0, "text"), 5).has_value());
  }
}

BOOST_AUTO_TEST_CASE(every_kind_is_one_clean_line_or_nothing) {
  const std::string hostile =
      "\x1B[2J\x1B[31mred\x1B[0m \x1B]0;owned title\x07ok\rover\x08\x7F\ttab\nnext "
      "\xC2\x9B"
      "31m\xC2\x85nel\xE2\x80\xAE"
      "rtl\xE2\x80\xA8sep \xFF\xFE bad " +
      std::string(5000, 'x') + "\xE2\x82\xAC";
  auto run = std::make_shared<conclave::run_report>();
  run->sub_questions = {hostile, hostile};
  for (int k = 0; k <= static_cast<int>(event_kind::finished); ++k) {
    auto e = with_answer(agent_event(static_cast<event_kind>(k), 0, hostile), hostile);
    e.count = 2;
    e.tool = hostile;
    e.run = run;
    e.attempt = 1;
    e.turn = 1;
    const auto out = serve::progress_line(e, 2, hostile);
    if (!out) continue;
    // Each line of the result is clean and bounded.
    std::size_t at = 0;
    while (at < out->size()) {
      const auto end = out->find('\n', at);
      BOOST_REQUIRE(end != std::string::npos);
      const std::string l = out->substr(at, end + 1 - at);
      check_clean(l);
      BOOST_TEST(l.size() < 600u, conclave::to_string(e.kind));
      BOOST_TEST(l.find("owned title") == std::string::npos);
      BOOST_TEST(l.find("[31m") == std::string::npos);
      at = end + 1;
    }
  }
}

BOOST_AUTO_TEST_CASE(one_line_cleans_and_cuts) {
  BOOST_TEST(serve::one_line("\x1B[1mbold\x1B[0m text", 100) == "bold text");
  BOOST_TEST(serve::one_line("  a\r\n\n  b\t\tc  ", 100) == "a b c");
  BOOST_TEST(serve::one_line("\x1B]8;;http://x\x1B\\link\x1B]8;;\x1B\\", 100) == "link");
  BOOST_TEST(serve::one_line("bell\x07", 100) == "bell");
  BOOST_TEST(serve::one_line("a\xE2\x80\xAE"
                             "b",
                             100) == "ab");
  BOOST_TEST(serve::one_line("", 10) == "");
  // Cut on a character boundary, with an ellipsis inside the bound.
  const std::string euros = "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC";  // 4 x €
  const auto cut = serve::one_line(euros, 8);
  BOOST_TEST(cut == "\xE2\x82\xAC\xE2\x80\xA6");
  BOOST_TEST(cut.size() <= 8u);
  for (std::size_t n = 0; n <= 14; ++n) {
    const auto c = serve::one_line(euros + " abc", n);
    BOOST_TEST(c.size() <= n);
    BOOST_TEST(conclave::text::is_valid_utf8(c));
  }
  // A split character at the end of the input is repaired, not passed on.
  BOOST_TEST(conclave::text::is_valid_utf8(serve::one_line("ab\xE2\x82", 100)));
  // An escape left open at the end swallows nothing before it.
  BOOST_TEST(serve::one_line("keep\x1B[", 100) == "keep");
  BOOST_TEST(serve::one_line("keep\x1B", 100) == "keep");
  // ESC before a multi-byte character takes only itself: the character stays whole.
  BOOST_TEST(serve::one_line("a\x1B\xC3\xA9", 100) == "a\xC3\xA9");
  BOOST_TEST(serve::one_line("\x1B(Bx\x1B"
                             "7y",
                             100) == "xy");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_progress_lines
