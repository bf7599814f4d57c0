#include "process_setup.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conclave::cli {

standard_fds ensure_standard_fds() {
  standard_fds out;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1) continue;
    if (fd == 1) out.stdout_closed = true;
    // open() returns the lowest free descriptor: this one.
    const int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (got != fd && got >= 0) close(got);
  }
  struct stat st {};
  if (fstat(0, &st) == 0) out.stdin_readable = S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode);
  return out;
}

long raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return -1;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  return static_cast<long>(lim.rlim_cur);
}

}  // namespace conclave::cli
