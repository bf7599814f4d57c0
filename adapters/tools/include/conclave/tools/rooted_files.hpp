// Access to files under directories the user named (the roots), for the `read_file`,
// `list_dir` and `write_file` built-in tools. Blocking, small, and with no asynchronous part:
// the tools call it on the agent's executor.
//
// The safety rule: a path is used only when its canonical form (every symlink and `..`
// resolved) lies inside the canonical form of a root. A relative path is tried against each
// root in order and the first root under which it exists wins (a write: the first root only);
// an absolute path must lie inside one of them. Anything else is refused with the same message
// whether or not it exists, and no message shows anything from outside the roots.
//
// Writes go further: the file itself is never a symlink (opened with O_NOFOLLOW), its directory
// is reached from the root one component at a time without following links, no directory is
// created, and a file with other hard links is left alone (it may be outside).
//
// Limit: for reads the check and the open are two steps, so a process that can rewrite a root
// (swap a directory for a symlink in between) can race it. Name roots that such a process
// cannot write.
#pragma once

#include <conclave/engine/tool.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::tools {

/// Bounds on what one call reads, lists or writes.
struct file_limits {
  std::uintmax_t max_read_bytes = 64 * 1024;  ///< read_file shows at most this many bytes
  std::size_t max_entries = 1000;             ///< list_dir shows at most this many names
  std::size_t max_scan = 100000;              ///< list_dir stops reading a directory here
  std::size_t max_write_bytes = 1024 * 1024;  ///< write_file refuses longer content
};

/// A fixed set of canonical roots, and the operations on them.
///
/// Thread safety: const after construction; calls may run concurrently.
class rooted_files {
 public:
  /// Canonicalises `roots` (each must exist and be a directory). Empty with `why` set when
  /// there is no root or one is unusable.
  static std::optional<rooted_files> open(const std::vector<std::filesystem::path>& roots,
                                          file_limits limits, std::string& why);

  /// The canonical roots, in the order given.
  const std::vector<std::filesystem::path>& roots() const noexcept { return roots_; }

  /// A regular file's text: at most max_read_bytes, cut on a character boundary with a final
  /// "(cut at N of M bytes)" line, made valid UTF-8 (bad bytes become U+FFFD). A file with NUL
  /// bytes is reported as binary and not shown. Refusals and I/O errors come back is_error.
  tool_output read_file(std::string_view path) const;

  /// A directory's entries sorted by name, one a line: `name/` for a directory, `name@` for a
  /// symlink (not followed), at most max_entries then "... and N more". Names are shown with
  /// control characters replaced. An empty `path` or "." is the first root.
  tool_output list_dir(std::string_view path) const;

  /// Creates or replaces the regular file `path` with `content` (mode 0644 less the umask when
  /// created): "wrote N bytes to 'path'". A relative path is relative to the first root. Refused
  /// (is_error, nothing written): a path outside the roots, a missing directory (none is
  /// created), a name that is a symlink, a directory or another non-regular file, a file with
  /// other hard links, content over max_write_bytes. I/O errors come back is_error; one in the
  /// middle of writing leaves the file cut.
  tool_output write_file(std::string_view path, std::string_view content) const;

 private:
  rooted_files(std::vector<std::filesystem::path> roots, file_limits limits)
      : roots_(std::move(roots)), limits_(limits) {}

  // The canonical, existing path `path` names inside a root, or an is_error refusal in `why`.
  std::optional<std::filesystem::path> resolve(std::string_view path, tool_output& why) const;
  // The first root holding the canonical path `canonical`, or nullptr.
  const std::filesystem::path* root_of(const std::filesystem::path& canonical) const;
  bool inside_a_root(const std::filesystem::path& canonical) const {
    return root_of(canonical) != nullptr;
  }

  std::vector<std::filesystem::path> roots_;
  file_limits limits_;
};

}  // namespace conclave::tools
