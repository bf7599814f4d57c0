// A throwaway certificate authority and server certificate, made at run time (EC P-256,
// SHA-256), for the mock's TLS mode and the tests. Never for production.
#pragma once

#include <conclave/mock/mock_server.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace conclave::mock {

struct pem_pair {
  std::string certificate;  ///< PEM
  std::string private_key;  ///< PEM (PKCS#8)
};

struct test_pki_options {
  std::string ca_name = "conclave test CA";
  std::vector<std::string> dns_names{"localhost"};     ///< server SAN DNS entries
  std::vector<std::string> ip_addresses{"127.0.0.1"};  ///< server SAN IP entries
  std::chrono::seconds server_valid_from{-3600};       ///< relative to now
  std::chrono::seconds server_valid_for{24 * 3600};    ///< from valid_from; negative sum: expired
};

struct test_pki {
  pem_pair ca;
  pem_pair server;
  tls_material server_material() const { return {server.certificate, server.private_key}; }
};

/// Throws std::runtime_error if OpenSSL fails.
test_pki make_test_pki(const test_pki_options& opts = {});

}  // namespace conclave::mock
