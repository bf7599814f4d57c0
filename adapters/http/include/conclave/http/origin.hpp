// Where requests go: scheme + host + port (the pool's key) and a base path, parsed from a
// base URL such as "https://api.openai.com/v1" or "http://127.0.0.1:8000/v1".
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace conclave::http {

struct origin {
  bool tls = false;        ///< https
  std::string host;        ///< DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 0;  ///< explicit, or 80 / 443 by scheme
  /// "https://host:port": the connection pool's key.
  std::string key() const;
  /// Host header value: host, plus ":port" when not the scheme's default.
  std::string host_header() const;
  bool operator==(const origin&) const = default;
};

struct base_url {
  origin where;
  std::string path;  ///< without trailing slash, e.g. "/v1"; may be empty
  /// path + "/" + relative, e.g. target("chat/completions") == "/v1/chat/completions".
  std::string target(std::string_view relative) const;
  /// target(relative)'s length, and the same written at `out` (that many bytes): for a target
  /// made in room of the caller's, with no allocation (make_request).
  std::size_t target_size(std::string_view relative) const noexcept;
  void write_target(std::string_view relative, char* out) const noexcept;
};

/// Parses an http or https URL. Fails with a message naming what is wrong (unsupported
/// scheme, no host, bad port, query or fragment present, control characters or spaces).
boost::system::result<base_url, std::string> parse_base_url(std::string_view url);

}  // namespace conclave::http
