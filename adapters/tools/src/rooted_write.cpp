// write_file's half of rooted_files: the canonical-path rule decides, then descriptors do the
// work, so nothing is followed between the check and the write below the root.
#include "path_words.hpp"

#include <conclave/tools/rooted_files.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace fs = std::filesystem;

namespace conclave::tools {
namespace {

using detail::refusal;
using detail::shown;

// An open file descriptor, closed on scope exit.
struct descriptor {
  int fd = -1;
  explicit descriptor(int f) noexcept : fd(f) {}
  ~descriptor() {
    if (fd >= 0) ::close(fd);
  }
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  void reset(int f) noexcept {
    const int err = errno;  // why `f` failed, if it did, outlives closing the old one
    if (fd >= 0) ::close(fd);
    fd = f;
    errno = err;
  }
};

std::string because(std::string what, int err) { return what + ": " + std::strerror(err); }

// Opens `dir` (canonical, inside `root`) by walking down from `root` with O_NOFOLLOW at each
// step, so a directory swapped for a symlink after the check is refused rather than followed.
int open_directory(const fs::path& root, const fs::path& dir) {
  constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  descriptor at(::open(root.c_str(), flags));
  for (const fs::path& step : dir.lexically_relative(root)) {
    if (at.fd < 0) break;
    if (step == ".") continue;
    at.reset(::openat(at.fd, step.c_str(), flags));
  }
  const int fd = at.fd;
  at.fd = -1;
  return fd;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

tool_output rooted_files::write_file(std::string_view path, std::string_view content) const {
  if (path.find('\0') != std::string_view::npos)
    return refusal("refused: the path contains a NUL byte");
  if (content.size() > limits_.max_write_bytes)
    return refusal("refused: the content is " + std::to_string(content.size()) +
                   " bytes; the limit is " + std::to_string(limits_.max_write_bytes));
  const fs::path asked(std::string{path});
  const fs::path name = asked.filename();
  if (path.empty() || name.empty() || name == "." || name == "..")
    return refusal("refused: " + shown(path) + " does not name a file");
  const fs::path candidate = asked.is_absolute() ? asked : roots_.front() / asked;

  // The directory must exist inside a root; a missing one is named only when it would have
  // been inside, so a refusal looks the same whether or not something exists out there.
  std::error_code ec;
  const fs::path dir = fs::canonical(candidate.parent_path(), ec);
  const std::string outside = "refused: " + shown(path) + " is outside the allowed directories";
  if (ec) {
    const fs::path weak = fs::weakly_canonical(candidate.parent_path(), ec);
    if (ec || !inside_a_root(weak)) return refusal(outside);
    return refusal("no such directory for " + shown(path) + " (write_file creates none)");
  }
  const fs::path* root = root_of(dir);
  if (!root) return refusal(outside);

  descriptor parent(open_directory(*root, dir));
  if (parent.fd < 0) return refusal(because("cannot open the directory of " + shown(path), errno));
  // No O_TRUNC yet: what is there is checked first and left whole when refused. O_NONBLOCK
  // keeps a FIFO without a reader from hanging the call (it is refused below).
  descriptor file(::openat(parent.fd, name.c_str(),
                           O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
  if (file.fd < 0) {
    const int err = errno;
    if (err == ELOOP) return refusal("refused: " + shown(path) + " is a symlink (not followed)");
    if (err == EISDIR) return refusal("refused: " + shown(path) + " is a directory");
    if (err == ENXIO) return refusal("refused: " + shown(path) + " is not a regular file");
    return refusal(because("cannot write " + shown(path), err));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return refusal(because("cannot write " + shown(path), errno));
  if (!S_ISREG(st.st_mode)) return refusal("refused: " + shown(path) + " is not a regular file");
  // Another name for the same file may be outside the roots.
  if (st.st_nlink > 1)
    return refusal("refused: " + shown(path) + " has other hard links (it may be outside)");
  if (::ftruncate(file.fd, 0) != 0 || !write_all(file.fd, content))
    return refusal(because("cannot write " + shown(path), errno));
  if (::close(std::exchange(file.fd, -1)) != 0)
    return refusal(because("cannot write " + shown(path), errno));
  return {"wrote " + std::to_string(content.size()) + " bytes to " + shown(path), false};
}

}  // namespace conclave::tools
