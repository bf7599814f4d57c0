#include <conclave/provider/content_type.hpp>

#include <boost/beast/http/field.hpp>

namespace conclave::provider {

std::string media_type(const boost::beast::http::fields& headers) {
  const auto it = headers.find(boost::beast::http::field::content_type);
  if (it == headers.end()) return {};
  std::string_view v = it->value();
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool may_be_json(std::string_view type) noexcept {
  return type.empty() || type == "application/json" || type == "text/json" ||
         type.ends_with("+json") || type == "text/plain" || type == "application/octet-stream";
}

bool may_be_event_stream(std::string_view type) noexcept {
  return type.empty() || type == "text/event-stream";
}

}  // namespace conclave::provider
