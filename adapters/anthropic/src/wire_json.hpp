// The shared JSON readers (provider/json_read.hpp), under the names the Anthropic decoders use.
#pragma once

#include <conclave/provider/json_read.hpp>

namespace conclave::anthropic::detail {

using provider::count_of;
using provider::cut;
using provider::object_at;
using provider::scratch;
using provider::string_at;
using provider::string_in;

}  // namespace conclave::anthropic::detail
