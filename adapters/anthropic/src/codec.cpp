// The Anthropic wire as the provider::codec the HTTP shell drives: the free functions of
// wire.hpp and stream_decoder.hpp behind one stateless instance.
#include <conclave/anthropic/wire.hpp>
#include <conclave/provider/codec.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace bhttp = boost::beast::http;

namespace conclave::anthropic {
namespace {

class messages_codec final : public provider::codec {
 public:
  std::string_view name() const noexcept override { return "anthropic"; }

  bool check(const chat_request& req, std::string& why) const override {
    // OpenAI takes up to 2; Anthropic refuses above 1 with a 400 no retry can fix.
    if (req.temperature && !(*req.temperature >= 0 && *req.temperature <= 1)) {
      why = "temperature must be from 0 to 1 on the Anthropic API";
      return false;
    }
    return check_tools(req, why);
  }

  // Always streamed on the wire: Anthropic advises it for long replies (a silent connection
  // may be dropped on the way), and an overload mid-reply then arrives as a typed event.
  bool streams(const chat_request&) const noexcept override { return true; }

  http::request_message encode(const chat_request& req, const http::base_url& base,
                               const provider::endpoint_settings& settings,
                               bool stream) const override {
    auto m = http::make_request(bhttp::verb::post, base, "v1/messages");
    m.set(bhttp::field::content_type, "application/json");
    m.set(bhttp::field::accept, stream ? "text/event-stream" : "application/json");
    m.set("anthropic-version", api_version);
    if (!settings.api_key.empty()) m.set("x-api-key", settings.api_key);
    m.body() = encode_messages_request(req, settings.default_model, stream);
    return m;
  }

  rate_limit_info read_limits(const http::header_fields& headers,
                              std::chrono::system_clock::time_point now) const override {
    return decode_rate_limits(headers, now);
  }

  boost::system::error_code decode_error(unsigned status, std::string_view body,
                                         diagnostics& diag) const override {
    return decode_error_body(status, body, diag);
  }

  boost::system::error_code decode_reply(std::string_view body, chat_response& out,
                                         bool& usage_reported) const override {
    return decode_message(body, out, &usage_reported);
  }

  std::unique_ptr<provider::stream_decoder> make_stream_decoder() const override {
    return std::make_unique<stream_decoder>();
  }
};

}  // namespace

const provider::codec& wire() {
  static const messages_codec instance;  // stateless: shared by every call and thread
  return instance;
}

}  // namespace conclave::anthropic
