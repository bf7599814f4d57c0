#include "tools_setup.hpp"

#include <conclave/tools/builtin.hpp>

#include <algorithm>

namespace conclave::cli {

std::vector<std::shared_ptr<tool>> builtin_tools(boost::asio::any_io_executor ex,
                                                 const ask_settings& s) {
  std::vector<std::string> names;
  for (const auto& n : s.tools) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  if (names.empty()) return {};
  tools::builtin_options options;
  for (const auto& r : s.roots) options.roots.emplace_back(r);
  std::string why;
  auto made = tools::make_builtin_tools(names, std::move(ex), options, why);
  if (made.empty()) {
    if (why.find("root") != std::string::npos) why += " (give it one with --root DIR)";
    throw usage_error(why);
  }
  return made;
}

}  // namespace conclave::cli
