/* A small, correct provider written directly against the C ABI, plus one deliberate defect per
 * BROKEN_* macro. CMakeLists.txt builds it once per defect (and once with none, as the
 * reference that must pass); broken_plugins_test.sh asserts that latchkey-plugin-check fails
 * each defective build with the right check and reason.
 *
 * Serves "alpha" -> <prefix>-alpha and "beta" -> <prefix>-beta-two, where `prefix` is a
 * required SECRET config key; `max-len` is an optional INT key. Other references: NOT_FOUND. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "latchkey/provider.h"

#ifdef BROKEN_BAD_NAME
#define NAME "Broken_Name"
#else
#define NAME "broken"
#endif
#ifndef BROKEN_ABI_MAJOR
#define BROKEN_ABI_MAJOR LK_ABI_MAJOR
#endif

struct backend {
  int32_t status;
};

struct lk_instance {
  const lk_host_api* host;
  lk_host_ctx* ctx;
  uint8_t* prefix; /* host secure memory under the instance context */
  size_t prefix_len;
  int fd;
  struct backend* backend; /* never set: health must not touch it */
};

static const lk_config_key kKeys[] = {
    {"prefix", LK_CONFIG_STRING, LK_CONFIG_REQUIRED | LK_CONFIG_SECRET,
     "the bytes every served value starts with", NULL},
    {"max-len", LK_CONFIG_INT, 0, "the longest value served", "4096"},
};

__attribute__((unused)) static int AllDigits(const char* s) {
  if (*s == '\0') return 0;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return 0;
  }
  return 1;
}

#ifdef BROKEN_LEAKS_THREAD
static void* Sleeper(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}
#endif

#ifdef BROKEN_CHANGES_SIGNAL
static void OnUsr2(int sig) { (void)sig; }
#endif

static int32_t Create(const lk_host_api* host, lk_host_ctx* ctx, const lk_kv* config,
                      size_t config_count, lk_instance** out, lk_error* err) {
  *out = NULL;
  const char* prefix = NULL;
  size_t prefix_len = 0;
  for (size_t i = 0; i < config_count; ++i) {
    if (strcmp(config[i].key, "prefix") == 0) {
      prefix = config[i].value;
      prefix_len = config[i].value_len;
    } else if (strcmp(config[i].key, "max-len") == 0) {
#ifndef BROKEN_ACCEPTS_BAD_INT
      if (!AllDigits(config[i].value)) {
        return lk_error_set(err, LK_INVALID_ARGUMENT,
                            "provider %s: config key \"max-len\" must be a decimal integer", NAME);
      }
#endif
    } else {
#ifndef BROKEN_ACCEPTS_UNKNOWN_KEY
      return lk_error_set(err, LK_INVALID_ARGUMENT, "provider %s: unknown config key \"%s\"", NAME,
                          config[i].key);
#endif
    }
  }
  if (prefix == NULL) {
#ifdef BROKEN_ACCEPTS_MISSING_KEY
    prefix = "default";
    prefix_len = 7;
#else
    return lk_error_set(err, LK_INVALID_ARGUMENT,
                        "provider %s: missing required config key \"prefix\"", NAME);
#endif
  }
  lk_instance* inst = calloc(1, sizeof *inst);
  if (inst == NULL) return lk_error_set(err, LK_RESOURCE_EXHAUSTED, "provider %s: no memory", NAME);
  inst->host = host;
  inst->ctx = ctx;
  inst->fd = -1;
  inst->prefix = host->secret_alloc(ctx, prefix_len);
  if (inst->prefix == NULL) {
    free(inst);
    return lk_error_set(err, LK_RESOURCE_EXHAUSTED, "provider %s: no secure memory", NAME);
  }
  memcpy(inst->prefix, prefix, prefix_len);
  inst->prefix_len = prefix_len;
#ifdef BROKEN_LEAKS_FD
  inst->fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* and destroy never closes it */
#endif
#ifdef BROKEN_LEAKS_THREAD
  pthread_t t;
  if (pthread_create(&t, NULL, Sleeper, NULL) == 0) pthread_detach(t); /* never joined */
#endif
#ifdef BROKEN_CHANGES_UMASK
  mode_t old = umask(0);
  umask(old == 027 ? 077 : 027);
#endif
#ifdef BROKEN_CHANGES_SIGNAL
  signal(SIGUSR2, OnUsr2);
#endif
#ifdef BROKEN_SETS_ENV
  setenv("BROKEN_PLUGIN_STATE", "created", 1);
#endif
  *out = inst;
  return LK_OK;
}

static void Destroy(lk_instance* inst) {
  inst->host->secret_free(inst->ctx, inst->prefix);
  free(inst);
}

