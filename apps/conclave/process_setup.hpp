// What a command-line process checks about its surroundings before anything else.
#pragma once

namespace conclave::cli {

struct standard_fds {
  bool stdout_closed = false;   ///< fd 1 was closed at start (now /dev/null): output is lost
  bool stdin_readable = false;  ///< fd 0 is a pipe or a file: there may be input to read
  long open_files = -1;         ///< the open-file limit in force (-1: unknown)
};

/// Makes sure fds 0-2 are open (a closed one gets /dev/null), so no file or socket opened
/// later can take fd 1 and receive the answer, and says what stdin and stdout are.
standard_fds ensure_standard_fds();

/// Raises the soft open-file limit to the hard one: a run of thousands of agents needs a
/// connection each. Returns the limit now in force.
long raise_open_file_limit();

}  // namespace conclave::cli
