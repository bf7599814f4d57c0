#include "client_core.hpp"

#include "tls.hpp"

namespace asio = boost::asio;

namespace conclave::http::detail {

client_core::client_core(asio::any_io_executor ex, client_options o)
    : opts(std::move(o)),
      connections(std::make_shared<pool>(std::move(ex), opts.max_connections_per_origin,
                                         opts.idle_timeout)) {}

asio::ssl::context* client_core::tls_context() {
  std::call_once(tls_made, [this] { tls = make_client_tls_context(opts.tls, tls_error); });
  return tls.get();
}

}  // namespace conclave::http::detail
