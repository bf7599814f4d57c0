// The MCP wire, without I/O: JSON-RPC 2.0 messages, the initialize handshake, tools/list pages
// and tools/call results, as values. Every transport (stdio lines, Streamable HTTP bodies and
// SSE events) hands its bytes here and sends what these functions encode.
#pragma once

#include <conclave/engine/tool.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::mcp {

/// The version we ask for in `initialize`.
inline constexpr std::string_view latest_protocol_version = "2025-11-25";
/// One message (a stdio line, an HTTP body, an SSE event) larger than this is refused.
inline constexpr std::size_t max_message_bytes = 4 * 1024 * 1024;
/// tools/list pagination stops with an error past these bounds (a server looping its cursor).
inline constexpr std::size_t max_tool_pages = 100;
inline constexpr std::size_t max_tools = 1000;

/// JSON-RPC error codes we send or look at.
inline constexpr int method_not_found = -32601;

/// True for the protocol versions this client speaks: 2025-11-25, 2025-06-18, 2025-03-26,
/// 2024-11-05.
bool is_known_protocol_version(std::string_view version) noexcept;

/// `{"jsonrpc":"2.0","id":id,"method":method,"params":params}` as one line of JSON (no newline).
std::string encode_request(std::int64_t id, std::string_view method,
                           const boost::json::object& params);
/// A notification (no id); `params` omitted when empty.
std::string encode_notification(std::string_view method, const boost::json::object& params = {});
/// Our answer to a server's request: an empty result, or an error.
std::string encode_result(const boost::json::value& id, const boost::json::object& result);
std::string encode_error(const boost::json::value& id, int code, std::string_view message);

/// One message from the server, classified.
struct incoming {
  enum class kind {
    response,        ///< a result for our request `id`
    error_response,  ///< an error object for our request `id` (id unset: the server could
                     ///< not read our request)
    request,         ///< the server asks us something (`method`, `request_id`)
    notification,    ///< the server tells us something (`method`); ignored by the client
    invalid,         ///< not JSON-RPC 2.0; `why` says what is wrong
  };
  kind what = kind::invalid;
  std::optional<std::int64_t> id;  ///< our request's id, on responses (integer ids only)
  boost::json::value request_id;   ///< the server's id, on requests (echoed back as is)
  std::string method;              ///< on requests and notifications
  boost::json::value result;       ///< `result` of a response
  int error_code = 0;              ///< `error.code` of an error response
  std::string error_message;       ///< `error.message` of an error response
  std::string why;                 ///< on invalid
};

/// Classifies one JSON text. Larger than max_message_bytes, not JSON, or not JSON-RPC 2.0:
/// kind::invalid with the reason. A JSON array (a batch) gives one entry per element.
std::vector<incoming> decode_messages(std::string_view text);

/// The `params` of `initialize`: our latest version, no capabilities, clientInfo conclave.
boost::json::object initialize_params(std::string_view client_version);

struct server_info {
  std::string protocol_version;  ///< what the server chose (one we know)
  std::string name;              ///< serverInfo.name, if sent
  std::string version;           ///< serverInfo.version, if sent
};

/// Reads an initialize result. False (and `why`) when it is not an object, has no
/// protocolVersion, or the version is not one we know.
bool parse_initialize_result(const boost::json::value& result, server_info& out, std::string& why);

/// One tool as the server lists it; `input_schema` is JSON text of an object.
struct remote_tool {
  std::string name;
  std::string description;
  std::string input_schema;
  /// The argument naming what the tool writes (see written_argument); empty: none known.
  std::string writes;
};

/// The argument naming the resource a listed tool writes, or "". Only for a tool whose
/// `annotations` say it may change things: `readOnlyHint` false, or `destructiveHint` true
/// (unless `readOnlyHint` is true, which the spec says wins). Unannotated tools are not
/// guessed at. The argument is the first of "path", "file_path", "filePath", "filename",
/// "file", "uri" that `inputSchema` has as a string property.
std::string written_argument(const boost::json::object& listed_tool);

struct tools_page {
  std::vector<remote_tool> tools;
  std::string next_cursor;  ///< empty: the last page
};

/// `params` of tools/list: `{}` or `{"cursor": cursor}`.
boost::json::object tools_list_params(std::string_view cursor);

/// Reads one tools/list result. Entries without a string name are an error; a missing
/// inputSchema becomes an empty object schema; a missing description is "". `writes` is
/// written_argument of each entry.
bool parse_tools_list(const boost::json::value& result, tools_page& out, std::string& why);

/// `params` of tools/call. False when `arguments_json` is not a JSON object ("" counts as {}).
bool tools_call_params(std::string_view name, std::string_view arguments_json,
                       boost::json::object& out, std::string& why);

/// A tools/call result as the model sees it: content items joined by newlines (text as is;
/// images, audio and binary resources as a short placeholder; embedded text resources as
/// their text), structuredContent serialized when there is no text, isError → is_error.
/// A result that is not an object becomes an is_error output saying so.
tool_output tool_output_from_result(const boost::json::value& result);

/// A JSON-RPC error answering tools/call, as an is_error output the model sees.
tool_output tool_output_from_error(int code, std::string_view message);

}  // namespace conclave::mcp