static int32_t Fetch(lk_instance* inst, const lk_request* req, lk_secret* out, lk_error* err) {
  const lk_host_api* host = inst->host;
#ifdef BROKEN_READS_PAST_HOST
  int32_t live = host->check_deadline(req->ctx); /* never looks at host->header.struct_size */
#else
  int32_t live =
      LK_HAS_FN(host, lk_host_api, check_deadline) ? host->check_deadline(req->ctx) : LK_OK;
#endif
#ifdef BROKEN_SLEEPS
  /* A slow backend (3 s a call) that never polls the deadline: it overruns every deadline
   * closer than that, such as the suite's deadline check, whose deadline passed 1 s ago. Calls
   * with a far deadline would finish in time anyway; they are spared the wait so that the suite
   * on this plugin takes seconds, not a minute. */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  if (req->deadline_unix_ms != 0 && req->deadline_unix_ms - now_ms < 3000) sleep(3);
  live = LK_OK;
#endif
  if (live != LK_OK) {
    return lk_error_set(err, live, "provider %s: %s", NAME,
                        live == LK_CANCELLED ? "cancelled" : "deadline exceeded");
  }
  const char* suffix = NULL;
  if (strcmp(req->ref, "alpha") == 0) suffix = "-alpha";
  if (strcmp(req->ref, "beta") == 0) suffix = "-beta-two";
  if (suffix == NULL) {
#ifdef BROKEN_CANARY_IN_ERROR
    return lk_error_set(err, LK_NOT_FOUND,
                        "provider %s: no reference \"%s\" (values look like %.*s-alpha)", NAME,
                        req->ref, (int)inst->prefix_len, (const char*)inst->prefix);
#endif
#ifdef BROKEN_DATA_ON_ERROR
    out->data = host->secret_alloc(req->ctx, 8);
    out->len = 8;
#endif
#ifdef BROKEN_OVERFLOWS_ERROR
    /* Writes a full-size message whatever the caller's struct_size says. */
    err->code = LK_NOT_FOUND;
    snprintf(err->message, LK_ERROR_MESSAGE_MAX,
             "provider %s: no reference \"%s\"; this provider serves alpha and beta", NAME,
             req->ref);
    return LK_NOT_FOUND;
#endif
    return lk_error_set(err, LK_NOT_FOUND, "provider %s: no reference \"%s\"", NAME, req->ref);
  }
  size_t suffix_len = strlen(suffix);
  size_t len = inst->prefix_len + suffix_len;
#ifdef BROKEN_WRITES_STDERR
  fprintf(stderr, "broken: serving %s\n", req->ref);
#endif
#ifdef BROKEN_LOGS_SECRET_HEX
  char hex[2 * 256 + 1];
  size_t n = inst->prefix_len < 256 ? inst->prefix_len : 256;
  for (size_t i = 0; i < n; ++i) snprintf(hex + 2 * i, 3, "%02x", inst->prefix[i]);
  hex[2 * n] = '\0';
  if (LK_HAS_FN(host, lk_host_api, log)) host->log(req->ctx, LK_LOG_DEBUG, hex);
#endif
#ifdef BROKEN_LEAKS_SECRET
  (void)host->secret_alloc(inst->ctx, 32); /* under the instance context, never freed */
#endif
#ifdef BROKEN_MALLOC_DATA
  uint8_t* data = malloc(len);
#else
  uint8_t* data = host->secret_alloc(req->ctx, len);
#endif
  if (data == NULL) return lk_error_set(err, LK_RESOURCE_EXHAUSTED, "provider %s: no memory", NAME);
#ifdef BROKEN_RACY
  /* Claims LK_THREADING_CONCURRENT but stages every value in one static buffer. */
  static uint8_t shared[512];
  memset(shared, 0, sizeof shared);
  memcpy(shared, inst->prefix, inst->prefix_len);
  sched_yield();
  memcpy(shared + inst->prefix_len, suffix, suffix_len);
  usleep(50);
  memcpy(data, shared, len);
#else
  memcpy(data, inst->prefix, inst->prefix_len);
  memcpy(data + inst->prefix_len, suffix, suffix_len);
#endif
  out->data = data;
  out->len = len;
  return LK_OK;
}

static void EmitAll(lk_list_emit_fn emit, void* arg) {
  emit(arg, "alpha");
  emit(arg, "beta");
}

static int32_t List(lk_instance* inst, lk_list_emit_fn emit, void* arg, lk_error* err) {
  (void)inst;
  (void)err;
  EmitAll(emit, arg);
  return LK_OK;
}

static int32_t Health(lk_instance* inst, lk_error* err) {
#ifdef BROKEN_CRASHES_HEALTH
  struct backend* b = inst->backend; /* NULL: the backend is never connected */
#if defined(__SANITIZE_ADDRESS__)
  /* UndefinedBehaviorSanitizer would stop at the NULL read with exit status 1: crash as the
     plain build does. */
  if (b == NULL) raise(SIGSEGV);
#endif
  if (b->status != 0) return lk_error_set(err, LK_UNAVAILABLE, "backend down");
#else
  (void)inst;
  (void)err;
#endif
  return LK_OK;
}

static const lk_provider_api kApi = {
    {sizeof(lk_provider_api), BROKEN_ABI_MAJOR, LK_ABI_MINOR},
    NAME,
    "0.0.1",
    LK_CAP_LIST | LK_CAP_HEALTH,
    LK_THREADING_CONCURRENT,
    0,
    kKeys,
    sizeof kKeys / sizeof kKeys[0],
    Create,
    Destroy,
    Fetch,
    List,
    Health,
};

#ifdef BROKEN_EXTRA_EXPORT
LK_EXPORT int broken_helper(void) { return 42; }
#endif

LK_EXPORT int32_t lk_provider_entry(uint16_t host_major, uint16_t host_minor,
                                    const lk_provider_api** out) {
  (void)host_minor;
#ifdef BROKEN_ENTRY_NO_OUT
  if (host_major != LK_ABI_MAJOR) return LK_FAILED_PRECONDITION; /* *out left unwritten */
#endif
  *out = &kApi;
  return host_major == LK_ABI_MAJOR ? LK_OK : LK_FAILED_PRECONDITION;
}
