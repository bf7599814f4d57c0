// Where the journal lives by default: the user's state directory, as the attempt log.
#include <conclave/journal/journal.hpp>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sys/stat.h>

namespace conclave::journal {
namespace {

// "" is the root: the bases below are kept without their trailing slash.
bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.empty() ? "/" : p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Each missing directory of `rest` below `from` (which must exist), created 0700.
bool make_below(const std::string& from, const std::filesystem::path& rest) {
  if (!is_dir(from)) return false;
  std::string at = from;
  for (const auto& part : rest) {
    at += "/" + part.string();
    if (::mkdir(at.c_str(), 0700) != 0 && !is_dir(at)) return false;
  }
  return true;
}

}  // namespace

std::string default_journal_path(const env_lookup& env) {
  auto read = [&](const char* name) -> std::string {
    if (env) return env(name);
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  // The XDG rule: a relative path in these variables is invalid and ignored.
  auto base = [&](const char* name) -> std::optional<std::string> {
    std::string v = read(name);
    if (v.empty() || v.front() != '/') return std::nullopt;
    while (v.size() > 1 && v.back() == '/') v.pop_back();
    if (v == "/") v.clear();
    return v;
  };
  if (auto state = base("XDG_STATE_HOME")) {
    // The state directory itself may be made (the XDG spec asks for 0700), from the root down.
    const std::filesystem::path dir = std::filesystem::path(*state + "/conclave").relative_path();
    return make_below("", dir) ? *state + "/conclave/journal.db" : std::string();
  }
  if (auto home = base("HOME")) {
    // HOME is never made: a missing one is a broken environment, not ours to fill in.
    return make_below(*home, ".local/state/conclave") ? *home + "/.local/state/conclave/journal.db"
                                                      : std::string();
  }
  return {};
}

}  // namespace conclave::journal
