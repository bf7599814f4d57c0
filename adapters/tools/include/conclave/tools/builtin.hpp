// The built-in tools an agent may be given: `calculator`, `read_file`, `list_dir`,
// `write_file`. None is on unless the host asks for it by name; none reaches the network.
//
// Each is a `conclave::tool` (engine/tool.hpp). Its work is short and synchronous (parse and
// evaluate, or a bounded blocking read or write of a local file), so it runs in one step posted to
// the call's executor: the handler's associated executor (the agent's strand), else the `ex` given
// here. A call completes with an empty error_code and a tool_output; bad arguments, refused paths
// and arithmetic errors are `is_error` outputs. Cancellation is not observed: once posted, a call
// finishes.
#pragma once

#include <conclave/engine/tool.hpp>
#include <conclave/tools/calculator.hpp>
#include <conclave/tools/rooted_files.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::tools {

/// What the built-ins may see and how much they may do.
struct builtin_options {
  /// Directories the file tools may see (required by them; relative paths are tried against
  /// these in order; write_file's are relative to the first).
  std::vector<std::filesystem::path> roots;
  /// Bounds on one calculator evaluation.
  calculator_limits calculator;
  /// Bounds on one read_file, list_dir or write_file call.
  file_limits files;
};

/// The names make_builtin knows, sorted: calculator, list_dir, read_file, write_file.
std::vector<std::string_view> builtin_names();

/// The built-in tool `name`, or nullptr with `why` set: an unknown name, or a file tool
/// without a usable root ("read_file needs at least one root directory"). write_file's spec
/// has `writes = "path"`, so the engine tracks what each agent writes.
/// `ex` is the fallback executor for callers whose handler has none.
std::shared_ptr<tool> make_builtin(std::string_view name, boost::asio::any_io_executor ex,
                                   const builtin_options& options, std::string& why);

/// Each tool in `names`, in that order; empty with `why` set when any one cannot be made.
std::vector<std::shared_ptr<tool>> make_builtin_tools(const std::vector<std::string>& names,
                                                      boost::asio::any_io_executor ex,
                                                      const builtin_options& options,
                                                      std::string& why);

}  // namespace conclave::tools
