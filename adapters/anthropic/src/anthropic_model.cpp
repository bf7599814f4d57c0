#include <conclave/anthropic/anthropic_model.hpp>

namespace conclave::anthropic {

anthropic_model::anthropic_model(http::client& client, anthropic_options opts)
    : provider::http_model(client, anthropic::wire(),
                           {.base_url = std::move(opts.base_url),
                            .api_key = std::move(opts.api_key),
                            .default_model = std::move(opts.default_model),
                            .request_timeout = opts.request_timeout}) {}

}  // namespace conclave::anthropic
