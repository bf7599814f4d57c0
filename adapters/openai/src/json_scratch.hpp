// The shared JSON readers (provider/json_read.hpp), under the names the OpenAI codec uses.
#pragma once

#include <conclave/provider/json_read.hpp>

namespace conclave::openai {

using provider::count_at;
using provider::cut;
using provider::scratch;
using provider::string_at;

}  // namespace conclave::openai
