// The CLI's progress views, drawn into memory at a fixed (or changing) terminal size: frames
// never taller or wider than the terminal, the rows that do not fit summed up, model text
// neutralised, colour only when asked for, truncated and refused answers told apart.
#include "views.hpp"

#include <conclave/engine/text.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace unit_test_views {  // file-local names stay apart in unity batches

namespace cli = conclave::cli;
namespace text = conclave::text;
using conclave::event;
using conclave::event_kind;
using conclave::progress_map;
using conclave::stop_reason;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

// A FILE* that writes to memory.
class memory_file {
 public:
  memory_file() : file_(open_memstream(&buf_, &len_)) {
    if (file_ == nullptr) throw std::runtime_error("open_memstream failed");
  }
  ~memory_file() {
    std::fclose(file_);
    std::free(buf_);
  }
  memory_file(const memory_file&) = delete;
  memory_file& operator=(const memory_file&) = delete;
  std::FILE* get() const { return file_; }
  std::string contents() {
    std::fflush(file_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t len_ = 0;
  std::FILE* file_;
};

event agent_event(event_kind k, std::size_t agent, long ms, std::string said = {}) {
  event e;
  e.kind = k;
  e.agent = agent;
  e.at = std::chrono::milliseconds(ms);
  e.text = std::move(said);
  if (k == event_kind::started) e.attempt = 1;
  return e;
}

event run_event(event_kind k, long ms, std::size_t count = 0) {
  event e;
  e.kind = k;
  e.at = std::chrono::milliseconds(ms);
  e.count = count;
  return e;
}

event completion(std::size_t agent, long ms, stop_reason why) {
  event e = agent_event(event_kind::completed, agent, ms);
  e.tokens = {100, 50};
  e.stop = why;
  return e;
}

// Feeds a view as the engine does: the map first, then the event with the map after it.
struct feeder {
  cli::progress_view& view;
  progress_map map;
  void operator()(const event& e) {
    map.apply(e);
    view.on_event(e, map);
  }
};

// `s` without the CSI sequences (ESC [ parameters final-byte) the view emits.
std::string strip_csi(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7E)) ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

// The final bytes of every CSI sequence in `s`.
std::string csi_finals(const std::string& s) {
  std::string finals;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] != '\x1b' || s[i + 1] != '[') continue;
    std::size_t j = i + 2;
    while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7E)) ++j;
    if (j < s.size()) finals += s[j];
    i = j;
  }
  return finals;
}

struct frame {
  int up = 0;                      // rows the cursor went up before drawing
  std::vector<std::string> lines;  // without escapes
};

// A live view's output cut into frames: each ends with "clear to the end of the screen".
std::vector<frame> frames_of(const std::string& out) {
  std::vector<frame> frames;
  std::size_t at = 0;
  for (std::size_t end; (end = out.find("\x1b[J", at)) != std::string::npos; at = end + 3) {
    std::string seg = out.substr(at, end - at);
    if (seg.rfind("\x1b[?25l", 0) == 0) seg.erase(0, 6);
    frame f;
    if (seg.rfind("\x1b[", 0) == 0) {
      const std::size_t letter = seg.find_first_not_of("0123456789", 2);
      if (letter != std::string::npos && seg[letter] == 'F') {
        f.up = std::stoi(seg.substr(2, letter - 2));
        seg.erase(0, letter + 1);
      }
    }
    const std::string plain = strip_csi(seg);
    std::size_t from = 0;
    for (std::size_t nl; (nl = plain.find('\n', from)) != std::string::npos; from = nl + 1) {
      f.lines.push_back(plain.substr(from, nl - from));
    }
    BOOST_TEST_REQUIRE(from == plain.size(), "a frame ends with a newline");
    frames.push_back(std::move(f));
  }
  return frames;
}

// Every frame fits the terminal, and each redraw goes back up exactly over the last one.
void check_frames(const std::vector<frame>& frames, cli::terminal_size size) {
  BOOST_TEST_REQUIRE(!frames.empty());
  std::size_t previous = 0;
  for (const frame& f : frames) {
    BOOST_TEST(f.lines.size() < static_cast<std::size_t>(size.rows));  // a row for the cursor
    BOOST_TEST(f.up == static_cast<int>(previous));
    for (const auto& line : f.lines) {
      BOOST_TEST(text::display_width(line) < size.columns, "too wide: " << line);
    }
    previous = f.lines.size();
  }
}

