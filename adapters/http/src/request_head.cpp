#include "request_head.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <array>
#include <charconv>

namespace bhttp = boost::beast::http;

namespace conclave::http::detail {
namespace {

// Fields whose values the client decides: the caller's are not sent.
bool owned_by_client(bhttp::field f) {
  return f == bhttp::field::host || f == bhttp::field::content_length ||
         f == bhttp::field::transfer_encoding || f == bhttp::field::connection;
}

bool wants_length(const request_message& req) {
  const auto m = req.method();
  return !req.body().empty() || m == bhttp::verb::post || m == bhttp::verb::put ||
         m == bhttp::verb::options;
}

// Appends the pieces of the head to `out`, or counts them when `out` is null: the head is
// measured first, then written into one allocation of its size.
class head_writer {
 public:
  explicit head_writer(std::string* out) : out_(out) {}
  head_writer& operator<<(std::string_view s) {
    if (out_) {
      out_->append(s);
    } else {
      size_ += s.size();
    }
    return *this;
  }
  std::size_t size() const { return size_; }

 private:
  std::string* out_;
  std::size_t size_ = 0;
};

void write_head(head_writer& w, const request_message& req, std::string_view host,
                std::string_view user_agent, std::string_view length) {
  w << req.method_string() << " " << req.target()
    << (req.version() >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  w << "Host: " << host << "\r\n";
  bool has_agent = false;
  for (const auto& f : req) {
    if (owned_by_client(f.name())) continue;
    has_agent = has_agent || f.name() == bhttp::field::user_agent;
    w << f.name_string() << ": " << f.value() << "\r\n";
  }
  if (!has_agent) w << "User-Agent: " << user_agent << "\r\n";
  if (!length.empty()) w << "Content-Length: " << length << "\r\n";
  if (req.version() < 11) w << "Connection: keep-alive\r\n";
  w << "\r\n";
}

}  // namespace

std::string request_head(const request_message& req, const origin& where,
                         std::string_view user_agent) {
  std::array<char, 24> digits{};
  std::string_view length;
  if (wants_length(req)) {
    const auto [end, ec] =
        std::to_chars(digits.data(), digits.data() + digits.size(), req.body().size());
    (void)ec;  // a size_t always fits
    length = std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data()));
  }
  const std::string host = where.host_header();
  head_writer measure(nullptr);
  write_head(measure, req, host, user_agent, length);
  std::string head;
  head.reserve(measure.size());
  head_writer write(&head);
  write_head(write, req, host, user_agent, length);
  return head;
}

}  // namespace conclave::http::detail
