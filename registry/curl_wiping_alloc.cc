#include "registry/curl_wiping_alloc.h"

#include <curl/curl.h>
#include <malloc.h>
#include <sodium.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace latchkey::registry {

namespace {

std::atomic<uint64_t> wiped_blocks{0};
std::atomic<void (*)(void*)> release_fn{&::free};

// Zeros the whole block (its usable size, slack included), then frees it.
void WipeAndFree(void* block) {
  sodium_memzero(block, ::malloc_usable_size(block));
  wiped_blocks.fetch_add(1, std::memory_order_relaxed);
  release_fn.load(std::memory_order_relaxed)(block);
}

}  // namespace

void* WipingMalloc(size_t size) { return ::malloc(size); }

void WipingFree(void* block) {
  if (block != nullptr) WipeAndFree(block);
}

void* WipingRealloc(void* block, size_t size) {
  if (block == nullptr) return ::malloc(size);
  const size_t old_size = ::malloc_usable_size(block);
  // A new block even when shrinking or when glibc could grow in place: the old bytes are wiped
  // here, never left in a freed tail. size 0 gets a minimal block (libcurl treats null as out of
  // memory, and the old block is freed either way).
  void* moved = ::malloc(size == 0 ? 1 : size);
  if (moved == nullptr) return nullptr;  // `block` stays valid, as realloc promises
  std::memcpy(moved, block, old_size < size ? old_size : size);
  WipeAndFree(block);
  return moved;
}

char* WipingStrdup(const char* text) {
  const size_t n = std::strlen(text) + 1;
  auto* copy = static_cast<char*>(::malloc(n));
  if (copy != nullptr) std::memcpy(copy, text, n);
  return copy;
}

void* WipingCalloc(size_t count, size_t size) { return ::calloc(count, size); }

uint64_t WipedBlockCount() { return wiped_blocks.load(std::memory_order_relaxed); }

void SetWipedBlockReleaseForTesting(void (*release)(void*)) {
  release_fn.store(release != nullptr ? release : &::free, std::memory_order_relaxed);
}

Status InitCurlWithWipingAllocator() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] {
    rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, WipingMalloc, WipingFree, WipingRealloc,
                              WipingStrdup, WipingCalloc);
  });
  if (rc != CURLE_OK) return InternalError(std::string("libcurl: ") + curl_easy_strerror(rc));
  return Status::OK();
}

}  // namespace latchkey::registry
