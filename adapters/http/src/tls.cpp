#include "tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace ssl = boost::asio::ssl;

namespace conclave::http::detail {

std::unique_ptr<ssl::context> make_client_tls_context(const tls_options& opts, std::string& why) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (!opts.ca_file.empty()) {
    ctx->load_verify_file(opts.ca_file, ec);
    if (ec) {
      why = "cannot load CA file '" + opts.ca_file + "': " + ec.message();
      return nullptr;
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      why = "cannot load the system CA store: " + ec.message();
      return nullptr;
    }
  }
  ctx->set_verify_mode(opts.verify_peer ? ssl::verify_peer : ssl::verify_none);
  return ctx;
}

void bind_peer_name(ssl::stream<boost::asio::ip::tcp::socket>& s, const std::string& host,
                    bool host_is_ip) {
  SSL* handle = s.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(handle);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (host_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    SSL_set_tlsext_host_name(handle, host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
}

std::string verify_failure_reason(ssl::stream<boost::asio::ip::tcp::socket>& s) {
  const long result = SSL_get_verify_result(s.native_handle());
  if (result == X509_V_OK) return {};
  return X509_verify_cert_error_string(result);
}

}  // namespace conclave::http::detail
