#include "path_words.hpp"

#include <conclave/tools/rooted_files.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace fs = std::filesystem;

namespace conclave::tools {

using detail::refusal;
using detail::shown;

std::optional<rooted_files> rooted_files::open(const std::vector<fs::path>& roots,
                                               file_limits limits, std::string& why) {
  if (roots.empty()) {
    why = "needs at least one root directory";
    return std::nullopt;
  }
  std::vector<fs::path> canonical;
  for (const auto& root : roots) {
    std::error_code ec;
    fs::path c = root.empty() ? fs::path() : fs::canonical(root, ec);
    if (root.empty() || ec) {
      why = "root " + shown(root.string()) + " is not usable" + (ec ? ": " + ec.message() : "");
      return std::nullopt;
    }
    if (!fs::is_directory(c, ec)) {
      why = "root " + shown(root.string()) + " is not a directory";
      return std::nullopt;
    }
    canonical.push_back(std::move(c));
  }
  return rooted_files(std::move(canonical), limits);
}

const fs::path* rooted_files::root_of(const fs::path& canonical) const {
  for (const fs::path& root : roots_) {
    if (std::mismatch(root.begin(), root.end(), canonical.begin(), canonical.end()).first ==
        root.end())
      return &root;
  }
  return nullptr;
}

std::optional<fs::path> rooted_files::resolve(std::string_view path, tool_output& why) const {
  if (path.find('\0') != std::string_view::npos) {
    why = refusal("refused: the path contains a NUL byte");
    return std::nullopt;
  }
  const fs::path asked = path.empty() ? fs::path(".") : fs::path(std::string(path));
  std::vector<fs::path> candidates;
  if (asked.is_absolute()) {
    candidates.push_back(asked);
  } else {
    for (const auto& root : roots_) candidates.push_back(root / asked);
  }
  bool outside = false;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    fs::path c = fs::canonical(candidate, ec);
    if (!ec) {
      if (inside_a_root(c)) return c;
      outside = true;
      continue;
    }
    // Missing (or unreadable): say so only when it would have been inside, so that a refusal
    // looks the same whether or not something exists out there.
    fs::path weak = fs::weakly_canonical(candidate, ec);
    if (ec || !inside_a_root(weak)) outside = true;
  }
  why = outside ? refusal("refused: " + shown(path) + " is outside the allowed directories")
                : refusal("no such file or directory: " + shown(path));
  return std::nullopt;
}

tool_output rooted_files::read_file(std::string_view path) const {
  tool_output why;
  const auto file = resolve(path, why);
  if (!file) return why;
  std::error_code ec;
  const fs::file_status st = fs::status(*file, ec);
  if (fs::is_directory(st)) return refusal(shown(path) + " is a directory: use list_dir");
  if (ec || !fs::is_regular_file(st)) return refusal(shown(path) + " is not a regular file");
  const std::uintmax_t size = fs::file_size(*file, ec);
  std::ifstream in(*file, std::ios::binary);
  if (ec || !in) return refusal("cannot read " + shown(path));

  // One byte past the cap tells a cut file from one that fills it (sizes of special files
  // such as those in /proc can be 0).
  std::string data(static_cast<std::size_t>(limits_.max_read_bytes) + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) return refusal("cannot read " + shown(path));
  data.resize(static_cast<std::size_t>(in.gcount()));
  const bool cut = data.size() > limits_.max_read_bytes;
  const std::uintmax_t total = std::max<std::uintmax_t>(size, data.size());

  if (data.find('\0') != std::string::npos)
    return refusal(shown(path) + " is a binary file (" + std::to_string(total) +
                   " bytes, with NUL bytes): not shown");
  if (data.empty()) return {"(empty file)", false};
  if (!cut) return {text::to_valid_utf8(data), false};
  const std::string_view kept =
      text::utf8_prefix(data, static_cast<std::size_t>(limits_.max_read_bytes));
  std::string out = text::to_valid_utf8(kept);
  out += "\n(cut at " + std::to_string(kept.size()) + " of " + std::to_string(total) + " bytes)";
  return {std::move(out), false};
}

tool_output rooted_files::list_dir(std::string_view path) const {
  tool_output why;
  const auto dir = resolve(path, why);
  if (!dir) return why;
  std::error_code ec;
  if (!fs::is_directory(*dir, ec)) return refusal(shown(path) + " is not a directory");

  struct entry {
    std::string name;
    char mark;  // '/' directory, '@' symlink, 0 anything else
  };
  std::vector<entry> entries;
  bool stopped = false;
  fs::directory_iterator it(*dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (entries.size() == limits_.max_scan) {
      stopped = true;
      break;
    }
    std::error_code kind_ec;
    // symlink_status: a link is shown as a link, never followed out of the root.
    const fs::file_status st = it->symlink_status(kind_ec);
    const char mark = fs::is_symlink(st) ? '@' : fs::is_directory(st) ? '/' : 0;
    entries.push_back({it->path().filename().string(), mark});
  }
  if (ec) return refusal("cannot list " + shown(path) + ": " + ec.message());
  if (entries.empty()) return {"(empty directory)", false};

  std::sort(entries.begin(), entries.end(),
            [](const entry& a, const entry& b) { return a.name < b.name; });
  std::string out;
  const std::size_t shown_count = std::min(entries.size(), limits_.max_entries);
  for (std::size_t i = 0; i < shown_count; ++i) {
    out += text::for_terminal(entries[i].name, false);
    if (entries[i].mark) out += entries[i].mark;
    out += '\n';
  }
  if (entries.size() > shown_count)
    out += "... and " + std::to_string(entries.size() - shown_count) + (stopped ? "+" : "") +
           " more\n";
  else if (stopped)
    out += "... and more\n";
  if (stopped)
    out += "(stopped reading after " + std::to_string(limits_.max_scan) +
           " entries: the order is among those)\n";
  out.pop_back();
  return {std::move(out), false};
}

}  // namespace conclave::tools
