#include <conclave/mcp/config.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <sstream>

namespace conclave::mcp {

namespace json = boost::json;

namespace {

bool string_list(const json::value& v, std::vector<std::string>& out) {
  if (!v.is_array()) return false;
  for (const json::value& e : v.get_array()) {
    if (!e.is_string()) return false;
    out.emplace_back(e.get_string());
  }
  return true;
}

bool string_map(const json::value& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (!v.is_object()) return false;
  for (const auto& kv : v.get_object()) {
    if (!kv.value().is_string() || kv.key().empty()) return false;
    out.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return true;
}

bool parse_server(std::string_view name, const json::value& v, server_config& s, std::string& why) {
  const std::string where = "MCP server \"" + std::string(name) + "\": ";
  if (name.empty()) {
    why = "MCP config: a server with an empty name";
    return false;
  }
  s.name = std::string(name);
  const json::object* o = v.if_object();
  if (!o) {
    why = where + "must be an object";
    return false;
  }
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    const json::value& f = kv.value();
    bool ok = true;
    if (key == "command") {
      ok = f.is_string() && !f.get_string().empty();
      if (ok) s.command = std::string(f.get_string());
    } else if (key == "url") {
      ok = f.is_string() && !f.get_string().empty();
      if (ok) s.url = std::string(f.get_string());
    } else if (key == "args") {
      ok = string_list(f, s.args);
    } else if (key == "env") {
      ok = string_map(f, s.env);
    } else if (key == "headers") {
      ok = string_map(f, s.headers);
    }  // other keys (type, disabled, cwd...) are other clients' extensions: ignored
    if (!ok) {
      why = where + "\"" + std::string(key) + "\" has the wrong type (" +
            (key == "args"                      ? "an array of strings"
             : key == "env" || key == "headers" ? "an object of strings"
                                                : "a non-empty string") +
            " expected)";
      return false;
    }
  }
  if (s.command.empty() == s.url.empty()) {
    why = where + (s.command.empty() ? "needs a \"command\" (stdio) or a \"url\" (HTTP)"
                                     : "has both \"command\" and \"url\"; choose one");
    return false;
  }
  return true;
}

}  // namespace

bool parse_config(std::string_view json_text, std::vector<server_config>& out, std::string& why) {
  out.clear();
  boost::system::error_code ec;
  const json::value v = json::parse(json_text, ec);
  if (ec) {
    why = "MCP config is not JSON: " + ec.message();
    return false;
  }
  const json::object* root = v.if_object();
  const json::value* servers = root ? root->if_contains("mcpServers") : nullptr;
  if (!servers || !servers->is_object()) {
    why = "MCP config has no \"mcpServers\" object";
    return false;
  }
  for (const auto& kv : servers->get_object()) {
    server_config s;
    if (!parse_server(kv.key(), kv.value(), s, why)) {
      out.clear();
      return false;
    }
    out.push_back(std::move(s));
  }
  return true;
}

bool load_config(const std::string& path, std::vector<server_config>& out, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read MCP config " + path;
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (!parse_config(text.str(), out, why)) {
    why = path + ": " + why;
    return false;
  }
  return true;
}

}  // namespace conclave::mcp
