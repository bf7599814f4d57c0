// The attempt log without a run: the entry a report makes, where the log lives, appending
// (permissions, links, FIFOs), reading back a damaged file, and the table with hostile text.
#include "attempt_log.hpp"
#include "temp_file.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace unit_test_attempt_log {  // file-local names stay apart in unity batches

namespace cli = conclave::cli;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace text = conclave::text;
using conclave::agent_status;
using conclave::run_report;
using namespace std::chrono_literals;

using conclave::test::temp_dir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

run_report three_agents() {
  run_report r;
  r.question = "How do tides work?";
  for (std::size_t i = 0; i < 3; ++i) {
    conclave::agent_report a;
    a.index = i;
    a.status = i == 2 ? agent_status::timed_out : agent_status::ok;
    a.latency = std::chrono::microseconds(1'000'000 + 250'000 * static_cast<long>(i));
    a.queued = 5ms;
    a.attempts = static_cast<int>(i) + 1;
    a.tokens.prompt_tokens = 100;
    a.tokens.completion_tokens = 20 * static_cast<long>(i + 1);
    r.agents.push_back(a);
  }
  r.decomposition_tokens.prompt_tokens = 10;
  r.synthesis_tokens.completion_tokens = 5;
  r.wall = 2'500ms;
  r.fan_out_wall = 1'000ms;
  r.agent_time_sum = 3'750ms;
  return r;
}

// 2026-11-26T05:55:01.234Z
const auto fixed_time = std::chrono::system_clock::time_point(1'795'672'501'234ms);

json::object entry(std::string question, std::string outcome, double speedup, int agents) {
  json::array subtasks;
  for (int i = 0; i < agents; ++i) subtasks.push_back(json::object{{"status", "ok"}});
  return {{"v", 1},
          {"when", "2026-11-26T05:55:01.234Z"},
          {"command", "ask"},
          {"question", question},
          {"subtasks", std::move(subtasks)},
          {"wall_ms", 1234.5},
          {"speedup", speedup},
          {"tokens", json::object{{"total", 12345}}},
          {"cost", nullptr},
          {"outcome", outcome}};
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attempt_log)

BOOST_AUTO_TEST_CASE(an_entry_holds_the_run_in_one_object) {
  const auto e = cli::log_entry(three_agents(), {}, "ask", fixed_time);
  BOOST_CHECK_EQUAL(e.at("v").to_number<int>(), 1);
  BOOST_CHECK_EQUAL(e.at("when").as_string(), "2026-11-26T05:55:01.234Z");
  BOOST_CHECK_EQUAL(e.at("command").as_string(), "ask");
  BOOST_CHECK_EQUAL(e.at("question").as_string(), "How do tides work?");
  const auto& plan = e.at("plan").as_object();
  BOOST_CHECK_EQUAL(plan.at("subtasks").to_number<int>(), 3);
  BOOST_CHECK_EQUAL(plan.at("edges").to_number<int>(), 0);
  BOOST_CHECK_EQUAL(plan.at("depth").to_number<int>(), 1);
  const auto& subtasks = e.at("subtasks").as_array();
  BOOST_REQUIRE_EQUAL(subtasks.size(), 3u);
  const auto& third = subtasks[2].as_object();
  BOOST_CHECK_EQUAL(third.at("index").to_number<int>(), 3);
  BOOST_CHECK_EQUAL(third.at("id").as_string(), "");
  BOOST_CHECK_EQUAL(third.at("status").as_string(), "timed_out");
  BOOST_CHECK_CLOSE(third.at("wall_ms").to_number<double>(), 1500.0, 1e-9);
  BOOST_CHECK_EQUAL(third.at("attempts").to_number<int>(), 3);
  BOOST_CHECK_EQUAL(third.at("tokens").to_number<int>(), 160);
  BOOST_CHECK_CLOSE(e.at("wall_ms").to_number<double>(), 2500.0, 1e-9);
  BOOST_CHECK_CLOSE(e.at("agent_time_sum_ms").to_number<double>(), 3750.0, 1e-9);
  BOOST_CHECK_CLOSE(e.at("speedup").to_number<double>(), 3.75, 1e-9);
  const auto& tokens = e.at("tokens").as_object();
  BOOST_CHECK_EQUAL(tokens.at("input").to_number<int>(), 310);
  BOOST_CHECK_EQUAL(tokens.at("output").to_number<int>(), 125);
  BOOST_CHECK_EQUAL(tokens.at("total").to_number<int>(), 435);
  BOOST_CHECK(e.at("cost").is_null());  // no price table
  BOOST_CHECK_EQUAL(e.at("outcome").as_string(), "ok");

  // One line of plain JSON that reads back the same.
  const std::string line = conclave::to_plain_json(e);
  BOOST_CHECK_EQUAL(line.find('\n'), std::string::npos);
  BOOST_CHECK_EQUAL(conclave::to_plain_json(json::parse(line)), line);
}

BOOST_AUTO_TEST_CASE(the_outcome_says_degraded_or_names_the_error) {
  auto r = three_agents();
  r.degraded = true;
  r.priced = true;
  r.cost = 0.0125;
  auto e = cli::log_entry(r, {}, "run", fixed_time);
  BOOST_CHECK_EQUAL(e.at("outcome").as_string(), "degraded");
  BOOST_CHECK_EQUAL(e.at("command").as_string(), "run");
  BOOST_CHECK_CLOSE(e.at("cost").to_number<double>(), 0.0125, 1e-9);
  e = cli::log_entry(r, conclave::error::all_agents_failed, "ask", fixed_time);
  BOOST_CHECK_EQUAL(e.at("outcome").as_string(), "all_agents_failed");
  e = cli::log_entry(r, conclave::error::cancelled, "ask", fixed_time);
  BOOST_CHECK_EQUAL(e.at("outcome").as_string(), "cancelled");
}

BOOST_AUTO_TEST_CASE(a_long_question_is_cut_on_a_character_boundary) {
  run_report r;
  std::string long_q;
  for (int i = 0; i < 1500; ++i) long_q += "\xC3\xA9";  // é: 3000 bytes
  r.question = long_q;
  auto q = std::string(cli::log_entry(r, {}, "ask", fixed_time).at("question").as_string());
  BOOST_CHECK_EQUAL(q.size(), 2000u);
  BOOST_CHECK(text::is_valid_utf8(q));
  r.question = std::string(1999, 'a') + "\xC3\xA9";
  q = std::string(cli::log_entry(r, {}, "ask", fixed_time).at("question").as_string());
  BOOST_CHECK_EQUAL(q, std::string(1999, 'a'));
  r.question = "bad \xFF byte";  // never valid input, but the log stays valid JSON text
  q = std::string(cli::log_entry(r, {}, "ask", fixed_time).at("question").as_string());
  BOOST_CHECK(text::is_valid_utf8(q));
}

BOOST_AUTO_TEST_CASE(times_are_rfc3339_utc_with_milliseconds) {
  BOOST_CHECK_EQUAL(cli::rfc3339_utc(fixed_time), "2026-11-26T05:55:01.234Z");
  BOOST_CHECK_EQUAL(cli::rfc3339_utc(std::chrono::system_clock::time_point{}),
                    "1970-01-01T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cli::rfc3339_utc(std::chrono::system_clock::time_point(-1ms)),
                    "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(the_default_path_follows_the_xdg_spec) {
  auto path = [](std::map<std::string, std::string> vars) {
    return cli::default_log_path([&](const char* name) {
      auto it = vars.find(name);
      return it == vars.end() ? std::string() : it->second;
    });
  };
  using opt = std::optional<std::string>;
  BOOST_CHECK(path({{"XDG_STATE_HOME", "/s"}, {"HOME", "/h"}}) == opt("/s/conclave/runs.jsonl"));
  BOOST_CHECK(path({{"XDG_STATE_HOME", "/s//"}}) == opt("/s/conclave/runs.jsonl"));
  BOOST_CHECK(path({{"HOME", "/h"}}) == opt("/h/.local/state/conclave/runs.jsonl"));
  BOOST_CHECK(path({{"XDG_STATE_HOME", ""}, {"HOME", "/h"}}) ==
              opt("/h/.local/state/conclave/runs.jsonl"));
  // A relative XDG_STATE_HOME is invalid: ignored, so HOME's default applies.
  BOOST_CHECK(path({{"XDG_STATE_HOME", "state"}, {"HOME", "/h"}}) ==
              opt("/h/.local/state/conclave/runs.jsonl"));
  BOOST_CHECK(path({{"XDG_STATE_HOME", "/"}}) == opt("/conclave/runs.jsonl"));
  BOOST_CHECK(path({}) == std::nullopt);
  BOOST_CHECK(path({{"XDG_STATE_HOME", "./s"}, {"HOME", "relative"}}) == std::nullopt);
}

BOOST_AUTO_TEST_CASE(appending_creates_private_directories_and_file) {
  temp_dir dir;
  const std::string path = dir / "a/b/runs.jsonl";
  const auto e = cli::log_entry(three_agents(), {}, "ask", fixed_time);
  BOOST_REQUIRE_EQUAL(cli::append_log(path, e), "");
  BOOST_REQUIRE_EQUAL(cli::append_log(path, e), "");
  const auto lines = lines_of(slurp(path));
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_CHECK_EQUAL(lines[1], conclave::to_plain_json(e));
  struct stat st;
  BOOST_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  BOOST_REQUIRE_EQUAL(::stat((dir / "a").c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 077, 0u);  // no one else may look
  BOOST_REQUIRE_EQUAL(::stat((dir / "a/b").c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 077, 0u);
}

BOOST_AUTO_TEST_CASE(appending_refuses_links_fifos_and_says_where) {
  temp_dir dir;
  const auto e = cli::log_entry(three_agents(), {}, "ask", fixed_time);
  std::ofstream(dir / "target") << "mine\n";
  fs::create_symlink(dir / "target", dir / "link.jsonl");
  auto why = cli::append_log(dir / "link.jsonl", e);
  BOOST_CHECK_MESSAGE(why.find("symbolic link") != std::string::npos, why);
  BOOST_CHECK(why.find(dir / "link.jsonl") != std::string::npos);
  BOOST_CHECK_EQUAL(slurp(dir / "target"), "mine\n");  // untouched

  BOOST_REQUIRE_EQUAL(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  why = cli::append_log(dir / "fifo", e);  // returns at once: no reader needed
  BOOST_CHECK_MESSAGE(why.find("not a regular file") != std::string::npos, why);

  // A directory that cannot be made (a file is in the way): said, not thrown.
  why = cli::append_log(dir / "target/sub/runs.jsonl", e);
  BOOST_CHECK_MESSAGE(why.find(dir / "target/sub/runs.jsonl") != std::string::npos, why);
  BOOST_CHECK_MESSAGE(why.find(dir / "target is not a directory") != std::string::npos, why);
  why = cli::append_log(dir / "", e);  // the path is a directory
  BOOST_CHECK(!why.empty());
}

BOOST_AUTO_TEST_CASE(reading_skips_what_is_not_an_entry) {
  temp_dir dir;
  const std::string path = dir / "runs.jsonl";
  static constexpr char binary[] = "\x00\xFF\xFE binary\x1b[2J";
  std::string file;
  for (int i = 1; i <= 5; ++i) {
    file += conclave::to_plain_json(entry("q" + std::to_string(i), "ok", 2.0, 3)) + "\n";
    if (i == 2) file += "not json\n";
    if (i == 3) file += std::string(binary, sizeof binary - 1) + "\n[1,2]\n\n";
    if (i == 4) file += "{\"huge\": \"" + std::string(1 << 20, 'x') + "\"\n";  // 1 MiB, cut
  }
  file += "{\"v\":1,\"when\":\"2026-";  // a last line cut short (a write in progress)
  std::ofstream(path, std::ios::binary) << file;

  auto got = cli::read_recent(path, 20);
  BOOST_CHECK(got.error.empty());
  BOOST_REQUIRE_EQUAL(got.entries.size(), 5u);
  BOOST_CHECK_EQUAL(got.entries.front().at("question").as_string(), "q1");
  BOOST_CHECK_EQUAL(got.entries.back().at("question").as_string(), "q5");
  BOOST_CHECK_EQUAL(got.skipped, 5u);  // not json, binary, [1,2], the huge one, the cut one

  got = cli::read_recent(path, 2);  // the last two, oldest first
  BOOST_REQUIRE_EQUAL(got.entries.size(), 2u);
  BOOST_CHECK_EQUAL(got.entries[0].at("question").as_string(), "q4");
  BOOST_CHECK_EQUAL(got.entries[1].at("question").as_string(), "q5");

  // Only the file's tail is read; the line it starts inside is dropped, not miscounted.
  got = cli::read_recent(path, 20, 600);
  BOOST_REQUIRE_EQUAL(got.entries.size(), 1u);
  BOOST_CHECK_EQUAL(got.entries[0].at("question").as_string(), "q5");
  BOOST_CHECK_EQUAL(got.skipped, 1u);  // the cut last line
}

BOOST_AUTO_TEST_CASE(reading_a_missing_file_or_a_directory) {
  temp_dir dir;
  auto got = cli::read_recent(dir / "none.jsonl", 20);
  BOOST_CHECK(got.missing);
  BOOST_CHECK(got.error.empty());
  BOOST_CHECK(got.entries.empty());
  got = cli::read_recent(dir / "", 20);
  BOOST_CHECK(!got.missing);
  BOOST_CHECK(!got.error.empty());
  std::ofstream(dir / "empty.jsonl");
  got = cli::read_recent(dir / "empty.jsonl", 20);
  BOOST_CHECK(got.error.empty() && got.entries.empty() && got.skipped == 0);
}

BOOST_AUTO_TEST_CASE(the_table_shows_speedups_and_neutralises_the_question) {
  std::vector<json::object> entries{
      entry("How do tides work?", "ok", 3.94, 4),
      entry("\x1b]0;pwned\x07 evil\nsecond line\r\x1b[2J" + std::string(300, 'z'),
            "all_agents_failed", 1.5, 2),
      entry("alone", "ok", 1.0, 1),
  };
  json::object odd = entry("odd", "ok", 2, 2);
  odd["wall_ms"] = "slow";
  odd["tokens"] = 7;
  json::array odd_subtasks;
  odd_subtasks.push_back(1);
  odd_subtasks.push_back(json::object{{"status", "ok"}});
  odd["subtasks"] = std::move(odd_subtasks);
  odd["when"] = "yesterday";
  entries.push_back(odd);

  const std::string table = cli::format_log_table(entries, 100, /*utc=*/true);
  BOOST_TEST_MESSAGE(table);
  BOOST_CHECK_EQUAL(table.find('\x1b'), std::string::npos);
  BOOST_CHECK_EQUAL(table.find('\x07'), std::string::npos);
  BOOST_CHECK_EQUAL(table.find('\r'), std::string::npos);
  const auto lines = lines_of(table);
  BOOST_REQUIRE_EQUAL(lines.size(), 5u);  // a header and one row per run, newlines or not
  for (const auto& l : lines) BOOST_CHECK_LE(text::display_width(l), 100);
  BOOST_CHECK(lines[0].starts_with("when"));
  BOOST_CHECK(lines[0].find("speedup") != std::string::npos);
  BOOST_CHECK(lines[1].starts_with("2026-11-26 05:55"));
  BOOST_CHECK(lines[1].find("3.9x") != std::string::npos);
  BOOST_CHECK(lines[1].find("4/4") != std::string::npos);
  BOOST_CHECK(lines[1].find("1.23s") != std::string::npos);
  BOOST_CHECK(lines[1].find("12.3k") != std::string::npos);
  BOOST_CHECK(lines[1].find("How do tides work?") != std::string::npos);
  BOOST_CHECK(lines[2].find("all_agents_failed") != std::string::npos);
  BOOST_CHECK(lines[2].find("pwned") != std::string::npos);        // shown, but harmless
  BOOST_CHECK(lines[2].find("evil second") != std::string::npos);  // a newline is a space
  BOOST_CHECK(lines[2].ends_with("\xE2\x80\xA6"));                 // cut to fit, with an ellipsis
  BOOST_CHECK(lines[3].find(" - ") != std::string::npos);          // one agent: no speedup
  BOOST_CHECK(lines[4].starts_with("?"));                          // wrong types show as "?"
  BOOST_CHECK(lines[4].find("1/2") != std::string::npos);

  // A narrow terminal still gets every row, the question cut shorter.
  for (const auto& l : lines_of(cli::format_log_table(entries, 20))) {
    BOOST_CHECK(!l.empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_attempt_log
