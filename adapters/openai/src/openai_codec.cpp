// The chat-completions wire behind provider::codec: the functions of wire.hpp, and how
// credentials and the endpoint go on the request.
#include <conclave/openai/wire.hpp>
#include <conclave/provider/http_errors.hpp>

#include <boost/beast/http/field.hpp>

namespace bhttp = boost::beast::http;

namespace conclave::openai {
namespace {

class chat_completions_codec final : public provider::codec {
 public:
  std::string_view name() const noexcept override { return "openai"; }

  bool check(const chat_request& req, std::string& why) const override {
    return check_tools(req, why);
  }

  http::request_message encode(const chat_request& req, const http::base_url& base,
                               const provider::endpoint_settings& settings,
                               bool stream) const override {
    auto m = http::make_request(bhttp::verb::post, base, "chat/completions");
    m.set(bhttp::field::content_type, "application/json");
    m.set(bhttp::field::accept, stream ? "text/event-stream" : "application/json");
    if (!settings.api_key.empty()) {
      m.set(bhttp::field::authorization, "Bearer " + settings.api_key);
    }
    m.body() = encode_chat_request(req, settings.default_model);  // streams() is req.stream
    return m;
  }

  rate_limit_info read_limits(const http::header_fields& headers,
                              std::chrono::system_clock::time_point) const override {
    return decode_rate_limits(headers);
  }

  boost::system::error_code decode_error(unsigned status, std::string_view body,
                                         diagnostics& diag) const override {
    decode_error_body(body, diag);
    return provider::classify_status(status);
  }

  boost::system::error_code decode_reply(std::string_view body, chat_response& out,
                                         bool& usage_reported) const override {
    return decode_chat_completion(body, out, &usage_reported);
  }

  std::unique_ptr<provider::stream_decoder> make_stream_decoder() const override {
    return std::make_unique<stream_decoder>();
  }
};

}  // namespace

const provider::codec& wire() {
  static const chat_completions_codec instance;
  return instance;
}

}  // namespace conclave::openai