cli::view_options fixed(cli::terminal_size size, bool color = false) {
  cli::view_options o;
  o.color = color;
  o.size = [size] { return size; };
  o.redraw_interval = std::chrono::milliseconds(0);
  return o;
}

// 200 agents on 80x24: 15 running, 25 done, 3 truncated, 2 refused, 5 failed, 150 queued.
void run_two_hundred(feeder& feed) {
  for (std::size_t i = 0; i < 200; ++i) {
    feed(agent_event(event_kind::queued, i, 0,
                     "Sub-question number " + std::to_string(i + 1) +
                         " about a rather long topic that goes on"));
  }
  feed(run_event(event_kind::decomposed, 1, 200));
  for (std::size_t i = 0; i < 50; ++i)
    feed(agent_event(event_kind::started, i, 10 + static_cast<long>(i)));
  for (std::size_t i = 0; i < 50; ++i)
    feed(agent_event(event_kind::progress, i, 100, "some words"));
  for (std::size_t i = 0; i < 30; ++i) {
    const stop_reason why = i < 3   ? stop_reason::length
                            : i < 5 ? stop_reason::content_filter
                                    : stop_reason::end;
    feed(completion(i, 1000 + static_cast<long>(i), why));
  }
  for (std::size_t i = 30; i < 35; ++i) {
    feed(agent_event(event_kind::failed, i, 2000 + static_cast<long>(i), "provider_error: 500"));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(live_view)

BOOST_AUTO_TEST_CASE(two_hundred_agents_fit_an_80_by_24_terminal) {
  const cli::terminal_size size{80, 24};
  memory_file out;
  cli::live_view view(out.get(), "", fixed(size));
  feeder feed{view, {}};
  run_two_hundred(feed);
  view.close();

  const auto frames = frames_of(out.contents());
  check_frames(frames, size);
  const frame& last = frames.back();
  BOOST_TEST_REQUIRE(last.lines.size() == 23u);
  // 21 rows: the 15 running, then the 5 failed and the most recent of the other troubles
  // (agent 5, refused); the rest summed up.
  BOOST_TEST(last.lines[21] ==
             "\xE2\x80\xA6"
             "and 179 more: 25 done, 3 truncated, 1 refused, 150 queued");
  int running = 0, failed = 0, refused = 0;
  for (int i = 0; i < 21; ++i) {
    running += last.lines[i].find(" running ") != std::string::npos;
    failed += last.lines[i].find(" failed ") != std::string::npos;
    refused += last.lines[i].find(" refused ") != std::string::npos;
  }
  BOOST_TEST(running == 15);
  BOOST_TEST(failed == 5);
  BOOST_TEST(refused == 1);
  BOOST_TEST(last.lines[22].rfind("agents running  30/200 done  ", 0) == 0, last.lines[22]);
  BOOST_TEST(last.lines[22].find(" tokens  5 failed  3 truncated  2 refu\xE2\x80\xA6") !=
                 std::string::npos,
             last.lines[22]);
  BOOST_TEST(last.lines[1].find("try  [provider_error: 500] Sub-question num") != std::string::npos,
             last.lines[1]);
}

BOOST_AUTO_TEST_CASE(ten_thousand_agents_draw_only_what_fits) {
  const cli::terminal_size size{100, 30};
  memory_file out;
  cli::view_options opts = fixed(size);
  opts.redraw_interval = std::chrono::milliseconds(50);  // as in a real run: deltas are many
  cli::live_view view(out.get(), "", opts);
  feeder feed{view, {}};
  constexpr std::size_t n = 10'000;
  for (std::size_t i = 0; i < n; ++i) feed(agent_event(event_kind::queued, i, 0, "q"));
  feed(run_event(event_kind::decomposed, 1, n));
  for (std::size_t i = 0; i < n; ++i) {
    feed(agent_event(event_kind::started, i, 2));
    for (int d = 0; d < 3; ++d) feed(agent_event(event_kind::progress, i, 3, "delta"));
    feed(completion(i, 4 + static_cast<long>(i), stop_reason::end));
  }
  feed(run_event(event_kind::finished, 20'000));
  view.close();

  const auto frames = frames_of(out.contents());
  check_frames(frames, size);
  const frame& last = frames.back();
  BOOST_TEST_REQUIRE(last.lines.size() == 29u);
  BOOST_TEST(last.lines[27] ==
             "\xE2\x80\xA6"
             "and 9973 more: 9973 done");
  // The most recent completions are the ones shown.
  BOOST_TEST(last.lines[26].rfind("10000 done", 0) == 0, last.lines[26]);
  BOOST_TEST(last.lines[0].rfind(" 9974 done", 0) == 0, last.lines[0]);
}

BOOST_AUTO_TEST_CASE(model_text_cannot_drive_the_terminal) {
  const cli::terminal_size size{120, 10};
  memory_file out;
  cli::live_view view(out.get(), "", fixed(size));
  feeder feed{view, {}};
  feed(agent_event(event_kind::queued, 0, 0,
                   "evil\x1b]0;pwned\x07 \x1b[2J\x1b[31mred\nnext \xC2\x9B"
                   "5A\rback"));
  feed(agent_event(event_kind::started, 0, 1));
  feed(agent_event(event_kind::failed, 0, 2, "bad \x1b[1A error\x08"));
  view.close();

  const std::string raw = out.contents();
  BOOST_TEST(raw.find("\x1b]") == std::string::npos);
  BOOST_TEST(raw.find('\x07') == std::string::npos);
  BOOST_TEST(raw.find('\x08') == std::string::npos);
  BOOST_TEST(raw.find('\r') == std::string::npos);
  BOOST_TEST(raw.find("\xC2\x9B") == std::string::npos);
  BOOST_TEST(raw.find("\x1b[2J") == std::string::npos);
  BOOST_TEST(raw.find("\x1b[1A") == std::string::npos);
  // Only the view's own sequences are left: cursor up, erase, cursor shown/hidden.
  for (const char c : csi_finals(raw))
    BOOST_TEST(std::string("FKJlh").find(c) != std::string::npos);
  const auto frames = frames_of(raw);
  check_frames(frames, size);
  const frame& last = frames.back();
  BOOST_TEST_REQUIRE(last.lines.size() == 2u);  // the newline did not make a row of its own
  BOOST_TEST(last.lines[0].find("[bad " + fffd + "[1A error" + fffd + "] evil" + fffd + "]0;pwned" +
                                fffd + " " + fffd + "[2J" + fffd + "[31mred next " + fffd +
                                "5A back") != std::string::npos,
             last.lines[0]);
}

BOOST_AUTO_TEST_CASE(colour_only_when_asked_for) {
  const cli::terminal_size size{80, 24};
  for (const bool color : {false, true}) {
    memory_file out;
    cli::live_view view(out.get(), "", fixed(size, color));
    feeder feed{view, {}};
    run_two_hundred(feed);
    view.close();
    const std::string finals = csi_finals(out.contents());
    BOOST_TEST((finals.find('m') != std::string::npos) == color);
    check_frames(frames_of(out.contents()), size);
  }
}

BOOST_AUTO_TEST_CASE(truncated_and_refused_answers_are_not_plain_done) {
  memory_file out;
  cli::live_view view(out.get(), "", fixed({80, 24}));
  feeder feed{view, {}};
  for (std::size_t i = 0; i < 3; ++i) feed(agent_event(event_kind::queued, i, 0, "q"));
  for (std::size_t i = 0; i < 3; ++i) feed(agent_event(event_kind::started, i, 1));
  feed(completion(0, 5, stop_reason::length));
  feed(completion(1, 6, stop_reason::content_filter));
  feed(completion(2, 7, stop_reason::end));
  view.close();
  const frame last = frames_of(out.contents()).back();
  BOOST_TEST_REQUIRE(last.lines.size() == 4u);
  BOOST_TEST(last.lines[0].rfind("1 truncated ", 0) == 0, last.lines[0]);
  BOOST_TEST(last.lines[1].rfind("2 refused ", 0) == 0, last.lines[1]);
  BOOST_TEST(last.lines[2].rfind("3 done ", 0) == 0, last.lines[2]);
}

BOOST_AUTO_TEST_CASE(rows_name_their_model_only_when_the_agents_models_differ) {
  for (const bool mixed : {false, true}) {
    memory_file out;
    cli::live_view view(out.get(), "", fixed({100, 24}));
    feeder feed{view, {}};
    for (std::size_t i = 0; i < 2; ++i) {
      feed(agent_event(event_kind::queued, i, 0, "q" + std::to_string(i)));
      event started = agent_event(event_kind::started, i, 1);
      started.model = mixed && i == 1 ? "anthropic:claude-x" : "openai:gpt-4o";
      feed(started);
    }
    view.close();
    const frame last = frames_of(out.contents()).back();
    BOOST_TEST_REQUIRE(last.lines.size() == 3u);
    BOOST_TEST((last.lines[0].find("openai:gpt-4o  q0") != std::string::npos) == mixed,
               last.lines[0]);
    BOOST_TEST((last.lines[1].find("anthropic:claude-x  q1") != std::string::npos) == mixed,
               last.lines[1]);
  }
}

BOOST_AUTO_TEST_CASE(wide_characters_are_cut_by_display_width) {
  const cli::terminal_size size{41, 24};
  memory_file out;
  cli::live_view view(out.get(), "", fixed(size));
  feeder feed{view, {}};
  std::string wide;
  for (int i = 0; i < 40; ++i) wide += "\xE6\xBC\xA2\xF0\x9F\x98\x80";  // 漢😀, two columns each
  feed(agent_event(event_kind::queued, 0, 0, wide));
  feed(agent_event(event_kind::queued, 1, 0, "e\xCC\x81" + std::string(200, 'x')));  // é combining
  view.close();
  const auto frames = frames_of(out.contents());
  check_frames(frames, size);
  BOOST_TEST(frames.back().lines[0].find("\xE2\x80\xA6") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(narrowing_the_terminal_clears_the_rows_lines_wrapped_into) {
  cli::terminal_size size{100, 24};
  cli::view_options opts = fixed(size);
  opts.size = [&size] { return size; };
  memory_file out;
  cli::live_view view(out.get(), "", opts);
  feeder feed{view, {}};
  for (std::size_t i = 0; i < 4; ++i)
    feed(agent_event(event_kind::queued, i, 0, std::string(300, 'y')));
  size.columns = 40;
  feed(agent_event(event_kind::started, 0, 1));
  size.columns = 60;
  feed(agent_event(event_kind::started, 1, 2));

  const auto frames = frames_of(out.contents());
  BOOST_TEST_REQUIRE(frames.size() == 6u);
  const frame& wide = frames[3];
  int rows_at_40 = 0;
  for (const auto& line : wide.lines) rows_at_40 += (text::display_width(line) + 39) / 40;
  BOOST_TEST_REQUIRE(wide.lines.size() == 5u);
  // Four rows cut at 99 columns take 3 rows each at 40; the overall line what it needs.
  BOOST_TEST(rows_at_40 == 4 * 3 + (text::display_width(wide.lines[4]) + 39) / 40);
  BOOST_TEST(frames[4].up == rows_at_40);
  BOOST_TEST(frames[5].up == 5);  // widening: every line of the 40-column frame takes one row
  for (const auto& line : frames[4].lines) BOOST_TEST(text::display_width(line) < 40);
}

BOOST_AUTO_TEST_CASE(a_tiny_terminal_keeps_the_overall_line) {
  for (const int rows : {1, 2, 3, 4}) {
    const cli::terminal_size size{12, rows};
    memory_file out;
    cli::live_view view(out.get(), "", fixed(size));
    feeder feed{view, {}};
    for (std::size_t i = 0; i < 5; ++i) feed(agent_event(event_kind::queued, i, 0, "q"));
    view.close();
    const auto frames = frames_of(out.contents());
    for (const frame& f : frames) {
      BOOST_TEST(f.lines.size() <= static_cast<std::size_t>(std::max(1, rows - 1)));
      for (const auto& line : f.lines) BOOST_TEST(text::display_width(line) <= 11);
    }
    BOOST_TEST(frames.back().lines.size() == static_cast<std::size_t>(std::max(1, rows - 1)));
    BOOST_TEST(frames.back().lines.back().rfind("decompos", 0) == 0, frames.back().lines.back());
  }
}

BOOST_AUTO_TEST_CASE(the_note_is_printed_once_above_the_table) {
  memory_file out;
  cli::live_view view(out.get(), "using the built-in mock \x1b[2J", fixed({80, 24}));
  view.close();
  const std::string raw = out.contents();
  BOOST_TEST(raw.rfind("\x1b[?25lconclave: using the built-in mock " + fffd + "[2J\n", 0) == 0);
  BOOST_TEST(raw.size() >= 6u);
  BOOST_TEST(raw.substr(raw.size() - 6) == "\x1b[?25h");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(line_view)

BOOST_AUTO_TEST_CASE(model_text_is_neutralised_and_the_format_kept) {
  memory_file out;
  cli::line_view view(out.get(), "");
  feeder feed{view, {}};
  feed(run_event(event_kind::decomposed, 100, 3));
  feed(agent_event(event_kind::queued, 0, 100, "why\x1b[2J?\nreally"));
  feed(agent_event(event_kind::queued, 1, 100, "two"));
  feed(agent_event(event_kind::queued, 2, 100, "three"));
  feed(agent_event(event_kind::started, 0, 200));
  feed(agent_event(event_kind::progress, 0, 250, "\x1b[31mstreamed"));
  feed(agent_event(event_kind::retrying, 0, 300, "rate_limited \x07"));
  feed(agent_event(event_kind::started, 1, 300));
  feed(agent_event(event_kind::started, 2, 300));
  feed(completion(0, 1200, stop_reason::length));
  feed(completion(1, 1300, stop_reason::content_filter));
  feed(agent_event(event_kind::failed, 2, 1400, "provider_error: \x1b]0;t\x07"));
  feed(run_event(event_kind::synthesis_started, 1500, 2));
  event done = run_event(event_kind::finished, 2000);
  done.text = "ok";
  feed(done);

  const std::string expected =
      "[  0.10s] decomposed into 3 sub-question(s)\n"
      "[  0.10s] agent 1 queued: why" +
      fffd +
      "[2J? really\n"
      "[  0.10s] agent 2 queued: two\n"
      "[  0.10s] agent 3 queued: three\n"
      "[  0.20s] agent 1 started (attempt 1)\n"
      "[  0.30s] agent 1 retrying: rate_limited " +
      fffd +
      "\n"
      "[  0.30s] agent 2 started (attempt 1)\n"
      "[  0.30s] agent 3 started (attempt 1)\n"
      "[  1.20s] agent 1 truncated in   1.00s, 150 tokens\n"
      "[  1.30s] agent 2 refused in   1.00s, 150 tokens\n"
      "[  1.40s] agent 3 failed: provider_error: " +
      fffd + "]0;t" + fffd +
      "\n"
      "[  1.50s] synthesizing 2 decision(s)\n"
      "[  2.00s] finished: ok\n";
  BOOST_TEST(out.contents() == expected);
}

BOOST_AUTO_TEST_CASE(rows_show_the_turn_the_running_tool_and_a_stop_by_a_limit) {
  memory_file out;
  cli::live_view view(out.get(), "", fixed({100, 24}));
  feeder feed{view, {}};
  for (std::size_t i = 0; i < 2; ++i) {
    event q = agent_event(event_kind::queued, i, 0, "q" + std::to_string(i));
    q.count = 10;  // the turn limit
    feed(q);
    event started = agent_event(event_kind::started, i, 1);
    started.turn = 3;
    feed(started);
  }
  event tool = agent_event(event_kind::tool_call_started, 0, 2);
  tool.tool = "calculator";
  feed(tool);
  feed(agent_event(event_kind::stopped, 1, 3, "turn limit (10) reached"));
  view.tick();
  view.close();
  const frame last = frames_of(out.contents()).back();
  BOOST_TEST_REQUIRE(last.lines.size() == 3u);
  BOOST_TEST(last.lines[0].find("turn 3/10  [calculator] q0") != std::string::npos, last.lines[0]);
  BOOST_TEST(last.lines[1].rfind("2 stopped ", 0) == 0, last.lines[1]);
  BOOST_TEST(last.lines[1].find("[turn limit (10) reached]") != std::string::npos, last.lines[1]);
  BOOST_TEST(last.lines[2].find("1 stopped") != std::string::npos, last.lines[2]);
}

BOOST_AUTO_TEST_CASE(plain_lines_tell_of_tool_calls) {
  memory_file out;
  cli::line_view view(out.get(), "");
  feeder feed{view, {}};
  feed(agent_event(event_kind::queued, 0, 0, "q"));
  event e = agent_event(event_kind::tool_call_started, 0, 10);
  e.tool = "read_file";
  feed(e);
  e.kind = event_kind::tool_call_finished;
  e.at = std::chrono::milliseconds(20);
  e.duration = std::chrono::milliseconds(10);
  feed(e);
  e.text = "no such file";
  feed(e);
  e = agent_event(event_kind::started, 0, 30);
  e.turn = 2;
  e.attempt = 2;
  feed(e);
  BOOST_TEST(out.contents() ==
             "[  0.00s] agent 1 queued: q\n"
             "[  0.01s] agent 1 calls read_file\n"
             "[  0.02s] agent 1 read_file answered in   0.01s\n"
             "[  0.02s] agent 1 read_file failed in   0.01s: no such file\n"
             "[  0.03s] agent 1 turn 2 (call 2)\n");
}

BOOST_AUTO_TEST_CASE(plain_lines_name_the_model_called) {
  memory_file out;
  cli::line_view view(out.get(), "");
  feeder feed{view, {}};
  feed(agent_event(event_kind::queued, 0, 0, "q"));
  event e = agent_event(event_kind::started, 0, 10);
  e.model = "mock:a";
  feed(e);
  e.turn = 2;
  e.attempt = 2;
  e.model = "anthropic:claude-\x1b[2Jx";
  feed(e);
  BOOST_TEST(out.contents() ==
             "[  0.00s] agent 1 queued: q\n"
             "[  0.01s] agent 1 started (attempt 1, mock:a)\n"
             "[  0.01s] agent 1 turn 2 (call 2, anthropic:claude-" +
                 fffd + "[2Jx)\n");
}

BOOST_AUTO_TEST_CASE(plain_completions_say_done) {
  memory_file out;
  cli::line_view view(out.get(), "a note");
  feeder feed{view, {}};
  feed(agent_event(event_kind::queued, 0, 0, "q"));
  feed(agent_event(event_kind::started, 0, 0));
  feed(completion(0, 500, stop_reason::end));
  BOOST_TEST(out.contents() ==
             "conclave: a note\n"
             "[  0.00s] agent 1 queued: q\n"
             "[  0.00s] agent 1 started (attempt 1)\n"
             "[  0.50s] agent 1 done in   0.50s, 150 tokens\n");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// Sets (or unsets, with nullopt) an environment variable for a scope.
class env_var {
 public:
  env_var(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~env_var() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  env_var(const env_var&) = delete;
  env_var& operator=(const env_var&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(color_choice)

BOOST_AUTO_TEST_CASE(never_and_always_ignore_the_environment) {
  env_var no_color("NO_COLOR", "1");
  env_var term("TERM", "dumb");
  BOOST_TEST(!cli::color_wanted("never", true));
  BOOST_TEST(cli::color_wanted("always", false));
  BOOST_TEST(cli::color_wanted("always", true));
}

BOOST_AUTO_TEST_CASE(auto_needs_a_tty_no_NO_COLOR_and_a_capable_terminal) {
  env_var term("TERM", "xterm-256color");
  {
    env_var no_color("NO_COLOR", std::nullopt);
    BOOST_TEST(cli::color_wanted("auto", true));
    BOOST_TEST(!cli::color_wanted("auto", false));
  }
  {
    env_var no_color("NO_COLOR", "");  // set but empty counts as unset (no-color.org)
    BOOST_TEST(cli::color_wanted("auto", true));
  }
  {
    env_var no_color("NO_COLOR", "1");
    BOOST_TEST(!cli::color_wanted("auto", true));
  }
  {
    env_var no_color("NO_COLOR", std::nullopt);
    env_var dumb("TERM", "dumb");
    BOOST_TEST(!cli::color_wanted("auto", true));
  }
}

BOOST_AUTO_TEST_CASE(a_dumb_terminal_gets_no_live_view) {
  {
    env_var term("TERM", "xterm");
    BOOST_TEST(cli::live_view_possible(true));
    BOOST_TEST(!cli::live_view_possible(false));
  }
  {
    env_var term("TERM", "dumb");
    BOOST_TEST(!cli::live_view_possible(true));
  }
  {
    env_var term("TERM", std::nullopt);
    BOOST_TEST(cli::live_view_possible(true));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_views
