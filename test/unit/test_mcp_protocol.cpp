// The MCP wire without I/O: JSON-RPC encoding and classification, the initialize handshake,
// tools/list pages, tools/call results joined for the model, tool naming, config parsing and
// the clean environment, which listed tools write. Tables, no sockets.
#include <conclave/mcp/client.hpp>
#include <conclave/mcp/config.hpp>
#include <conclave/mcp/environment.hpp>
#include <conclave/mcp/host.hpp>
#include <conclave/mcp/naming.hpp>
#include <conclave/mcp/protocol.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>

namespace unit_test_mcp_protocol {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace conclave::mcp;
namespace json = boost::json;

namespace {
incoming one(std::string_view text) {
  auto v = decode_messages(text);
  BOOST_REQUIRE_EQUAL(v.size(), 1u);
  return v[0];
}
}  // namespace

BOOST_AUTO_TEST_SUITE(mcp_protocol)

BOOST_AUTO_TEST_CASE(encodes_requests_notifications_and_replies) {
  const json::value r = json::parse(encode_request(7, "tools/list", tools_list_params("")));
  BOOST_TEST(json::serialize(r) == R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}})");
  BOOST_TEST(encode_notification("notifications/initialized") ==
             R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  BOOST_TEST(encode_result(json::value("abc"), {}) ==
             R"({"jsonrpc":"2.0","id":"abc","result":{}})");
  BOOST_TEST(encode_error(json::value(3), method_not_found, "no") ==
             R"({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}})");
  const json::value p = json::parse(encode_request(1, "tools/list", tools_list_params("c2")));
  BOOST_TEST(p.at("params").at("cursor").as_string() == "c2");
}

BOOST_AUTO_TEST_CASE(initialize_params_name_us_and_the_latest_version) {
  const json::object p = initialize_params("1.2.3");
  BOOST_TEST(p.at("protocolVersion").as_string() == "2025-11-25");
  BOOST_TEST(p.at("capabilities").as_object().empty());
  BOOST_TEST(p.at("clientInfo").at("name").as_string() == "conclave");
  BOOST_TEST(p.at("clientInfo").at("version").as_string() == "1.2.3");
}

BOOST_AUTO_TEST_CASE(classifies_messages) {
  struct row {
    std::string text;
    incoming::kind what;
    std::optional<std::int64_t> id;
    std::string method;
  };
  const std::vector<row> rows{
      {R"({"jsonrpc":"2.0","id":4,"result":{"x":1}})", incoming::kind::response, 4, ""},
      {R"({"jsonrpc":"2.0","id":4.0,"result":{}})", incoming::kind::response, 4, ""},
      {R"({"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"bad"}})",
       incoming::kind::error_response, 5, ""},
      {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}})",
       incoming::kind::error_response, std::nullopt, ""},
      {R"({"jsonrpc":"2.0","id":"s1","method":"ping"})", incoming::kind::request, std::nullopt,
       "ping"},
      {R"({"jsonrpc":"2.0","method":"notifications/message","params":{}})",
       incoming::kind::notification, std::nullopt, "notifications/message"},
      {R"({"jsonrpc":"1.0","id":1,"result":{}})", incoming::kind::invalid, std::nullopt, ""},
      {R"({"id":1,"result":{}})", incoming::kind::invalid, std::nullopt, ""},
      {R"({"jsonrpc":"2.0","result":{}})", incoming::kind::invalid, std::nullopt, ""},
      {R"({"jsonrpc":"2.0","id":"str","result":{}})", incoming::kind::invalid, std::nullopt, ""},
      {R"({"jsonrpc":"2.0","method":5})", incoming::kind::invalid, std::nullopt, ""},
      {R"({"jsonrpc":"2.0","id":1})", incoming::kind::invalid, std::nullopt, ""},
      {R"([1,2)", incoming::kind::invalid, std::nullopt, ""},
      {"hello world", incoming::kind::invalid, std::nullopt, ""},
      {"42", incoming::kind::invalid, std::nullopt, ""},
      {"", incoming::kind::invalid, std::nullopt, ""},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      const incoming m = one(r.text);
      BOOST_TEST(static_cast<int>(m.what) == static_cast<int>(r.what));
      BOOST_TEST((m.id == r.id));
      BOOST_TEST(m.method == r.method);
      if (m.what == incoming::kind::invalid) BOOST_TEST(!m.why.empty());
    }
  }
  const incoming e = one(R"({"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"bad"}})");
  BOOST_TEST(e.error_code == -32602);
  BOOST_TEST(e.error_message == "bad");
}

