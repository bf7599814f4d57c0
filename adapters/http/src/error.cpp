#include <conclave/http/error.hpp>

#include <string>

namespace conclave::http {
namespace {

class http_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conclave.http"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::tls_config_invalid:
        return "TLS configuration unusable";
      case error::unsafe_request:
        return "request holds a control character in a header or target";
      case error::too_many_interim_responses:
        return "too many interim (1xx) responses";
    }
    return "unknown conclave.http error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const http_category category;
  return category;
}

}  // namespace conclave::http
