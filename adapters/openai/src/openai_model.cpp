#include <conclave/openai/openai_model.hpp>
#include <conclave/openai/wire.hpp>

namespace conclave::openai {

openai_model::openai_model(http::client& client, openai_options opts)
    : provider::http_model(client, openai::wire(),
                           {.base_url = std::move(opts.base_url),
                            .api_key = std::move(opts.api_key),
                            .default_model = std::move(opts.default_model),
                            .request_timeout = opts.request_timeout}) {}

}  // namespace conclave::openai