BOOST_AUTO_TEST_CASE(batches_and_size_limit) {
  auto v =
      decode_messages(R"([{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","method":"x"}])");
  BOOST_REQUIRE_EQUAL(v.size(), 2u);
  BOOST_TEST((v[0].what == incoming::kind::response));
  BOOST_TEST((v[1].what == incoming::kind::notification));
  BOOST_TEST((one("[]").what == incoming::kind::invalid));
  const std::string huge =
      R"({"jsonrpc":"2.0","id":1,"result":{"t":")" + std::string(max_message_bytes, 'a') + "\"}}";
  const incoming big = one(huge);
  BOOST_TEST((big.what == incoming::kind::invalid));
  BOOST_TEST(big.why.find("limit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(initialize_result_versions) {
  struct row {
    std::string result;
    bool ok;
    std::string why_has;
  };
  const std::vector<row> rows{
      {R"({"protocolVersion":"2025-11-25","serverInfo":{"name":"s","version":"1"}})", true, ""},
      {R"({"protocolVersion":"2025-06-18"})", true, ""},
      {R"({"protocolVersion":"2025-03-26"})", true, ""},
      {R"({"protocolVersion":"2024-11-05"})", true, ""},
      {R"({"protocolVersion":"2099-01-01"})", false, "2099-01-01"},
      {R"({"protocolVersion":5})", false, "protocolVersion"},
      {R"({})", false, "protocolVersion"},
      {R"([])", false, "not an object"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.result) {
      server_info info;
      std::string why;
      BOOST_TEST(parse_initialize_result(json::parse(r.result), info, why) == r.ok);
      if (!r.ok) BOOST_TEST(why.find(r.why_has) != std::string::npos, why);
    }
  }
  server_info info;
  std::string why;
  BOOST_REQUIRE(parse_initialize_result(
      json::parse(R"({"protocolVersion":"2025-11-25","serverInfo":{"name":"s","version":"1"}})"),
      info, why));
  BOOST_TEST(info.name == "s");
  BOOST_TEST(info.version == "1");
}

BOOST_AUTO_TEST_CASE(tools_list_pages) {
  tools_page p;
  std::string why;
  BOOST_REQUIRE(parse_tools_list(json::parse(R"({"tools":[
      {"name":"echo","description":"Echo","inputSchema":{"type":"object","properties":{"m":{"type":"string"}}}},
      {"name":"bare"}],"nextCursor":"n2"})"),
                                 p, why));
  BOOST_REQUIRE_EQUAL(p.tools.size(), 2u);
  BOOST_TEST(p.tools[0].name == "echo");
  BOOST_TEST(p.tools[0].description == "Echo");
  BOOST_TEST(json::parse(p.tools[0].input_schema).at("properties").as_object().contains("m"));
  BOOST_TEST(p.tools[1].description == "");
  BOOST_TEST(json::parse(p.tools[1].input_schema).at("type").as_string() == "object");
  BOOST_TEST(p.next_cursor == "n2");

  BOOST_REQUIRE(parse_tools_list(json::parse(R"({"tools":[]})"), p, why));
  BOOST_TEST(p.next_cursor.empty());
  for (const char* bad : {R"({})", R"({"tools":{}})", R"({"tools":[{"description":"x"}]})",
                          R"({"tools":[{"name":""}]})", R"({"tools":[1]})", R"(null)"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!parse_tools_list(json::parse(bad), p, why)); }
  }
}

