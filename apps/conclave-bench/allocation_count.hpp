// How many heap allocations this process has made: the bench defines malloc and its kin
// (allocation_count.cpp), counting each call before glibc's own serves it, so a worker can
// report its allocations per call. Everything counts: operator new, Asio's aligned operation
// memory, OpenSSL's. Not under a sanitizer, which owns malloc itself.
#pragma once

#include <cstdint>
#include <optional>

namespace conclave::bench {

/// malloc, calloc, realloc and aligned allocations since the process started; nullopt when
/// this build cannot count them (a sanitizer's).
std::optional<std::uint64_t> allocations_so_far() noexcept;

}  // namespace conclave::bench
