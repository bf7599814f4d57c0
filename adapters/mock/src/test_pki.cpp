#include <conclave/mock/test_pki.hpp>

#include <memory>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdexcept>

namespace conclave::mock {
namespace {

struct openssl_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using owned = std::unique_ptr<T, openssl_free>;

[[noreturn]] void fail(const char* what) {
  char buf[256] = {};
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  throw std::runtime_error(std::string("test PKI: ") + what + ": " + buf);
}

owned<EVP_PKEY> make_key() {
  owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) fail("key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("certificate extension");
}

owned<X509> make_certificate(EVP_PKEY* subject_key, const std::string& common_name, X509* issuer,
                             long valid_from_s, long valid_for_s) {
  owned<X509> cert(X509_new());
  if (!cert) fail("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), valid_from_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_from_s + valid_for_s);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) fail("signing");
}

std::string to_pem(X509* cert) {
  owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) fail("PEM certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
  owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    fail("PEM key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

test_pki make_test_pki(const test_pki_options& opts) {
  auto ca_key = make_key();
  auto ca = make_certificate(ca_key.get(), opts.ca_name, nullptr, -3600, 10L * 24 * 3600);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  sign(ca.get(), ca_key.get());

  auto server_key = make_key();
  const std::string cn = opts.dns_names.empty() ? "conclave mock" : opts.dns_names.front();
  auto server = make_certificate(server_key.get(), cn, ca.get(),
                                 static_cast<long>(opts.server_valid_from.count()),
                                 static_cast<long>(opts.server_valid_for.count()));
  std::string san;
  for (const auto& d : opts.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : opts.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  add_extension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  if (!san.empty()) add_extension(server.get(), ca.get(), NID_subject_alt_name, san);
  add_extension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  sign(server.get(), ca_key.get());

  return {{to_pem(ca.get()), to_pem(ca_key.get())},
          {to_pem(server.get()), to_pem(server_key.get())}};
}

}  // namespace conclave::mock