BOOST_AUTO_TEST_CASE(writing_tools_name_the_argument_they_write) {
  struct row {
    const char* annotations;  // the tool's "annotations" member, or "" for none
    const char* properties;   // its inputSchema's "properties"
    const char* writes;
  };
  const char* path = R"({"path":{"type":"string"},"content":{"type":"string"}})";
  const std::vector<row> rows{
      // Unannotated, or annotated as read-only: never guessed to write.
      {"", path, ""},
      {R"({})", path, ""},
      {R"({"title":"Write"})", path, ""},
      {R"({"readOnlyHint":true})", path, ""},
      {R"({"readOnlyHint":true,"destructiveHint":true})", path, ""},  // read-only wins
      {R"({"destructiveHint":false})", path, ""},
      {R"({"readOnlyHint":"false"})", path, ""},  // not a boolean: not said
      {R"([1])", path, ""},
      // Said to change things.
      {R"({"readOnlyHint":false})", path, "path"},
      {R"({"destructiveHint":true})", path, "path"},
      {R"({"readOnlyHint":false,"destructiveHint":false,"idempotentHint":true})", path, "path"},
      // Which argument: the first of the list that is a string property.
      {R"({"readOnlyHint":false})", R"({"uri":{"type":"string"},"file":{"type":"string"}})",
       "file"},
      {R"({"readOnlyHint":false})", R"({"filePath":{"type":"string"}})", "filePath"},
      {R"({"readOnlyHint":false})", R"({"file_path":{"type":"string"},"path":{"type":"array"}})",
       "file_path"},
      {R"({"readOnlyHint":false})", R"({"filename":{"type":["string","null"]}})", "filename"},
      {R"({"readOnlyHint":false})", R"({"uri":{"type":"string","format":"uri"}})", "uri"},
      {R"({"readOnlyHint":false})", R"({"path":{}})", ""},  // no type said: not a string
      {R"({"readOnlyHint":false})", R"({"Path":{"type":"string"}})", ""},
      {R"({"readOnlyHint":false})", R"({"target":{"type":"string"}})", ""},
      {R"({"readOnlyHint":false})", R"({})", ""},
  };
  for (const auto& r : rows) {
    const std::string entry =
        std::string(R"({"name":"t",)") +
        (*r.annotations ? std::string(R"("annotations":)") + r.annotations + "," : std::string()) +
        R"("inputSchema":{"type":"object","properties":)" + r.properties + "}}";
    BOOST_TEST_CONTEXT(entry) {
      BOOST_TEST(written_argument(json::parse(entry).as_object()) == r.writes);
      tools_page p;
      std::string why;
      BOOST_REQUIRE(parse_tools_list(json::parse(R"({"tools":[)" + entry + "]}"), p, why));
      BOOST_TEST(p.tools.at(0).writes == r.writes);
    }
  }
  // No inputSchema, or one without properties: nothing to name.
  BOOST_TEST(written_argument(
                 json::parse(R"({"name":"t","annotations":{"readOnlyHint":false}})").as_object()) ==
             "");
  BOOST_TEST(written_argument(json::parse(R"({"name":"t","annotations":{"readOnlyHint":false},
      "inputSchema":{"type":"object","properties":[]}})")
                                  .as_object()) == "");

  // The conclave tool made from a listed one carries it (the client is made, never connected).
  boost::asio::io_context io;
  auto c = client::create(io.get_executor(), {.name = "files", .command = "true"});
  std::set<std::string> taken;
  const auto tools = make_tools(
      c, {{"write_file", "Writes", "{}", "path"}, {"read_file", "Reads", "{}", ""}}, taken);
  BOOST_REQUIRE_EQUAL(tools.size(), 2u);
  BOOST_TEST(tools[0]->spec().name == "files__write_file");
  BOOST_TEST(tools[0]->spec().writes == "path");
  BOOST_TEST(tools[1]->spec().writes == "");
}

BOOST_AUTO_TEST_CASE(tools_call_params_need_an_object) {
  json::object p;
  std::string why;
  BOOST_REQUIRE(tools_call_params("echo", R"({"message":"hi"})", p, why));
  BOOST_TEST(json::serialize(p) == R"({"name":"echo","arguments":{"message":"hi"}})");
  BOOST_REQUIRE(tools_call_params("echo", "  ", p, why));
  BOOST_TEST(p.at("arguments").as_object().empty());
  BOOST_TEST(!tools_call_params("echo", "[1]", p, why));
  BOOST_TEST(!tools_call_params("echo", "{", p, why));
}

BOOST_AUTO_TEST_CASE(tool_results_as_the_model_sees_them) {
  struct row {
    std::string result;
    std::string content;
    bool is_error;
  };
  const std::vector<row> rows{
      {R"({"content":[{"type":"text","text":"hi"}]})", "hi", false},
      {R"({"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})", "a\nb", false},
      {R"({"content":[{"type":"text","text":"no such file"}],"isError":true})", "no such file",
       true},
      {R"({"content":[{"type":"image","data":"QUJD","mimeType":"image/png"}]})",
       "[image image/png, 4 bytes base64]", false},
      {R"({"content":[{"type":"audio","data":"QUJDRA==","mimeType":"audio/wav"}]})",
       "[audio audio/wav, 8 bytes base64]", false},
      {R"({"content":[{"type":"resource","resource":{"uri":"file:///a","text":"body"}}]})", "body",
       false},
      {R"({"content":[{"type":"resource","resource":{"uri":"file:///b","blob":"QQ==","mimeType":"x/y"}}]})",
       "[resource file:///b x/y, 4 bytes base64]", false},
      {R"({"content":[{"type":"resource_link","uri":"file:///c","name":"c"}]})",
       "[resource_link file:///c]", false},
      {R"({"content":[],"structuredContent":{"sum":3}})", R"({"sum":3})", false},
      {R"({"content":[{"type":"text","text":"3"}],"structuredContent":{"sum":3}})", "3", false},
      {R"({"content":[{"type":"mystery"}]})", "[mystery content]", false},
      {R"({})", "", false},
      {R"("text")", "tools/call result is not an object", true},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.result) {
      const tool_output out = tool_output_from_result(json::parse(r.result));
      BOOST_TEST(out.content == r.content);
      BOOST_TEST(out.is_error == r.is_error);
    }
  }
  const tool_output e = tool_output_from_error(-32602, "Unknown tool: nope");
  BOOST_TEST(e.is_error);
  BOOST_TEST(e.content == "MCP error -32602: Unknown tool: nope");
}

