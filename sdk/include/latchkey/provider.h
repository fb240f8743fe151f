/*
 * latchkey provider plugin ABI, version 1.
 *
 * This header is the whole contract between the latchkey host (the broker, or the conformance
 * suite) and a secret provider plugin loaded with dlopen. It is C99: fixed-width integers,
 * size_t and pointers only; no bool, no enum-typed fields, no C++ types. docs/plugin-abi.md
 * explains every rule; the short form:
 *
 *  - A plugin exports exactly one symbol, lk_provider_entry, which returns a pointer to a
 *    static table (lk_provider_api). It has no side effects: no allocation, I/O or threads.
 *  - Every table starts with lk_table_header {struct_size, abi_major, abi_minor} and only ever
 *    grows at the end. Neither side reads past the other's struct_size (LK_HAS / LK_HAS_FN).
 *  - Same major required; each side uses min(host minor, plugin minor).
 *  - Secret bytes are written into memory the host allocates (host->secret_alloc) and owns.
 *  - Errors are an int32 code named after the gRPC status codes plus a message written into
 *    the caller's lk_error. Messages never contain secret bytes.
 */
#ifndef LATCHKEY_PROVIDER_H_
#define LATCHKEY_PROVIDER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LK_ABI_MAJOR 1
#define LK_ABI_MINOR 0

#define LK_EXPORT __attribute__((visibility("default")))

/* ---- Status codes (int32_t), numbered as gRPC's. Vendor codes start at 0x10000 and are
 * treated by the host as LK_INTERNAL. ---------------------------------------------------- */
#define LK_OK 0
#define LK_CANCELLED 1
#define LK_UNKNOWN 2
#define LK_INVALID_ARGUMENT 3
#define LK_DEADLINE_EXCEEDED 4
#define LK_NOT_FOUND 5
#define LK_ALREADY_EXISTS 6
#define LK_PERMISSION_DENIED 7
#define LK_RESOURCE_EXHAUSTED 8
#define LK_FAILED_PRECONDITION 9
#define LK_ABORTED 10
#define LK_OUT_OF_RANGE 11
#define LK_UNIMPLEMENTED 12
#define LK_INTERNAL 13
#define LK_UNAVAILABLE 14
#define LK_DATA_LOSS 15
#define LK_UNAUTHENTICATED 16

/* ---- Table header and presence tests ---------------------------------------------------- */

/* First member of every versioned struct. struct_size is sizeof the struct as the writer
 * compiled it; a reader only touches members that end at or before it. */
typedef struct lk_table_header {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
} lk_table_header;

/* True when `member` of *ptr (a struct of type `type`) lies within the writer's struct_size. */
#define LK_HAS(ptr, type, member) \
  ((size_t)(ptr)->header.struct_size >= offsetof(type, member) + sizeof(((type*)0)->member))
/* True when the function pointer `member` is present and non-NULL. */
#define LK_HAS_FN(ptr, type, member) (LK_HAS(ptr, type, member) && (ptr)->member != NULL)

/* ---- Errors ----------------------------------------------------------------------------- */

#define LK_ERROR_MESSAGE_MAX 512

/* Filled in by the callee on failure. The caller zeroes it and sets header.struct_size; the
 * callee writes `code` and a NUL-terminated message (truncated to fit). Never secret bytes. */
typedef struct lk_error {
  lk_table_header header;
  int32_t code;
  uint32_t flags; /* LK_ERROR_RETRYABLE */
  char message[LK_ERROR_MESSAGE_MAX];
} lk_error;

#define LK_ERROR_RETRYABLE 0x1u

/* ---- Host API (upcalls) ----------------------------------------------------------------- */

/* Opaque to the plugin. Two kinds exist: the instance context passed to create (valid until
 * destroy returns) and the per-call context in lk_request.ctx (valid during that call). */
typedef struct lk_host_ctx lk_host_ctx;

#define LK_LOG_DEBUG 0
#define LK_LOG_INFO 1
#define LK_LOG_WARN 2
#define LK_LOG_ERROR 3

