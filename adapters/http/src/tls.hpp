// Client TLS set-up: a verifying context, and per-connection SNI + hostname checks.
#pragma once

#include <conclave/http/client.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>

namespace conclave::http::detail {

/// A client context that verifies peers against `opts.ca_file` or the system store.
/// On failure returns nullptr and says why in `why`.
std::unique_ptr<boost::asio::ssl::context> make_client_tls_context(const tls_options& opts,
                                                                   std::string& why);

/// Sets SNI (for names, not IP literals) and the name or address the certificate must match.
void bind_peer_name(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& s,
                    const std::string& host, bool host_is_ip);

/// OpenSSL's reason for a failed verification ("hostname mismatch", "unable to get local issuer
/// certificate"...), or empty when verification itself succeeded.
std::string verify_failure_reason(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& s);

}  // namespace conclave::http::detail
