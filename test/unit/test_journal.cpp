// The run journal (adapters/journal): runs and steps on a real SQLite file in a temp directory,
// another connection and a killed process reading what was committed, refused files, and the
// observer that writes a run's steps.
#include "temp_file.hpp"

#include <conclave/journal/journal.hpp>

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace unit_test_journal {  // file-local names stay apart in unity batches

namespace cj = conclave::journal;
namespace fs = std::filesystem;

using conclave::test::temp_dir;

namespace {

// One SQL statement on the file through SQLite itself, outside the journal; the first column
// of the first row, if any.
std::string raw_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE_EQUAL(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  BOOST_REQUIRE_EQUAL(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> keys_of(const std::vector<cj::journal::step>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(s.key);
  return out;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal)

BOOST_AUTO_TEST_CASE(runs_and_steps_round_trip) {
  temp_dir dir;
  auto j = cj::journal::open(dir / "journal.db");
  const std::string id = j->begin_run("ask", "Why is the sky blue?", R"({"agents":3})", "", "cli");
  BOOST_TEST(cj::is_run_id(id));
  auto r = j->find(id);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->kind == "ask");
  BOOST_TEST(r->question == "Why is the sky blue?");
  BOOST_TEST(r->options_json == R"({"agents":3})");
  BOOST_TEST(r->plan_json.empty());
  BOOST_TEST(r->status == "running");
  BOOST_TEST(r->owner == "cli");
  BOOST_TEST(r->created_ms > 0);
  BOOST_TEST(r->report_json.empty());

  BOOST_TEST(j->record_step(id, "plan", "decomposed", R"({"event":"decomposed"})"));
  BOOST_TEST(j->record_step(id, "agent/1/completed/0", "completed", "{\"a\":\"\xC3\xA9\\u0000\"}"));
  BOOST_TEST(j->record_step(id, "agent/0/completed/0", "completed", "{}"));
  const auto steps = j->steps(id);
  BOOST_TEST(keys_of(steps) ==
                 (std::vector<std::string>{"plan", "agent/1/completed/0", "agent/0/completed/0"}),
             boost::test_tools::per_element());
  BOOST_TEST(steps[1].kind == "completed");
  BOOST_TEST(steps[1].json == "{\"a\":\"\xC3\xA9\\u0000\"}");
  BOOST_TEST(steps[0].at_ms >= r->created_ms);

  j->finish_run(id, "succeeded", R"({"answer":"Rayleigh"})");
  r = j->find(id);
  BOOST_TEST(r->status == "succeeded");
  BOOST_TEST(r->report_json == R"({"answer":"Rayleigh"})");
  j->reopen_run(id);
  r = j->find(id);
  BOOST_TEST(r->status == "running");
  BOOST_TEST(r->report_json.empty());
  BOOST_TEST(j->steps(id).size() == 3u);  // a resume keeps what was done

  j->begin_run_with_id("serve-task-42", "task", "q", "{}", R"({"subtasks":[]})", "serve:task_42");
  BOOST_TEST(j->find("serve-task-42")->plan_json == R"({"subtasks":[]})");
  BOOST_CHECK_THROW(j->begin_run_with_id("serve-task-42", "task", "q", "{}", ""),
                    cj::journal_error);
  BOOST_CHECK_THROW(j->begin_run("chat", "q", "{}", ""), cj::journal_error);
  BOOST_CHECK_THROW(j->finish_run(id, "running", ""), cj::journal_error);
  BOOST_CHECK_THROW(j->finish_run("run_0000000000000000", "failed", ""), cj::journal_error);
  BOOST_CHECK_THROW(j->reopen_run("nope"), cj::journal_error);
  BOOST_TEST(!j->find("nope"));
  BOOST_TEST(j->steps("nope").empty());
  try {
    j->record_step("run_0000000000000000", "plan", "decomposed", "{}");
    BOOST_FAIL("a step of an unknown run was written");
  } catch (const cj::journal_error& e) {
    BOOST_TEST(contains(e.what(), "no run run_0000000000000000"), e.what());
  }
  BOOST_TEST(!cj::is_run_id("run_0123456789ABCDEF"));
  BOOST_TEST(!cj::is_run_id("run_0123"));
}

BOOST_AUTO_TEST_CASE(a_step_is_written_once) {
  temp_dir dir;
  auto j = cj::journal::open(dir / "journal.db");
  const std::string id = j->begin_run("run", "q", "{}", "{}");
  BOOST_TEST(j->record_step(id, "combined", "combined", "first"));
  BOOST_TEST(!j->record_step(id, "combined", "combined", "second"));
  const auto steps = j->steps(id);
  BOOST_REQUIRE_EQUAL(steps.size(), 1u);
  BOOST_TEST(steps[0].json == "first");
  // The same key in another run is another step.
  const std::string other = j->begin_run("run", "q", "{}", "{}");
  BOOST_TEST(other != id);
  BOOST_TEST(j->record_step(other, "combined", "combined", "third"));
}

BOOST_AUTO_TEST_CASE(unfinished_recent_and_prune) {
  temp_dir dir;
  auto j = cj::journal::open(dir / "journal.db");
  const std::string a = j->begin_run("ask", "a", "{}", "");
  const std::string b = j->begin_run("ask", "b", "{}", "");
  const std::string c = j->begin_run("ask", "c", "{}", "");
  j->record_step(b, "plan", "decomposed", "{}");
  j->record_step(b, "combined", "combined", "{}");
  j->finish_run(b, "failed", "{}");
  j->finish_run(c, "cancelled", "{}");

  auto open_runs = j->unfinished();
  BOOST_REQUIRE_EQUAL(open_runs.size(), 1u);
  BOOST_TEST(open_runs[0].id == a);
  const std::string d = j->begin_run("ask", "d", "{}", "");
  open_runs = j->unfinished();
  BOOST_REQUIRE_EQUAL(open_runs.size(), 2u);
  BOOST_TEST(open_runs[0].id == a);  // oldest first
  BOOST_TEST(open_runs[1].id == d);

  const auto last = j->recent(2);
  BOOST_REQUIRE_EQUAL(last.size(), 2u);
  BOOST_TEST(last[0].id == d);  // newest first
  BOOST_TEST(last[1].id == c);
  BOOST_TEST(j->recent(100).size() == 4u);
  BOOST_TEST(j->recent(0).empty());

  BOOST_TEST(j->prune_finished(0) == 0u);  // nothing finished that long ago
  BOOST_TEST(j->prune_finished(now_ms() + 60'000) == 2u);
  BOOST_TEST(!j->find(b));
  BOOST_TEST(j->steps(b).empty());  // the steps went with their run
  BOOST_TEST(j->find(a)->status == "running");
  BOOST_TEST(j->recent(10).size() == 2u);
  BOOST_TEST(raw_sql(dir / "journal.db", "SELECT count(*) FROM steps") == "0");
}

BOOST_AUTO_TEST_CASE(wal_mode_and_private_file) {
  temp_dir dir;
  auto j = cj::journal::open(dir / "journal.db");
  const std::string id = j->begin_run("ask", "q", "{}", "");
  j->record_step(id, "plan", "decomposed", "{}");
  BOOST_TEST(raw_sql(dir / "journal.db", "PRAGMA journal_mode") == "wal");
  BOOST_TEST(raw_sql(dir / "journal.db", "SELECT version FROM schema_version") == "1");
  struct stat st;
  BOOST_REQUIRE(::stat((dir / "journal.db").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(fs::exists(dir / "journal.db-wal"));
  BOOST_TEST(j->checkpoint());
  BOOST_TEST(fs::file_size(dir / "journal.db-wal") == 0u);  // TRUNCATE
  j->close();
  j->close();  // idempotent
  BOOST_CHECK_THROW(j->find(id), cj::journal_error);
}

BOOST_AUTO_TEST_CASE(another_connection_sees_committed_steps) {
  temp_dir dir;
  auto one = cj::journal::open(dir / "journal.db");
  auto two = cj::journal::open(dir / "journal.db");
  const std::string id = one->begin_run("ask", "q", "{}", "");
  one->record_step(id, "plan", "decomposed", "{}");
  BOOST_TEST(two->find(id)->question == "q");
  BOOST_TEST(keys_of(two->steps(id)) == std::vector<std::string>{"plan"},
             boost::test_tools::per_element());
  BOOST_TEST(!two->record_step(id, "plan", "decomposed", "{}"));  // once across connections
  BOOST_TEST(two->record_step(id, "combined", "combined", "{}"));
  BOOST_TEST(one->steps(id).size() == 2u);
}

BOOST_AUTO_TEST_CASE(threads_and_connections_write_together) {
  temp_dir dir;
  auto one = cj::journal::open(dir / "journal.db");
  auto two = cj::journal::open(dir / "journal.db");
  const std::string id = one->begin_run("task", "q", "{}", "");
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      auto& j = t % 2 ? *one : *two;  // two threads per connection, two connections
      for (int k = 0; k < 25; ++k) {
        j.record_step(id, "t" + std::to_string(t) + "/" + std::to_string(k), "completed", "{}");
        j.record_step(id, "shared/" + std::to_string(k), "completed", std::to_string(t));
      }
    });
  }
  for (auto& w : writers) w.join();
  BOOST_TEST(one->steps(id).size() == 4u * 25u + 25u);
}

BOOST_AUTO_TEST_CASE(survives_a_killed_process) {
  temp_dir dir;
  const std::string path = dir / "journal.db";
  int ready[2];
  BOOST_REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // The child: a run in progress, killed with its connection open and nothing closed.
    try {
      auto j = cj::journal::open(path);
      j->begin_run_with_id("run_00000000000000aa", "ask", "q", "{\"k\":1}", "");
      j->record_step("run_00000000000000aa", "plan", "decomposed", "{}");
      j->record_step("run_00000000000000aa", "agent/0/completed/0", "completed", "{}");
      (void)!::write(ready[1], "y", 1);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(ready[1]);
  char got = 0;
  BOOST_REQUIRE_EQUAL(::read(ready[0], &got, 1), 1);
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(child, &status, 0), child);
  BOOST_TEST(WIFSIGNALED(status));

  auto j = cj::journal::open(path);
  const auto open_runs = j->unfinished();
  BOOST_REQUIRE_EQUAL(open_runs.size(), 1u);
  BOOST_TEST(open_runs[0].id == "run_00000000000000aa");
  BOOST_TEST(open_runs[0].options_json == "{\"k\":1}");
  BOOST_TEST(keys_of(j->steps("run_00000000000000aa")) ==
                 (std::vector<std::string>{"plan", "agent/0/completed/0"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_journal) {
  temp_dir dir;
  { std::ofstream(dir / "text.db", std::ios::binary) << std::string(4096, 'x'); }
  try {
    cj::journal::open(dir / "text.db");
    BOOST_FAIL("a text file opened as a journal");
  } catch (const cj::journal_error& e) {
    BOOST_TEST(contains(e.what(), dir / "text.db"), e.what());
    BOOST_TEST(contains(e.what(), "not a database"), e.what());
  }
  // A database of something else: no schema_version table, but tables of its own.
  raw_sql(dir / "other.db", "CREATE TABLE schema_version (version INTEGER)");
  BOOST_CHECK_THROW(cj::journal::open(dir / "other.db"), cj::journal_error);
  // A link where the journal goes, a directory, a missing directory.
  fs::create_symlink(dir / "target.db", dir / "link.db");
  try {
    cj::journal::open(dir / "link.db");
    BOOST_FAIL("a symbolic link opened as a journal");
  } catch (const cj::journal_error& e) {
    BOOST_TEST(contains(e.what(), "symbolic link"), e.what());
  }
  BOOST_TEST(!fs::exists(dir / "target.db"));
  BOOST_CHECK_THROW(cj::journal::open(dir.str()), cj::journal_error);
  BOOST_CHECK_THROW(cj::journal::open(dir / "missing/journal.db"), cj::journal_error);
  BOOST_CHECK_THROW(cj::journal::open(""), cj::journal_error);
}

BOOST_AUTO_TEST_CASE(refuses_a_newer_schema) {
  temp_dir dir;
  cj::journal::open(dir / "journal.db")->close();
  raw_sql(dir / "journal.db", "UPDATE schema_version SET version = 2");
  try {
    cj::journal::open(dir / "journal.db");
    BOOST_FAIL("a newer schema was opened");
  } catch (const cj::journal_error& e) {
    BOOST_TEST(contains(e.what(), "schema version 2 is newer"), e.what());
    BOOST_TEST(contains(e.what(), dir / "journal.db"), e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_journal