BOOST_AUTO_TEST_CASE(exposed_names_fit_the_providers_rule) {
  std::set<std::string> taken;
  BOOST_TEST(exposed_tool_name("fs", "read_file", taken) == "fs__read_file");
  BOOST_TEST(exposed_tool_name("my server", "a.b/c", taken) == "my_server__a_b_c");
  BOOST_TEST(exposed_tool_name("my.server", "a_b c", taken) == "my_server__a_b_c_2");
  BOOST_TEST(exposed_tool_name("my server", "a.b/c", taken) == "my_server__a_b_c_3");
  const std::string longer = exposed_tool_name("s", std::string(100, 'x'), taken);
  BOOST_TEST(longer.size() == 64u);
  const std::string again = exposed_tool_name("s", std::string(100, 'x'), taken);
  BOOST_TEST(again.size() == 64u);
  BOOST_TEST(again.ends_with("_2"));
  BOOST_TEST(exposed_tool_name("ü", "t", taken) == "____t");
}

BOOST_AUTO_TEST_CASE(config_shapes) {
  std::vector<server_config> out;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_config(R"({"mcpServers":{
      "fs":{"command":"npx","args":["-y","x"],"env":{"A":"1"}},
      "web":{"url":"http://127.0.0.1:9/mcp","headers":{"Authorization":"Bearer t"},"type":"http"}}})",
                                     out, why),
                        why);
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0].name == "fs");
  BOOST_TEST(out[0].command == "npx");
  BOOST_TEST(out[0].args == (std::vector<std::string>{"-y", "x"}));
  BOOST_TEST(out[0].env.at(0).first == "A");
  BOOST_TEST(out[1].url == "http://127.0.0.1:9/mcp");
  BOOST_TEST(out[1].headers.at(0).second == "Bearer t");

  BOOST_REQUIRE(parse_config(R"({"mcpServers":{}})", out, why));
  BOOST_TEST(out.empty());

  struct row {
    std::string text;
    std::string why_has;
  };
  const std::vector<row> bad{
      {"not json", "not JSON"},
      {R"({"servers":{}})", "mcpServers"},
      {R"({"mcpServers":[]})", "mcpServers"},
      {R"({"mcpServers":{"a":{}}})", "\"a\": needs a \"command\""},
      {R"({"mcpServers":{"a":{"command":"x","url":"http://h"}}})", "both"},
      {R"({"mcpServers":{"a":{"command":5}}})", "\"command\" has the wrong type"},
      {R"({"mcpServers":{"a":{"command":""}}})", "\"command\" has the wrong type"},
      {R"({"mcpServers":{"a":{"command":"x","args":"-y"}}})", "\"args\" has the wrong type"},
      {R"({"mcpServers":{"a":{"command":"x","args":[1]}}})", "\"args\""},
      {R"({"mcpServers":{"a":{"command":"x","env":{"K":1}}}})", "\"env\""},
      {R"({"mcpServers":{"a":{"url":"http://h","headers":[]}}})", "\"headers\""},
      {R"({"mcpServers":{"":{"command":"x"}}})", "empty name"},
      {R"({"mcpServers":{"a":"x"}})", "must be an object"},
  };
  for (const row& r : bad) {
    BOOST_TEST_CONTEXT(r.text) {
      BOOST_TEST(!parse_config(r.text, out, why));
      BOOST_TEST(why.find(r.why_has) != std::string::npos, why);
    }
  }
  BOOST_TEST(!load_config("/nonexistent/mcp.json", out, why));
  BOOST_TEST(why.find("/nonexistent/mcp.json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(clean_environment_keeps_only_the_basics) {
  const char* parent[] = {"PATH=/usr/bin", "HOME=/home/u",  "LANG=C.UTF-8",
                          "LC_ALL=C",      "TMPDIR=/tmp/x", "OPENAI_API_KEY=sk-secret",
                          "AWS_SECRET=x",  "PATHOLOGY=1",   "noequals",
                          nullptr};
  const auto env = clean_environment(parent, {{"TOKEN", "t"}, {"HOME", "/srv"}});
  const std::vector<std::string> want{"PATH=/usr/bin", "LANG=C.UTF-8", "LC_ALL=C",
                                      "TMPDIR=/tmp/x", "TOKEN=t",      "HOME=/srv"};
  BOOST_TEST(env == want, boost::test_tools::per_element());
  BOOST_TEST(find_program("sh", {"PATH=/nonexistent:/bin:/usr/bin"}).ends_with("/sh"));
  BOOST_TEST(find_program("no-such-program-xyz", {"PATH=/bin:/usr/bin"}).empty());
  BOOST_TEST(find_program("./x", {}) == "./x");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_mcp_protocol
