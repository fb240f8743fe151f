/* Pins the x86_64 layout of every struct in latchkey/provider.h. A plugin built against one
 * 1.x header must load in every 1.y host, so members may only ever be appended: if one of these
 * assertions fires, the change broke ABI v1 (see docs/plugin-abi.md, "Evolution").
 * Compiled as C99 (plus _Static_assert, which GCC accepts in C99 mode) and, by
 * abi_header_cxx_test.cc, the header is also compiled as C++. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "latchkey/provider.h"

#if !defined(__x86_64__)
#error "abi_layout_test pins the x86_64 layout; add the numbers for this architecture"
#endif

#define LK_SIZE(type, n) _Static_assert(sizeof(type) == (n), "sizeof(" #type ") changed")
#define LK_OFF(type, member, n) \
  _Static_assert(offsetof(type, member) == (n), "offsetof(" #type ", " #member ") changed")

_Static_assert(LK_ABI_MAJOR == 1, "this test pins ABI major 1");

LK_SIZE(lk_table_header, 8);
LK_OFF(lk_table_header, struct_size, 0);
LK_OFF(lk_table_header, abi_major, 4);
LK_OFF(lk_table_header, abi_minor, 6);

LK_SIZE(lk_error, 528);
LK_OFF(lk_error, header, 0);
LK_OFF(lk_error, code, 8);
LK_OFF(lk_error, flags, 12);
LK_OFF(lk_error, message, 16);
_Static_assert(LK_ERROR_MESSAGE_MAX == 512, "LK_ERROR_MESSAGE_MAX changed");

LK_SIZE(lk_host_api, 40);
LK_OFF(lk_host_api, header, 0);
LK_OFF(lk_host_api, secret_alloc, 8);
LK_OFF(lk_host_api, secret_free, 16);
LK_OFF(lk_host_api, log, 24);
LK_OFF(lk_host_api, check_deadline, 32);

LK_SIZE(lk_config_key, 32);
LK_OFF(lk_config_key, key, 0);
LK_OFF(lk_config_key, type, 8);
LK_OFF(lk_config_key, flags, 12);
LK_OFF(lk_config_key, help, 16);
LK_OFF(lk_config_key, default_value, 24);

LK_SIZE(lk_kv, 24);
LK_OFF(lk_kv, key, 0);
LK_OFF(lk_kv, value, 8);
LK_OFF(lk_kv, value_len, 16);

LK_SIZE(lk_request, 80);
LK_OFF(lk_request, header, 0);
LK_OFF(lk_request, requester_uid, 8);
LK_OFF(lk_request, step_index, 12);
LK_OFF(lk_request, dockerfile_line, 16);
LK_OFF(lk_request, flags, 20);
LK_OFF(lk_request, ref, 24);
LK_OFF(lk_request, secret_id, 32);
LK_OFF(lk_request, session_id, 40);
LK_OFF(lk_request, build_id, 48);
LK_OFF(lk_request, stage, 56);
LK_OFF(lk_request, deadline_unix_ms, 64);
LK_OFF(lk_request, ctx, 72);

LK_SIZE(lk_secret, 104);
LK_OFF(lk_secret, header, 0);
LK_OFF(lk_secret, flags, 8);
LK_OFF(lk_secret, reserved, 12);
LK_OFF(lk_secret, data, 16);
LK_OFF(lk_secret, len, 24);
LK_OFF(lk_secret, expires_unix_ms, 32);
LK_OFF(lk_secret, version, 40);
_Static_assert(LK_SECRET_VERSION_MAX == 64, "LK_SECRET_VERSION_MAX changed");

LK_SIZE(lk_provider_api, 96);
LK_OFF(lk_provider_api, header, 0);
LK_OFF(lk_provider_api, name, 8);
LK_OFF(lk_provider_api, version, 16);
LK_OFF(lk_provider_api, capabilities, 24);
LK_OFF(lk_provider_api, threading, 32);
LK_OFF(lk_provider_api, reserved, 36);
LK_OFF(lk_provider_api, config_keys, 40);
LK_OFF(lk_provider_api, config_key_count, 48);
LK_OFF(lk_provider_api, create, 56);
LK_OFF(lk_provider_api, destroy, 64);
LK_OFF(lk_provider_api, fetch, 72);
LK_OFF(lk_provider_api, list, 80);
LK_OFF(lk_provider_api, health, 88);

/* Status codes and flag bits are part of the ABI too. */
_Static_assert(LK_OK == 0 && LK_CANCELLED == 1 && LK_UNKNOWN == 2 && LK_INVALID_ARGUMENT == 3 &&
                   LK_DEADLINE_EXCEEDED == 4 && LK_NOT_FOUND == 5 && LK_ALREADY_EXISTS == 6 &&
                   LK_PERMISSION_DENIED == 7 && LK_RESOURCE_EXHAUSTED == 8 &&
                   LK_FAILED_PRECONDITION == 9 && LK_ABORTED == 10 && LK_OUT_OF_RANGE == 11 &&
                   LK_UNIMPLEMENTED == 12 && LK_INTERNAL == 13 && LK_UNAVAILABLE == 14 &&
                   LK_DATA_LOSS == 15 && LK_UNAUTHENTICATED == 16,
               "status codes changed");