typedef struct lk_host_api {
  lk_table_header header;
  /* Returns `len` zeroed, writable bytes of host-owned secure memory (sodium_malloc-backed,
   * locked, excluded from core dumps), or NULL when out of memory. Under a call context the
   * block returned in lk_secret.data passes to the host on LK_OK; every other block allocated
   * under that call is wiped and freed by the host when the call returns. Under the instance
   * context the plugin keeps the block (for keys) until secret_free or destroy. Thread-safe. */
  void* (*secret_alloc)(lk_host_ctx* ctx, size_t len);
  /* Wipes and frees a block from secret_alloc. NULL is a no-op. Thread-safe. */
  void (*secret_free)(lk_host_ctx* ctx, void* ptr);
  /* Writes one line to the host's operational log. Never pass secret values: the host redacts
   * what it knows, but a plugin must not rely on that. Thread-safe. */
  void (*log)(lk_host_ctx* ctx, int32_t level, const char* message);
  /* LK_OK while the call may go on; LK_DEADLINE_EXCEEDED once its deadline passed;
   * LK_CANCELLED once the host gave up on it. Long calls poll it. Thread-safe. */
  int32_t (*check_deadline)(lk_host_ctx* ctx);
} lk_host_api;

/* ---- Configuration ---------------------------------------------------------------------- */

#define LK_CONFIG_STRING 1
#define LK_CONFIG_INT 2      /* decimal int64 */
#define LK_CONFIG_BOOL 3     /* "true" or "false" */
#define LK_CONFIG_PATH 4     /* a filesystem path */
#define LK_CONFIG_DURATION 5 /* milliseconds, decimal */

#define LK_CONFIG_REQUIRED 0x1u
#define LK_CONFIG_SECRET 0x2u /* the host masks the value wherever it shows config */

/* One key a provider accepts. Static, owned by the plugin. */
typedef struct lk_config_key {
  const char* key;
  uint32_t type;  /* LK_CONFIG_* */
  uint32_t flags; /* LK_CONFIG_REQUIRED | LK_CONFIG_SECRET */
  const char* help;
  const char* default_value; /* NULL when none */
} lk_config_key;

/* One configured value; validated by the host against the descriptor table before create.
 * Owned by the host and valid during create only: the plugin copies what it keeps. */
typedef struct lk_kv {
  const char* key;
  const char* value; /* NUL-terminated */
  size_t value_len;
} lk_kv;

/* ---- Requests and responses ------------------------------------------------------------- */

/* One fetch. Owned by the host, valid during the call. Strings are NUL-terminated UTF-8,
 * never NULL (empty when unknown). */
typedef struct lk_request {
  lk_table_header header;
  uint32_t requester_uid;
  uint32_t step_index;      /* 0-based index of the step within its stage */
  uint32_t dockerfile_line; /* 1-based; 0 when not from a Dockerfile */
  uint32_t flags;           /* reserved, 0 */
  const char* ref;          /* the provider reference: a path, a variable, "name@3" ... */
  const char* secret_id;    /* the id the build asked for */
  const char* session_id;
  const char* build_id;
  const char* stage; /* the stage's name, or its index in decimal */
  int64_t deadline_unix_ms; /* 0 = none; also reported by host->check_deadline(ctx) */
  lk_host_ctx* ctx;         /* per-call context for secret_alloc and check_deadline */
} lk_request;

#define LK_SECRET_NO_CACHE 0x1u /* the host must not keep the value past this step */
#define LK_SECRET_VERSION_MAX 64

/* The response. The host zeroes it and sets header.struct_size. On LK_OK the plugin sets
 * data (from secret_alloc under req->ctx; NULL only when len is 0) and len, and may set
 * flags, expires_unix_ms (0 = none) and version (the served version, NUL-terminated). On
 * failure it leaves data NULL and len 0. */
typedef struct lk_secret {
  lk_table_header header;
  uint32_t flags;
  uint32_t reserved;
  uint8_t* data;
  size_t len;
  int64_t expires_unix_ms;
  char version[LK_SECRET_VERSION_MAX];
} lk_secret;

