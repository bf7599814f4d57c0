#include "views.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace conclave::cli {
namespace {

int terminal_width(std::FILE* out) {
  winsize w{};
  if (ioctl(fileno(out), TIOCGWINSZ, &w) == 0 && w.ws_col >= 40) return w.ws_col;
  return 100;
}

std::string seconds(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.2fs", static_cast<double>(d.count()) / 1e6);
  return buf;
}

// Cuts to `width` display columns, counting UTF-8 characters, not bytes.
std::string fit(const std::string& s, int width) {
  std::string out;
  int cols = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (cols == width) {
        if (width >= 1) {
          // replace the last character by an ellipsis
          while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
          if (!out.empty()) out.pop_back();
          out += "\xE2\x80\xA6";
        }
        return out;
      }
      ++cols;
    }
    out += (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
  }
  return out;
}

const char* colour(agent_state s) {
  switch (s) {
    case agent_state::queued: return "\x1b[2m";
    case agent_state::running: return "\x1b[36m";
    case agent_state::completed: return "\x1b[32m";
    case agent_state::failed:
    case agent_state::timed_out: return "\x1b[31m";
    case agent_state::cancelled: return "\x1b[33m";
  }
  return "";
}

}  // namespace

live_view::live_view(std::FILE* out, std::string note) : out_(out), note_(std::move(note)) {
  std::fputs("\x1b[?25l", out_);  // hide the cursor while redrawing
  if (!note_.empty()) std::fprintf(out_, "conclave: %s\n", note_.c_str());
  std::fflush(out_);
}

void live_view::on_event(const event& e, const progress_map& p) {
  // Redraw at most every 50 ms for streamed text, at once for everything else; copy the map
  // only for a redraw (streamed deltas are the most frequent events by far).
  const bool force = e.kind != event_kind::progress;
  if (!force && std::chrono::steady_clock::now() - last_draw_ < redraw_interval) return;
  snapshot_ = p;
  draw(true);
}

void live_view::tick() { draw(false); }

void live_view::draw(bool force) {
  if (closed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < redraw_interval) return;
  last_draw_ = now;
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - start_);
  const int width = terminal_width(out_);

  std::string frame;
  if (lines_drawn_ > 0) frame += "\x1b[" + std::to_string(lines_drawn_) + "F";  // back to the top
  int lines = 0;
  const auto& agents = snapshot_.agents();
  for (std::size_t i = 0; i < agents.size(); ++i) {
    const auto& a = agents[i];
    const auto end = a.finished_at.count() > 0 ? a.finished_at : elapsed;
    const auto took = a.started_at.count() > 0 ? end - a.started_at : std::chrono::microseconds(0);
    char head[96];
    std::snprintf(head, sizeof head, "%3zu %-10s %s %6lld tok %d try  ", i + 1, to_string(a.state),
                  seconds(took).c_str(), static_cast<long long>(a.tokens.total()), a.attempts);
    frame += "\x1b[2K";
    frame += colour(a.state);
    frame += head;
    frame += fit(a.sub_question, std::max(10, width - 46));
    frame += "\x1b[0m\n";
    ++lines;
  }
  char overall[192];
  std::snprintf(overall, sizeof overall,
                "\x1b[2K\x1b[1m%s\x1b[0m  %zu/%zu done  %zu failed  %zu cancelled  %lld tokens  %s\n",
                to_string(snapshot_.phase()),
                snapshot_.count(agent_state::completed),
                agents.size(),
                snapshot_.count(agent_state::failed) + snapshot_.count(agent_state::timed_out),
                snapshot_.count(agent_state::cancelled),
                static_cast<long long>(snapshot_.tokens().total()), seconds(elapsed).c_str());
  frame += overall;
  ++lines;
  lines_drawn_ = lines;
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
}

void live_view::close() {
  if (closed_) return;
  draw(true);
  closed_ = true;
  std::fputs("\x1b[?25h", out_);  // the cursor comes back
  std::fflush(out_);
}

line_view::line_view(std::FILE* out, std::string note) : out_(out) {
  if (!note.empty()) std::fprintf(out_, "conclave: %s\n", note.c_str());
}

void line_view::on_event(const event& e, const progress_map& p) {
  if (e.kind == event_kind::progress) return;
  const std::string t = "[" + seconds(e.at) + "]";
  if (e.agent) {
    const std::size_t n = *e.agent + 1;
    const auto& a = p.agents()[*e.agent];
    switch (e.kind) {
      case event_kind::queued:
        std::fprintf(out_, "%s agent %zu queued: %s\n", t.c_str(), n, e.text.c_str());
        break;
      case event_kind::started:
        std::fprintf(out_, "%s agent %zu started (attempt %d)\n", t.c_str(), n, e.attempt);
        break;
      case event_kind::retrying:
        std::fprintf(out_, "%s agent %zu retrying: %s\n", t.c_str(), n, e.text.c_str());
        break;
      case event_kind::completed:
        std::fprintf(out_, "%s agent %zu done in %s, %lld tokens\n", t.c_str(), n,
                     seconds(a.finished_at - a.started_at).c_str(),
                     static_cast<long long>(e.tokens.total()));
        break;
      default:
        std::fprintf(out_, "%s agent %zu %s: %s\n", t.c_str(), n, to_string(a.state), e.text.c_str());
        break;
    }
  } else if (e.kind == event_kind::decomposed) {
    std::fprintf(out_, "%s decomposed into %zu sub-question(s)%s%s\n", t.c_str(), e.count,
                 e.text.empty() ? "" : ": ", e.text.c_str());
  } else if (e.kind == event_kind::synthesis_started) {
    std::fprintf(out_, "%s synthesizing %zu decision(s)\n", t.c_str(), e.count);
  } else if (e.kind == event_kind::finished) {
    std::fprintf(out_, "%s finished: %s\n", t.c_str(), e.text.c_str());
  }
  std::fflush(out_);
}

}  // namespace conclave::cli
