// Scratch memory for building or parsing one wire message (private to the OpenAI codec).
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>

#include <cstddef>

namespace conclave::openai {

// Memory for one parse or build: replies and requests are small, so a stack buffer usually
// holds all of it and Boost.JSON touches the heap only past it (measured: ~30 heap
// allocations per completion before).
struct scratch {
  alignas(std::max_align_t) unsigned char buffer[4096];
  boost::json::monotonic_resource resource{buffer, sizeof buffer};
  boost::json::storage_ptr storage() { return boost::json::storage_ptr(&resource); }
};

}  // namespace conclave::openai
