// The memory functions libcurl is initialised with (curl_global_init_mem): the C library's
// allocator, except that every block is overwritten with zeros before it is freed. libcurl copies
// request header lines -- the Authorization header with a registry's bearer token or basic
// credential among them -- into its own heap buffers (the request buffer, dynbufs, header
// lists) and frees them; without this a credential could linger in freed heap until the memory
// is reused. latchkey's own copies live in SecretBuffers (docs/registry.md, "Where credentials
// live").
//
// A block's size is malloc_usable_size (glibc), so the whole block, slack included, is wiped.
// realloc is malloc + copy + wipe + free, so a block that grows never leaves its old bytes
// behind. The cost is one pass over each freed block (bench/README.md, "libcurl's wiping
// allocator").
//
// Thread-safety: the functions are as thread-safe as malloc/free; InitCurlWithWipingAllocator
// runs its initialisation once per process (std::call_once) and may be called from any thread.
#ifndef LATCHKEY_REGISTRY_CURL_WIPING_ALLOC_H_
#define LATCHKEY_REGISTRY_CURL_WIPING_ALLOC_H_

#include <cstddef>
#include <cstdint>

#include "latchkey/status.h"

namespace latchkey::registry {

// curl_global_init_mem(CURL_GLOBAL_DEFAULT, the functions below), once per process; later calls
// return the first call's result. It must run before any other libcurl call of the process
// (libcurl's own rule): CurlTransport::Create calls it first, and nothing else in latchkey
// calls libcurl. INTERNAL "libcurl: <curl_easy_strerror>" when libcurl cannot initialise.
Status InitCurlWithWipingAllocator();

// The callbacks (curl_malloc_callback and friends), exposed for their tests.
void* WipingMalloc(size_t size);
void WipingFree(void* block);  // null: nothing
void* WipingRealloc(void* block, size_t size);
char* WipingStrdup(const char* text);
void* WipingCalloc(size_t count, size_t size);

// Blocks WipingFree (and WipingRealloc) have wiped and freed since the process started; a test
// sees libcurl's frees go through the wiping allocator by this count growing across a transfer.
uint64_t WipedBlockCount();

// Tests only: the function a wiped block is handed to (default ::free), so a test can look at the
// block before it really is freed. Not thread-safe against concurrent frees; null restores
// ::free.
void SetWipedBlockReleaseForTesting(void (*release)(void*));

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_CURL_WIPING_ALLOC_H_