/* ---- Provider API ----------------------------------------------------------------------- */

typedef struct lk_instance lk_instance; /* opaque to the host, owned by the plugin */

#define LK_CAP_LIST 0x1u     /* list is implemented */
#define LK_CAP_HEALTH 0x2u   /* health is implemented */
#define LK_CAP_VERSIONS 0x4u /* references may name a version ("name@3") */
#define LK_CAP_DYNAMIC 0x8u  /* a reference's value may change between fetches */

#define LK_THREADING_CONCURRENT 0 /* fetch/list/health may run at once on one instance */
#define LK_THREADING_SERIALIZED 1 /* the host holds a mutex per instance around every call */

/* Called once per reference by list; the host copies `ref` before returning. */
typedef void (*lk_list_emit_fn)(void* arg, const char* ref);

typedef struct lk_provider_api {
  lk_table_header header; /* the plugin's own struct_size and ABI version */
  const char* name;       /* short, [a-z0-9-], e.g. "file" */
  const char* version;    /* the plugin's version, e.g. "1.2.0" */
  uint64_t capabilities;  /* LK_CAP_* */
  uint32_t threading;     /* LK_THREADING_* */
  uint32_t reserved;
  const lk_config_key* config_keys; /* static; may be NULL when config_key_count is 0 */
  size_t config_key_count;

  /* Creates an instance from validated config. `host` and `ctx` stay valid until destroy
   * returns. On failure returns a code, fills err, and leaves *out NULL. Instances of one
   * plugin may be created and destroyed concurrently. Required. */
  int32_t (*create)(const lk_host_api* host, lk_host_ctx* ctx, const lk_kv* config,
                    size_t config_count, lk_instance** out, lk_error* err);
  /* Releases everything the instance holds, joins its threads. Called with no call in flight.
   * Required. */
  void (*destroy)(lk_instance* instance);
  /* Fetches one secret (see lk_secret). LK_NOT_FOUND when the reference names nothing.
   * Required. */
  int32_t (*fetch)(lk_instance* instance, const lk_request* req, lk_secret* out, lk_error* err);
  /* Emits every reference the instance can serve. Optional: NULL means LK_UNIMPLEMENTED. */
  int32_t (*list)(lk_instance* instance, lk_list_emit_fn emit, void* arg, lk_error* err);
  /* LK_OK when the backend is usable. Optional: NULL means LK_UNIMPLEMENTED. */
  int32_t (*health)(lk_instance* instance, lk_error* err);
} lk_provider_api;

/* The one exported symbol. `host_major`/`host_minor` are the host's ABI version. Writes the
 * plugin's static table to *out (always, so the host can read its version) and returns LK_OK,
 * or LK_FAILED_PRECONDITION when it cannot serve `host_major`. Side-effect free, thread-safe,
 * idempotent. */
typedef int32_t (*lk_provider_entry_fn)(uint16_t host_major, uint16_t host_minor,
                                        const lk_provider_api** out);
#define LK_PROVIDER_ENTRY_SYMBOL "lk_provider_entry"
LK_EXPORT int32_t lk_provider_entry(uint16_t host_major, uint16_t host_minor,
                                    const lk_provider_api** out);

/* Writes code and a formatted message into err (if err and its struct_size allow). Returns
 * code, so `return lk_error_set(err, LK_NOT_FOUND, "...")` reads naturally. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
static inline int32_t lk_error_set(lk_error* err, int32_t code, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int32_t lk_error_set(lk_error* err, int32_t code, const char* fmt, ...) {
  if (err == NULL || err->header.struct_size < offsetof(lk_error, message) + 1) return code;
  err->code = code;
  size_t cap = err->header.struct_size - offsetof(lk_error, message);
  if (cap > LK_ERROR_MESSAGE_MAX) cap = LK_ERROR_MESSAGE_MAX;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, cap, fmt, ap);
  va_end(ap);
  err->message[cap - 1] = '\0';
  return code;
}

#ifdef __cplusplus
}
#endif

#endif /* LATCHKEY_PROVIDER_H_ */
