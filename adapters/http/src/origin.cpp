#include <conclave/http/header_safety.hpp>
#include <conclave/http/origin.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

namespace conclave::http {

std::string origin::key() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::string origin::host_header() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string h = ipv6 ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

namespace {

std::string_view without_leading_slashes(std::string_view relative) noexcept {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  return relative;
}

}  // namespace

std::size_t base_url::target_size(std::string_view relative) const noexcept {
  return path.size() + 1 + without_leading_slashes(relative).size();
}

void base_url::write_target(std::string_view relative, char* out) const noexcept {
  relative = without_leading_slashes(relative);
  out = std::copy(path.begin(), path.end(), out);
  *out++ = '/';
  std::copy(relative.begin(), relative.end(), out);
}

std::string base_url::target(std::string_view relative) const {
  std::string t(target_size(relative), '\0');  // one allocation, not one per piece
  write_target(relative, t.data());
  return t;
}

boost::system::result<base_url, std::string> parse_base_url(std::string_view text) {
  // Checked before anything echoes the text back: a message holding a raw CR, LF or ESC
  // would forge log lines or drive the terminal it is printed on.
  if (const auto at = find_control_char(text); at != std::string_view::npos) {
    return "a base URL takes no control characters (one at byte " + std::to_string(at) + ")";
  }
  if (const auto at = text.find(' '); at != std::string_view::npos) {
    return "a base URL takes no spaces (one at byte " + std::to_string(at) + ")";
  }
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return "not an absolute URL: '" + std::string(text) + "'";
  const boost::urls::url_view& u = *parsed;

  base_url out;
  if (u.scheme_id() == boost::urls::scheme::https) {
    out.where.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return "unsupported scheme '" + std::string(u.scheme()) + "' (use http or https)";
  }
  if (u.has_query() || u.has_fragment()) return "a base URL takes no query or fragment";
  if (u.has_userinfo()) return "a base URL takes no user:password (use an API key)";

  out.where.host = std::string(u.encoded_host_address());
  if (out.where.host.empty()) return "no host in '" + std::string(text) + "'";

  out.where.port = out.where.tls ? 443 : 80;
  if (u.has_port()) {
    const auto p = u.port();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (ec != std::errc{} || end != p.data() + p.size() || value == 0 || value > 65535) {
      return "bad port '" + std::string(p) + "'";
    }
    out.where.port = static_cast<std::uint16_t>(value);
  }

  out.path = std::string(u.encoded_path());
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  return out;
}

}  // namespace conclave::http