_Static_assert(LK_ERROR_RETRYABLE == 0x1u && LK_SECRET_NO_CACHE == 0x1u && LK_CAP_LIST == 0x1u &&
                   LK_CAP_HEALTH == 0x2u && LK_CAP_VERSIONS == 0x4u && LK_CAP_DYNAMIC == 0x8u &&
                   LK_THREADING_CONCURRENT == 0 && LK_THREADING_SERIALIZED == 1 &&
                   LK_CONFIG_REQUIRED == 0x1u && LK_CONFIG_SECRET == 0x2u &&
                   LK_CONFIG_STRING == 1 && LK_CONFIG_INT == 2 && LK_CONFIG_BOOL == 3 &&
                   LK_CONFIG_PATH == 4 && LK_CONFIG_DURATION == 5 && LK_LOG_DEBUG == 0 &&
                   LK_LOG_INFO == 1 && LK_LOG_WARN == 2 && LK_LOG_ERROR == 3,
               "flag or constant values changed");

static int failures = 0;
#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static void* dummy_alloc(lk_host_ctx* ctx, size_t len) {
  (void)ctx;
  (void)len;
  return NULL;
}

int main(void) {
  /* A 1.0 host table cut short before check_deadline (as an older, smaller writer would send):
   * LK_HAS must see the members inside struct_size and refuse the ones past it. */
  lk_host_api host;
  memset(&host, 0, sizeof host);
  host.header.struct_size = (uint32_t)offsetof(lk_host_api, check_deadline);
  host.secret_alloc = dummy_alloc;
  EXPECT(LK_HAS(&host, lk_host_api, secret_alloc));
  EXPECT(LK_HAS(&host, lk_host_api, log));
  EXPECT(!LK_HAS(&host, lk_host_api, check_deadline));
  EXPECT(LK_HAS_FN(&host, lk_host_api, secret_alloc));
  EXPECT(!LK_HAS_FN(&host, lk_host_api, secret_free)); /* inside, but NULL */
  host.header.struct_size = (uint32_t)sizeof host;
  EXPECT(LK_HAS(&host, lk_host_api, check_deadline));
  /* One byte short of a member is "absent". */
  host.header.struct_size = (uint32_t)(offsetof(lk_host_api, check_deadline) + 7);
  EXPECT(!LK_HAS(&host, lk_host_api, check_deadline));

  lk_provider_api api;
  memset(&api, 0, sizeof api);
  api.header.struct_size = (uint32_t)offsetof(lk_provider_api, list);
  EXPECT(LK_HAS(&api, lk_provider_api, fetch));
  EXPECT(!LK_HAS(&api, lk_provider_api, list));
  EXPECT(!LK_HAS(&api, lk_provider_api, health));

  /* lk_error_set truncates to the writer's struct_size and always NUL-terminates. */
  lk_error err;
  memset(&err, 'x', sizeof err);
  err.header.struct_size = (uint32_t)(offsetof(lk_error, message) + 8);
  EXPECT(lk_error_set(&err, LK_NOT_FOUND, "secret %s: not found", "npmrc") == LK_NOT_FOUND);
  EXPECT(err.code == LK_NOT_FOUND);
  EXPECT(strcmp(err.message, "secret ") == 0);
  EXPECT(err.message[8] == 'x'); /* nothing written past struct_size */
  err.header.struct_size = (uint32_t)sizeof err;
  lk_error_set(&err, LK_INTERNAL, "%s", "ok");
  EXPECT(strcmp(err.message, "ok") == 0);
  /* Too small to hold even one message byte: the code is returned, nothing written. */
  memset(&err, 0, sizeof err);
  err.header.struct_size = (uint32_t)offsetof(lk_error, message);
  EXPECT(lk_error_set(&err, LK_INTERNAL, "x") == LK_INTERNAL);
  EXPECT(err.code == 0);
  EXPECT(lk_error_set(NULL, LK_UNAVAILABLE, "x") == LK_UNAVAILABLE);

  if (failures != 0) return 1;
  printf("abi layout ok\n");
  return 0;
}
