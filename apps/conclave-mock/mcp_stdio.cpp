#include "mcp_stdio.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <istream>
#include <ostream>
#include <string>

namespace json = boost::json;

namespace conclave::mock_app {
namespace {

json::value tools_list() {
  const auto tool = [](const char* name, const char* description, json::object schema) {
    return json::object{{"name", name}, {"description", description}, {"inputSchema", schema}};
  };
  return json::object{
      {"tools",
       json::array{tool("echo", "Echoes the message back",
                        {{"type", "object"},
                         {"properties", {{"message", {{"type", "string"}}}}},
                         {"required", json::array{"message"}}}),
                   tool("add", "Adds two numbers",
                        {{"type", "object"},
                         {"properties", {{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}},
                         {"required", json::array{"a", "b"}}})}}};
}

json::value text_result(std::string text, bool is_error) {
  json::object r{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}}};
  if (is_error) r["isError"] = true;
  return r;
}

json::value call(const json::object& params) {
  const auto* name = params.if_contains("name");
  const auto* args = params.if_contains("arguments");
  const json::object empty;
  const json::object& a = args && args->is_object() ? args->get_object() : empty;
  if (!name || !name->is_string()) return text_result("no tool name", true);
  if (name->get_string() == "echo") {
    const auto* m = a.if_contains("message");
    if (!m || !m->is_string()) return text_result("echo needs a string 'message'", true);
    return text_result("Echo: " + std::string(m->get_string()), false);
  }
  if (name->get_string() == "add") {
    const auto* x = a.if_contains("a");
    const auto* y = a.if_contains("b");
    if (!x || !y || !x->is_number() || !y->is_number())
      return text_result("add needs numbers 'a' and 'b'", true);
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.17g", x->to_number<double>() + y->to_number<double>());
    return text_result(sum, false);
  }
  return text_result("unknown tool '" + std::string(name->get_string()) + "'", true);
}

}  // namespace

int serve_mcp_stdio(std::istream& in, std::ostream& out) {
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& m = v.get_object();
    const auto* id = m.if_contains("id");
    const auto* method = m.if_contains("method");
    if (!id || !method || !method->is_string()) continue;  // notifications, responses
    json::object reply{{"jsonrpc", "2.0"}, {"id", *id}};
    const auto& what = method->get_string();
    const auto* params = m.if_contains("params");
    if (what == "initialize") {
      std::string version = "2025-11-25";
      if (params && params->is_object()) {
        if (const auto* p = params->get_object().if_contains("protocolVersion");
            p && p->is_string())
          version = std::string(p->get_string());
      }
      reply["result"] = json::object{{"protocolVersion", version},
                                     {"capabilities", {{"tools", json::object{}}}},
                                     {"serverInfo", {{"name", "conclave-mock"}, {"version", "1"}}}};
    } else if (what == "ping") {
      reply["result"] = json::object{};
    } else if (what == "tools/list") {
      reply["result"] = tools_list();
    } else if (what == "tools/call" && params && params->is_object()) {
      reply["result"] = call(params->get_object());
    } else {
      reply["error"] = json::object{{"code", -32601}, {"message", "method not found"}};
    }
    out << json::serialize(reply) << '\n' << std::flush;
  }
  return 0;
}

}  // namespace conclave::mock_app
