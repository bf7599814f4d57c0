// How a server's tool is named to the model: `<server>__<tool>`, made to fit the providers'
// rule for function names (^[a-zA-Z0-9_-]{1,64}$). Pure.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace conclave::mcp {

/// `<server>__<tool>` with every character outside [a-zA-Z0-9_-] replaced by '_', cut to 64
/// bytes. If the result is already in `taken`, a suffix `_2`, `_3`... (the name cut shorter to
/// keep 64) makes it unique. The chosen name is added to `taken`.
std::string exposed_tool_name(std::string_view server, std::string_view tool,
                              std::set<std::string>& taken);

}  // namespace conclave::mcp
