// The router's matching (pure: no socket, no executor) and the server layer's JSON error body.
#include <conclave/engine/json_string.hpp>
#include <conclave/http/server.hpp>

namespace conclave::http {
namespace {

// "/v1/tasks/7" -> {"v1", "tasks", "7"}; a trailing slash gives a last empty segment, so
// "/v1/tasks/" does not match "/v1/tasks".
std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);  // deeper than any route here: one allocation, where growing took two or three
  if (path.starts_with('/')) path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Whether `r` matches `path` (its segments in `parts`), capturing its `{name}` segments.
bool path_matches(const router::route& r, std::string_view path,
                  const std::vector<std::string_view>& parts,
                  std::map<std::string, std::string, std::less<>>* params) {
  if (r.suffix) return path.ends_with(r.segments.front());
  if (r.segments.size() != parts.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& want = r.segments[i];
    if (is_capture(want)) {
      if (parts[i].empty()) return false;
    } else if (want != parts[i]) {
      return false;
    }
  }
  if (params) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const std::string& want = r.segments[i];
      if (is_capture(want)) (*params)[want.substr(1, want.size() - 2)] = percent_decode(parts[i]);
    }
  }
  return true;
}

}  // namespace

router& router::add(std::string method, std::string pattern, handler h) {
  std::vector<std::string> segments;
  for (const auto part : split(pattern)) segments.emplace_back(part);
  routes_.push_back({std::move(method), std::move(segments), false, std::move(h)});
  return *this;
}

router& router::add_suffix(std::string method, std::string suffix, handler h) {
  routes_.push_back({std::move(method), {std::move(suffix)}, true, std::move(h)});
  return *this;
}

router& router::fallback(std::function<boost::asio::awaitable<void>(exchange&, unsigned)> f) {
  fallback_ = std::move(f);
  return *this;
}

router::match_result router::match(std::string_view method, std::string_view path) const {
  const auto parts = split(path);
  match_result out;
  // Exact routes before suffix routes, each in the order added; HEAD is served by a GET route
  // when no HEAD route matches (the server then sends the headers only).
  std::vector<std::string> allowed;
  auto note_allowed = [&](const std::string& m) {
    for (const auto& a : allowed)
      if (a == m) return;
    allowed.push_back(m);
  };
  for (const std::string_view wanted : {method, std::string_view(method == "HEAD" ? "GET" : "")}) {
    if (wanted.empty()) continue;
    for (const bool suffix : {false, true}) {
      for (const auto& r : routes_) {
        if (r.suffix != suffix || r.method != wanted) continue;
        std::map<std::string, std::string, std::less<>> params;
        if (!path_matches(r, path, parts, &params)) continue;
        out.h = &r.h;
        out.params = std::move(params);
        return out;
      }
    }
  }
  for (const bool suffix : {false, true}) {
    for (const auto& r : routes_) {
      if (r.suffix == suffix && path_matches(r, path, parts, nullptr)) note_allowed(r.method);
    }
  }
  if (allowed.empty()) {
    out.status = 404;
    return out;
  }
  bool get = false, head = false;
  for (const auto& a : allowed) {
    get = get || a == "GET";
    head = head || a == "HEAD";
  }
  if (get && !head) allowed.emplace_back("HEAD");
  out.status = 405;
  for (const auto& a : allowed) {
    if (!out.allow.empty()) out.allow += ", ";
    out.allow += a;
  }
  return out;
}

std::string error_body(std::string_view message, std::string_view type, std::string_view code,
                       std::string_view param) {
  std::string out = "{\"error\":{\"message\":";
  append_json_string(out, message);
  out += ",\"type\":";
  append_json_string(out, type);
  out += ",\"param\":";
  if (param.empty()) {
    out += "null";
  } else {
    append_json_string(out, param);
  }
  out += ",\"code\":";
  if (code.empty()) {
    out += "null";
  } else {
    append_json_string(out, code);
  }
  out += "}}";
  return out;
}

}  // namespace conclave::http
