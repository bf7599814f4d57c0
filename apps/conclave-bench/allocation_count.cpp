// malloc and its kin, defined here to count calls and served by the next definition in the
// search order (glibc's, or a profiler's preloaded one: heaptrack still sees everything), so
// every pointer stays that allocator's: free, malloc_usable_size and a library's own valloc
// keep working on it. operator new goes through malloc, so it counts too.
#include "allocation_count.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CONCLAVE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define CONCLAVE_SANITIZED 1
#endif
#endif

#ifndef CONCLAVE_SANITIZED

#include <dlfcn.h>

namespace {

std::atomic<std::uint64_t> allocations{0};
void count() noexcept { allocations.fetch_add(1, std::memory_order_relaxed); }

// The next definitions in the search order: a profiler's preloaded ones (heaptrack's) when
// there is one, else glibc's. Looked up on the first call.
using malloc_fn = void* (*)(std::size_t);
using calloc_fn = void* (*)(std::size_t, std::size_t);
using realloc_fn = void* (*)(void*, std::size_t);
using free_fn = void (*)(void*);
using memalign_fn = void* (*)(std::size_t, std::size_t);
using posix_memalign_fn = int (*)(void**, std::size_t, std::size_t);
struct next_allocator {
  malloc_fn malloc = nullptr;
  calloc_fn calloc = nullptr;
  realloc_fn realloc = nullptr;
  free_fn free = nullptr;
  memalign_fn aligned_alloc = nullptr;
  memalign_fn memalign = nullptr;
  posix_memalign_fn posix_memalign = nullptr;
};
next_allocator next;
std::atomic<bool> resolving{false};

// dlsym may calloc before the lookup is done: those few bytes come from here, never freed.
alignas(std::max_align_t) unsigned char bootstrap[4096];
std::atomic<std::size_t> bootstrap_used{0};
bool from_bootstrap(const void* p) {
  return p >= static_cast<const void*>(bootstrap) &&
         p < static_cast<const void*>(bootstrap + sizeof bootstrap);
}
void* bootstrap_alloc(std::size_t n) {
  if (n > sizeof bootstrap) return nullptr;
  const std::size_t size =
      (n + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) * alignof(std::max_align_t);
  const std::size_t at = bootstrap_used.fetch_add(size);
  return at + size <= sizeof bootstrap ? bootstrap + at : nullptr;  // zeroed: static storage
}

template <typename F>
F lookup(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool ready() {
  if (next.free != nullptr) return true;
  if (resolving.exchange(true)) return false;  // dlsym is allocating: serve from bootstrap
  next.malloc = lookup<malloc_fn>("malloc");
  next.calloc = lookup<calloc_fn>("calloc");
  next.realloc = lookup<realloc_fn>("realloc");
  next.aligned_alloc = lookup<memalign_fn>("aligned_alloc");
  next.memalign = lookup<memalign_fn>("memalign");
  next.posix_memalign = lookup<posix_memalign_fn>("posix_memalign");
  next.free = lookup<free_fn>("free");
  return true;
}

}  // namespace

extern "C" {

void* malloc(std::size_t n) {
  if (!ready()) return bootstrap_alloc(n);
  count();
  return next.malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  if (!ready()) return size != 0 && n > SIZE_MAX / size ? nullptr : bootstrap_alloc(n * size);
  count();
  return next.calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  if (!ready()) return nullptr;  // not asked for during the lookup
  count();
  if (!from_bootstrap(p)) return next.realloc(p, n);
  // Bootstrap bytes are not the allocator's: moved out by hand (its size is not known,
  // so as much as it can have held).
  void* moved = next.malloc(n);
  if (moved != nullptr) {
    const auto left =
        static_cast<std::size_t>(bootstrap + sizeof bootstrap - static_cast<unsigned char*>(p));
    std::memcpy(moved, p, n < left ? n : left);
  }
  return moved;
}
void free(void* p) {
  if (p == nullptr || from_bootstrap(p) || !ready()) return;
  next.free(p);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  if (!ready()) return nullptr;
  count();
  return next.aligned_alloc(align, n);
}
void* memalign(std::size_t align, std::size_t n) {
  if (!ready()) return nullptr;
  count();
  return next.memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  if (!ready()) return ENOMEM;
  count();
  return next.posix_memalign(out, align, n);
}

}  // extern "C"

namespace conclave::bench {
std::optional<std::uint64_t> allocations_so_far() noexcept {
  return allocations.load(std::memory_order_relaxed);
}
}  // namespace conclave::bench

#else

namespace conclave::bench {
std::optional<std::uint64_t> allocations_so_far() noexcept { return std::nullopt; }
}  // namespace conclave::bench

#endif
