/* Deliberately broken provider plugins for the loader tests (broker/plugin_loader_test.cc).
 * One source, one .so per BROKEN_* define; each breaks exactly one rule of provider.h. Written
 * in C to prove the ABI header is C99. */
#include "latchkey/provider.h"

__attribute__((unused)) static int32_t Create(const lk_host_api* host, lk_host_ctx* ctx,
                                              const lk_kv* config, size_t config_count,
                                              lk_instance** out, lk_error* err) {
  (void)host;
  (void)ctx;
  (void)config;
  (void)config_count;
  (void)out;
  return lk_error_set(err, LK_UNIMPLEMENTED, "broken fixture");
}
__attribute__((unused)) static void Destroy(lk_instance* instance) { (void)instance; }
__attribute__((unused)) static int32_t Fetch(lk_instance* instance, const lk_request* req,
                                             lk_secret* out, lk_error* err) {
  (void)instance;
  (void)req;
  (void)out;
  return lk_error_set(err, LK_UNIMPLEMENTED, "broken fixture");
}

#if defined(BROKEN_NO_ENTRY)
/* Exports something, but not the entry point. */
LK_EXPORT int32_t some_other_symbol(void) { return 0; }

#elif defined(BROKEN_V2_ONLY)
/* Built only for a future ABI 2: exports lk_provider_entry_v2 and nothing else. */
LK_EXPORT int32_t lk_provider_entry_v2(uint16_t host_major, uint16_t host_minor, const void** out) {
  (void)host_major;
  (void)host_minor;
  *out = 0;
  return LK_FAILED_PRECONDITION;
}

#else
static const lk_provider_api kApi = {
#if defined(BROKEN_MAJOR2)
    {sizeof(lk_provider_api), 2, 0},
#elif defined(BROKEN_SMALL_TABLE)
    {16, LK_ABI_MAJOR, 0},
#else
    {sizeof(lk_provider_api), LK_ABI_MAJOR, LK_ABI_MINOR},
#endif
#if defined(BROKEN_BAD_NAME)
    "Bad_Name",
#else
    "broken",
#endif
    "0.0.1",
    0,
    LK_THREADING_CONCURRENT,
    0,
    0,
    0,
    &Create,
    &Destroy,
#if defined(BROKEN_NO_FETCH)
    0,
#else
    &Fetch,
#endif
    0,
    0,
};

LK_EXPORT int32_t lk_provider_entry(uint16_t host_major, uint16_t host_minor,
                                    const lk_provider_api** out) {
  (void)host_minor;
  *out = &kApi;
#if defined(BROKEN_MAJOR2)
  (void)host_major;
  return LK_FAILED_PRECONDITION;
#else
  return host_major == LK_ABI_MAJOR ? LK_OK : LK_FAILED_PRECONDITION;
#endif
}
#endif
