#include <conclave/mcp/protocol.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <optional>

namespace conclave::mcp {

namespace json = boost::json;

bool is_known_protocol_version(std::string_view version) noexcept {
  static constexpr std::array<std::string_view, 4> known{"2025-11-25", "2025-06-18", "2025-03-26",
                                                         "2024-11-05"};
  for (auto v : known)
    if (v == version) return true;
  return false;
}

namespace {

json::object envelope() {
  json::object o;
  o["jsonrpc"] = "2.0";
  return o;
}

// JSON-RPC ids are numbers or strings; we send integers, so only integral numbers can be ours.
std::optional<std::int64_t> our_id(const json::value& id) {
  if (id.is_int64()) return id.get_int64();
  if (id.is_uint64() && id.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(id.get_uint64());
  if (id.is_double()) {
    const double d = id.get_double();
    if (d >= 0 && d < 9e15 && d == static_cast<double>(static_cast<std::int64_t>(d)))
      return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

incoming invalid(std::string why) {
  incoming m;
  m.why = std::move(why);
  return m;
}

incoming classify(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return invalid("a JSON-RPC message must be an object");
  const json::value* version = o->if_contains("jsonrpc");
  if (!version || !version->is_string() || version->get_string() != "2.0")
    return invalid("not JSON-RPC 2.0 (jsonrpc must be \"2.0\")");
  const json::value* id = o->if_contains("id");
  const json::value* method = o->if_contains("method");
  incoming m;
  if (method) {
    if (!method->is_string()) return invalid("method must be a string");
    m.method = std::string(method->get_string());
    if (id && !id->is_null()) {
      if (!id->is_string() && !id->is_number()) return invalid("id must be a string or number");
      m.what = incoming::kind::request;
      m.request_id = *id;
    } else {
      m.what = incoming::kind::notification;
    }
    return m;
  }
  if (const json::value* err = o->if_contains("error")) {
    m.what = incoming::kind::error_response;
    if (id) m.id = our_id(*id);
    if (const json::object* eo = err->if_object()) {
      if (const json::value* c = eo->if_contains("code"); c && c->is_int64())
        m.error_code = static_cast<int>(c->get_int64());
      if (const json::value* msg = eo->if_contains("message"); msg && msg->is_string())
        m.error_message = std::string(msg->get_string());
    }
    if (m.error_message.empty()) m.error_message = "error " + std::to_string(m.error_code);
    return m;
  }
  if (const json::value* result = o->if_contains("result")) {
    if (!id) return invalid("a response without an id");
    m.id = our_id(*id);
    if (!m.id) return invalid("a response to an id we never sent");
    m.what = incoming::kind::response;
    m.result = *result;
    return m;
  }
  return invalid("neither a request, a notification nor a response");
}

}  // namespace

std::string encode_request(std::int64_t id, std::string_view method, const json::object& params) {
  json::object o = envelope();
  o["id"] = id;
  o["method"] = method;
  o["params"] = params;
  return json::serialize(o);
}

std::string encode_notification(std::string_view method, const json::object& params) {
  json::object o = envelope();
  o["method"] = method;
  if (!params.empty()) o["params"] = params;
  return json::serialize(o);
}

std::string encode_result(const json::value& id, const json::object& result) {
  json::object o = envelope();
  o["id"] = id;
  o["result"] = result;
  return json::serialize(o);
}

std::string encode_error(const json::value& id, int code, std::string_view message) {
  json::object o = envelope();
  o["id"] = id;
  o["error"] = json::object{{"code", code}, {"message", message}};
  return json::serialize(o);
}

std::vector<incoming> decode_messages(std::string_view text) {
  std::vector<incoming> out;
  if (text.size() > max_message_bytes) {
    out.push_back(invalid("message of " + std::to_string(text.size()) + " bytes exceeds the " +
                          std::to_string(max_message_bytes) + "-byte limit"));
    return out;
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    std::string head(text.substr(0, 80));
    for (char& c : head)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    out.push_back(invalid("not JSON (" + ec.message() + "): \"" + head +
                          (text.size() > 80 ? "...\"" : "\"")));
    return out;
  }
  if (const json::array* batch = v.if_array()) {
    if (batch->empty()) out.push_back(invalid("an empty batch"));
    for (const json::value& e : *batch) out.push_back(classify(e));
    return out;
  }
  out.push_back(classify(v));
  return out;
}

json::object initialize_params(std::string_view client_version) {
  json::object p;
  p["protocolVersion"] = latest_protocol_version;
  p["capabilities"] = json::object{};
  p["clientInfo"] = json::object{{"name", "conclave"}, {"version", client_version}};
  return p;
}

bool parse_initialize_result(const json::value& result, server_info& out, std::string& why) {
  const json::object* o = result.if_object();
  if (!o) {
    why = "initialize result is not an object";
    return false;
  }
  const json::value* v = o->if_contains("protocolVersion");
  if (!v || !v->is_string()) {
    why = "initialize result has no protocolVersion";
    return false;
  }
  if (!is_known_protocol_version(v->get_string())) {
    why = "server speaks MCP protocol version \"" + std::string(v->get_string()) +
          "\", which this client does not (it knows 2025-11-25, 2025-06-18, 2025-03-26, "
          "2024-11-05)";
    return false;
  }
  out.protocol_version = std::string(v->get_string());
  if (const json::value* info = o->if_contains("serverInfo"); info && info->is_object()) {
    if (const json::value* n = info->get_object().if_contains("name"); n && n->is_string())
      out.name = std::string(n->get_string());
    if (const json::value* n = info->get_object().if_contains("version"); n && n->is_string())
      out.version = std::string(n->get_string());
  }
  return true;
}

json::object tools_list_params(std::string_view cursor) {
  json::object p;
  if (!cursor.empty()) p["cursor"] = cursor;
  return p;
}

namespace {

// A boolean annotation: true, false, or unset when absent or not a boolean.
std::optional<bool> hint(const json::object* annotations, std::string_view name) {
  const json::value* v = annotations ? annotations->if_contains(name) : nullptr;
  if (!v || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

bool is_string_schema(const json::value& schema) {
  const json::object* o = schema.if_object();
  const json::value* type = o ? o->if_contains("type") : nullptr;
  if (!type) return false;
  if (type->is_string()) return type->get_string() == "string";
  if (const json::array* a = type->if_array())
    return std::any_of(a->begin(), a->end(), [](const json::value& t) {
      return t.is_string() && t.get_string() == "string";
    });
  return false;
}

}  // namespace

std::string written_argument(const json::object& listed_tool) {
  const json::value* a = listed_tool.if_contains("annotations");
  const json::object* annotations = a ? a->if_object() : nullptr;
  const std::optional<bool> read_only = hint(annotations, "readOnlyHint");
  const std::optional<bool> destructive = hint(annotations, "destructiveHint");
  // Only what the server says: the spec's defaults (not read-only, destructive) would make
  // every unannotated tool a writer.
  const bool may_write = read_only != true && (read_only == false || destructive == true);
  if (!may_write) return {};
  const json::value* schema = listed_tool.if_contains("inputSchema");
  const json::value* props =
      schema && schema->is_object() ? schema->get_object().if_contains("properties") : nullptr;
  const json::object* properties = props ? props->if_object() : nullptr;
  if (!properties) return {};
  for (const char* name : {"path", "file_path", "filePath", "filename", "file", "uri"}) {
    if (const json::value* p = properties->if_contains(name); p && is_string_schema(*p))
      return name;
  }
  return {};
}

bool parse_tools_list(const json::value& result, tools_page& out, std::string& why) {
  out = {};
  const json::object* o = result.if_object();
  const json::value* tools = o ? o->if_contains("tools") : nullptr;
  if (!tools || !tools->is_array()) {
    why = "tools/list result has no tools array";
    return false;
  }
  for (const json::value& t : tools->get_array()) {
    const json::object* to = t.if_object();
    const json::value* name = to ? to->if_contains("name") : nullptr;
    if (!name || !name->is_string() || name->get_string().empty()) {
      why = "tools/list entry without a name";
      return false;
    }
    remote_tool r;
    r.name = std::string(name->get_string());
    if (const json::value* d = to->if_contains("description"); d && d->is_string())
      r.description = std::string(d->get_string());
    const json::value* schema = to->if_contains("inputSchema");
    r.input_schema = schema && schema->is_object() ? json::serialize(*schema)
                                                   : R"({"type":"object","properties":{}})";
    r.writes = written_argument(*to);
    out.tools.push_back(std::move(r));
  }
  if (const json::value* c = o->if_contains("nextCursor"); c && c->is_string())
    out.next_cursor = std::string(c->get_string());
  return true;
}

bool tools_call_params(std::string_view name, std::string_view arguments_json, json::object& out,
                       std::string& why) {
  json::value args = json::object{};
  if (arguments_json.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    boost::system::error_code ec;
    args = json::parse(arguments_json, ec);
    if (ec || !args.is_object()) {
      why = "tool arguments must be a JSON object";
      return false;
    }
  }
  out = {};
  out["name"] = name;
  out["arguments"] = std::move(args);
  return true;
}

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Binary payloads are never shown to the model: a placeholder says what there was.
std::string placeholder(std::string_view kind, std::string_view mime, std::size_t base64_bytes) {
  std::string s = "[" + std::string(kind);
  if (!mime.empty()) s += " " + std::string(mime);
  return s + ", " + std::to_string(base64_bytes) + " bytes base64]";
}

std::string describe_item(const json::object& item, bool& is_text) {
  const std::string type = str(item, "type");
  is_text = false;
  if (type == "text") {
    is_text = true;
    return str(item, "text");
  }
  if (type == "image" || type == "audio")
    return placeholder(type, str(item, "mimeType"), str(item, "data").size());
  if (type == "resource") {
    const json::value* r = item.if_contains("resource");
    if (!r || !r->is_object()) return "[resource]";
    const json::object& ro = r->get_object();
    if (const json::value* t = ro.if_contains("text"); t && t->is_string()) {
      is_text = true;
      return std::string(t->get_string());
    }
    return placeholder("resource " + str(ro, "uri"), str(ro, "mimeType"), str(ro, "blob").size());
  }
  if (type == "resource_link") return "[resource_link " + str(item, "uri") + "]";
  return "[" + (type.empty() ? std::string("unknown") : type) + " content]";
}

}  // namespace

tool_output tool_output_from_result(const json::value& result) {
  tool_output out;
  const json::object* o = result.if_object();
  if (!o) return {"tools/call result is not an object", true};
  if (const json::value* e = o->if_contains("isError"); e && e->is_bool())
    out.is_error = e->get_bool();
  bool any_text = false;
  if (const json::value* content = o->if_contains("content"); content && content->is_array()) {
    for (const json::value& item : content->get_array()) {
      if (!item.is_object()) continue;
      bool is_text = false;
      std::string piece = describe_item(item.get_object(), is_text);
      any_text = any_text || is_text;
      if (!out.content.empty()) out.content += '\n';
      out.content += piece;
    }
  }
  if (!any_text) {
    if (const json::value* s = o->if_contains("structuredContent"); s && !s->is_null()) {
      if (!out.content.empty()) out.content += '\n';
      out.content += json::serialize(*s);
    }
  }
  return out;
}

tool_output tool_output_from_error(int code, std::string_view message) {
  return {"MCP error " + std::to_string(code) + ": " + std::string(message), true};
}

}  // namespace conclave::mcp
