#include <conclave/engine/text.hpp>
#include <conclave/provider/tool_checks.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

namespace json = boost::json;

namespace conclave::provider {

bool check_tools(const chat_request& req, std::string& why) {
  auto valid_name = [](const std::string& n) {
    if (n.empty() || n.size() > 64) return false;
    for (char c : n) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
      if (!ok) return false;
    }
    return true;
  };
  std::vector<std::string_view> seen;
  for (const auto& t : req.tools) {
    if (!valid_name(t.name)) {
      why = "tool name '" + text::quote(t.name, 80) + "' is not 1-64 letters, digits, _ or -";
      return false;
    }
    if (std::find(seen.begin(), seen.end(), t.name) != seen.end()) {
      why = "tool '" + t.name + "' is offered twice";
      return false;
    }
    seen.push_back(t.name);
    boost::system::error_code ec;
    const json::value parameters = json::parse(t.parameters, ec);
    if (ec || !parameters.is_object()) {
      why = "tool '" + t.name + "': parameters are not a JSON Schema object";
      return false;
    }
  }
  if (req.choice.how == tool_choice::mode::named &&
      std::find(seen.begin(), seen.end(), req.choice.name) == seen.end()) {
    why = "tool_choice names '" + text::quote(req.choice.name, 80) + "', which is not offered";
    return false;
  }
  if (req.tools.empty() && req.choice.how == tool_choice::mode::required) {
    why = "tool_choice requires a tool call, but no tool is offered";
    return false;
  }
  return true;
}

}  // namespace conclave::provider
