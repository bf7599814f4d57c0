#include <conclave/provider/content_type.hpp>

#include <boost/beast/http/field.hpp>

namespace conclave::provider {

std::string_view media_type_as_sent(const http::header_fields& headers) {
  const auto it = headers.find(boost::beast::http::field::content_type);
  if (it == headers.end()) return {};
  std::string_view v = it->value();
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string media_type(const http::header_fields& headers) {
  std::string out(media_type_as_sent(headers));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

namespace {

bool same_letters(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

// `b` of same_letters is lower case.
bool may_be_json(std::string_view type) noexcept {
  const std::string_view suffix = "+json";
  return type.empty() || same_letters(type, "application/json") ||
         same_letters(type, "text/json") ||
         (type.size() >= suffix.size() &&
          same_letters(type.substr(type.size() - suffix.size()), suffix)) ||
         same_letters(type, "text/plain") || same_letters(type, "application/octet-stream");
}

bool may_be_event_stream(std::string_view type) noexcept {
  return type.empty() || same_letters(type, "text/event-stream");
}

}  // namespace conclave::provider
