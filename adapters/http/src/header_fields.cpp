#include <conclave/http/header_fields.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace conclave::http::detail {

// The arena sits at the front of its first block; later blocks are chained behind it, each
// twice the size of the one before (or the request's size, if larger).
struct header_arena {
  struct block {
    block* next;
  };
  std::atomic<std::size_t> refs{1};
  char* next = nullptr;
  char* end = nullptr;
  std::size_t last_size = 0;
  block* more = nullptr;
};

namespace {

char* align_up(char* p, std::size_t align) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  return p + ((align - at % align) % align);
}

}  // namespace

header_arena* make_header_arena(std::size_t first_block_bytes) {
  const std::size_t total = sizeof(header_arena) + first_block_bytes;
  void* storage = ::operator new(total);
  auto* a = ::new (storage) header_arena;
  a->next = static_cast<char*>(storage) + sizeof(header_arena);
  a->end = static_cast<char*>(storage) + total;
  a->last_size = first_block_bytes;
  return a;
}

void* header_arena_allocate(header_arena& a, std::size_t bytes, std::size_t align) {
  char* p = align_up(a.next, align);
  if (p > a.end || static_cast<std::size_t>(a.end - p) < bytes) {
    const std::size_t room = std::max(a.last_size * 2, bytes + align);
    void* storage = ::operator new(sizeof(header_arena::block) + room);
    auto* b = ::new (storage) header_arena::block{a.more};
    a.more = b;
    a.next = static_cast<char*>(storage) + sizeof(header_arena::block);
    a.end = a.next + room;
    a.last_size = room;
    p = align_up(a.next, align);
  }
  a.next = p + bytes;
  return p;
}

void retain(header_arena& a) noexcept { a.refs.fetch_add(1, std::memory_order_relaxed); }

void release(header_arena& a) noexcept {
  if (a.refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  for (header_arena::block* b = a.more; b != nullptr;) {
    header_arena::block* next = b->next;
    b->~block();
    ::operator delete(b);
    b = next;
  }
  a.~header_arena();
  ::operator delete(static_cast<void*>(&a));
}

}  // namespace conclave::http::detail
