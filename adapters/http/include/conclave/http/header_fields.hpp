// The header fields of the client's requests and replies: Beast's fields over an allocator
// that can take them from one block of the message's own. Beast's fields allocate every field
// on its own, and a provider's reply carries 15 to 25 of them (rate limits, ids, tracing): as
// many heap allocations per call, where a block takes one (two or three for a long head).
#pragma once

#include <boost/beast/http/fields.hpp>

#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>

namespace conclave::http {

namespace detail {

/// A block of storage handed out in order and freed as a whole (more blocks are chained when
/// it fills). Shared by the copies of one allocator, counted.
struct header_arena;
header_arena* make_header_arena(std::size_t first_block_bytes);
void* header_arena_allocate(header_arena& a, std::size_t bytes, std::size_t align);
void retain(header_arena& a) noexcept;
void release(header_arena& a) noexcept;

}  // namespace detail

/// An allocator for one message's fields. One made by with_block() takes everything from its
/// arena and frees nothing until the last copy of it goes (fields keep what they hold until
/// they go, so nothing is lost). A default-made one has no arena: each allocation is its own
/// new and delete, as std::allocator's (fields made by hand, copies of fields).
///
/// Copies share the arena; copying fields gives the copy an allocator of its own (no arena),
/// and so does assigning them (moved or copied, they take the other's fields into their own
/// storage): one arena is only ever used through one fields object, on whatever thread owns
/// it. Move-making fields, or swapping them, takes the arena with them.
template <typename T>
class header_allocator {
 public:
  using value_type = T;
  // Not on move assignment: Beast's move assignment of fields copies the allocator, and the
  // moved-from fields would share the block (and allocate from it on another thread). With
  // this false, `a = std::move(b)` copies when their blocks differ; swap() moves a block.
  using propagate_on_container_move_assignment = std::false_type;
  using propagate_on_container_swap = std::true_type;
  using propagate_on_container_copy_assignment = std::false_type;
  using is_always_equal = std::false_type;

  header_allocator() noexcept = default;
  /// With an arena whose first block holds `first_block_bytes`.
  static header_allocator with_block(std::size_t first_block_bytes) {
    header_allocator a;
    a.arena_ = detail::make_header_arena(first_block_bytes);
    return a;
  }

  template <typename U>
  header_allocator(const header_allocator<U>& other) noexcept : arena_(other.arena_) {
    if (arena_) detail::retain(*arena_);
  }
  header_allocator(const header_allocator& other) noexcept : arena_(other.arena_) {
    if (arena_) detail::retain(*arena_);
  }
  header_allocator(header_allocator&& other) noexcept : arena_(other.arena_) {
    other.arena_ = nullptr;
  }
  header_allocator& operator=(header_allocator other) noexcept {
    std::swap(arena_, other.arena_);
    return *this;
  }
  ~header_allocator() {
    if (arena_) detail::release(*arena_);
  }

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    if (!arena_) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(detail::header_arena_allocate(*arena_, n * sizeof(T), alignof(T)));
  }
  // Unsized: clang before 16 has no sized delete unless -fsized-deallocation.
  void deallocate(T* p, std::size_t) noexcept {
    if (!arena_) ::operator delete(p);
  }

  header_allocator select_on_container_copy_construction() const noexcept { return {}; }

  template <typename U>
  friend bool operator==(const header_allocator& a, const header_allocator<U>& b) noexcept {
    return a.arena_ == b.arena_;
  }

 private:
  template <typename>
  friend class header_allocator;
  detail::header_arena* arena_ = nullptr;
};

/// A message's header fields (response::headers, request_message's). Used as Beast's
/// `fields`; made by hand, with no block, they allocate as those do.
using header_fields = boost::beast::http::basic_fields<header_allocator<char>>;

}  // namespace conclave::http
