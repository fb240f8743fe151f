/* A provider whose behaviour the reference selects, for the host tests
 * (broker/provider_instance_test.cc). It returns well-formed and deliberately malformed
 * responses so the host's checks can be exercised through the real loader. Built three
 * times: "behave" (concurrent), "behave-serialized" (BEHAVE_SERIALIZED) and "behave-short"
 * (BEHAVE_SHORT_TABLE: a table whose struct_size ends before list/health). Written in C. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "latchkey/provider.h"

#define MAX_KV 16

struct lk_instance {
  const lk_host_api* host;
  lk_host_ctx* ctx;
  size_t n;
  char* keys[MAX_KV];
  uint8_t* values[MAX_KV]; /* host secure memory, instance context */
  size_t lens[MAX_KV];
  uint8_t* block; /* one instance block, never returned on purpose except by "instance-block" */
};

static int in_flight;

static const lk_config_key kConfig[] = {
    {"name", LK_CONFIG_STRING, LK_CONFIG_REQUIRED, "a name", NULL},
    {"count", LK_CONFIG_INT, 0, "a count", "3"},
    {"enabled", LK_CONFIG_BOOL, 0, "a switch", NULL},
    {"timeout", LK_CONFIG_DURATION, 0, "a duration", NULL},
    {"token", LK_CONFIG_STRING, LK_CONFIG_SECRET, "a secret", NULL},
    {"base", LK_CONFIG_PATH, 0, "a path", NULL},
};

static void Destroy(lk_instance* inst) {
  size_t i;
  if (inst == NULL) return;
  for (i = 0; i < inst->n; ++i) {
    free(inst->keys[i]);
    inst->host->secret_free(inst->ctx, inst->values[i]);
  }
  /* inst->block is left for the host to free at destroy, as the ABI allows. */
  free(inst);
}

static int32_t Create(const lk_host_api* host, lk_host_ctx* ctx, const lk_kv* config,
                      size_t config_count, lk_instance** out, lk_error* err) {
  size_t i;
  lk_instance* inst;
  *out = NULL;
  for (i = 0; i < config_count; ++i) {
    if (strcmp(config[i].key, "name") == 0 && strcmp(config[i].value, "fail-create") == 0) {
      return lk_error_set(err, LK_PERMISSION_DENIED, "create refused for %s", config[i].value);
    }
  }
  if (config_count > MAX_KV) return lk_error_set(err, LK_INVALID_ARGUMENT, "too many keys");
  inst = (lk_instance*)calloc(1, sizeof(*inst));
  if (inst == NULL) return lk_error_set(err, LK_RESOURCE_EXHAUSTED, "out of memory");
  inst->host = host;
  inst->ctx = ctx;
  for (i = 0; i < config_count; ++i) {
    size_t len = strlen(config[i].key);
    inst->keys[i] = (char*)malloc(len + 1);
    memcpy(inst->keys[i], config[i].key, len + 1);
    inst->values[i] = (uint8_t*)host->secret_alloc(ctx, config[i].value_len + 1);
    memcpy(inst->values[i], config[i].value, config[i].value_len);
    inst->lens[i] = config[i].value_len;
    inst->n++;
  }
  inst->block = (uint8_t*)host->secret_alloc(ctx, 8);
  memcpy(inst->block, "instance", 8);
  *out = inst;
  return LK_OK;
}

static int StartsWith(const char* s, const char* prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Returns `len` bytes copied from `bytes` in a call block of `len + extra` bytes. */
static int32_t Reply(lk_instance* inst, const lk_request* req, lk_secret* out, const void* bytes,
                     size_t len, size_t extra) {
  uint8_t* p = (uint8_t*)inst->host->secret_alloc(req->ctx, len + extra);
  if (p == NULL) return LK_RESOURCE_EXHAUSTED;
  memcpy(p, bytes, len);
  out->data = p;
  out->len = len;
  return LK_OK;
}

static void SleepMs(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static int32_t Fetch(lk_instance* inst, const lk_request* req, lk_secret* out, lk_error* err) {
  static uint8_t foreign[4] = {1, 2, 3, 4};
  const char* ref = req->ref;
  if (StartsWith(ref, "value:")) {
    return Reply(inst, req, out, ref + 6, strlen(ref + 6), 0);
  }
  if (StartsWith(ref, "big-block:")) {
    return Reply(inst, req, out, ref + 10, strlen(ref + 10), 10);
  }
  if (strcmp(ref, "empty") == 0) return LK_OK;
  if (strcmp(ref, "foreign") == 0) {
    out->data = foreign;
    out->len = sizeof(foreign);
    return LK_OK;
  }
  if (strcmp(ref, "instance-block") == 0) {
    out->data = inst->block;
    out->len = 8;
    return LK_OK;
  }
  if (StartsWith(ref, "leak:")) {
    void* extra = inst->host->secret_alloc(req->ctx, 16);
    (void)extra;
    return Reply(inst, req, out, ref + 5, strlen(ref + 5), 0);
  }
  if (strcmp(ref, "len-too-big") == 0) {
    int32_t rc = Reply(inst, req, out, "abcd", 4, 0);
    out->len = 5;
    return rc;
  }
  if (strcmp(ref, "null-data") == 0) {
    out->len = 5;
    return LK_OK;
  }
  if (strcmp(ref, "error-with-data") == 0) {
    Reply(inst, req, out, "oops", 4, 0);
    return lk_error_set(err, LK_NOT_FOUND, "nothing here");
  }
  if (StartsWith(ref, "error:")) {
    /* error:<code>:<message> */
    char* end = NULL;
    long code = strtol(ref + 6, &end, 10);
    return lk_error_set(err, (int32_t)code, "%s", (end && *end == ':') ? end + 1 : "");
  }
  if (strcmp(ref, "unterminated") == 0) {
    err->code = LK_UNAVAILABLE;
    memset(err->message, 'x', sizeof(err->message));
    return LK_UNAVAILABLE;
  }
  if (strcmp(ref, "crash") == 0) {
    /* A NULL dereference: SIGSEGV (for the process host's crash handling only). The sanitizer
       build's UndefinedBehaviorSanitizer would stop at the dereference with exit status 1
       instead, so there the same signal is raised directly. */
#if defined(__SANITIZE_ADDRESS__)
    raise(SIGSEGV);
#endif
    volatile int* nowhere = NULL;
    *nowhere = 1;
    return LK_INTERNAL;
  }
  if (StartsWith(ref, "exit:")) {
    exit(atoi(ref + 5)); /* a plugin that exits the process (process host tests only) */
  }
  if (strcmp(ref, "scribble") == 0) {
    /* Writes garbage on the process host's socket, fd 3 (process host tests only). */
    static const char junk[] = "\x7f\x7f\x7f\x7fnot a frame";
    if (write(3, junk, sizeof(junk) - 1) < 0) return LK_INTERNAL;
    SleepMs(200);
    return Reply(inst, req, out, "scribbled", 9, 0);
  }
  if (strcmp(ref, "ptrace") == 0) {
    /* Tries to attach to its parent (the broker): the seccomp allowlist refuses ptrace. */
    long rc = syscall(SYS_ptrace, 16L /* PTRACE_ATTACH */, (long)getppid(), 0L, 0L);
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "rc=%ld errno=%d", rc, rc < 0 ? errno : 0);
    return Reply(inst, req, out, buf, (size_t)n, 0);
  }
  if (strcmp(ref, "inside") == 0) {
    /* The process as the plugin sees it: environment entries and open descriptors. */
    extern char** environ;
    char buf[256];
    int n = 0, envc = 0;
    DIR* dir = opendir("/proc/self/fd");
    struct dirent* e;
    while (environ[envc] != NULL) ++envc;
    n = snprintf(buf, sizeof(buf), "env=%d fds=", envc);
    if (dir != NULL) {
      int first = 1;
      while ((e = readdir(dir)) != NULL && n < (int)sizeof(buf) - 8) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(dir)) continue;
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%s", first ? "" : ",", e->d_name);
        first = 0;
      }
      closedir(dir);
    }
    return Reply(inst, req, out, buf, (size_t)n, 0);
  }
  if (strcmp(ref, "hang") == 0) {
    /* A backend that never answers and never looks at the deadline. */
    for (;;) SleepMs(1000);
  }
  if (StartsWith(ref, "sleep:")) {
    /* Answers after <ms>, ignoring the deadline. */
    SleepMs(atoi(ref + 6));
    return Reply(inst, req, out, "slept", 5, 0);
  }
  if (strcmp(ref, "deadline") == 0) {
    int32_t rc = inst->host->check_deadline(req->ctx);
    if (rc != LK_OK) return lk_error_set(err, rc, "check_deadline said %d", (int)rc);
    return Reply(inst, req, out, "in time", 7, 0);
  }
  if (StartsWith(ref, "log:")) {
    inst->host->log(req->ctx, LK_LOG_WARN, ref + 4);
    return LK_OK;
  }
  if (strcmp(ref, "free-foreign") == 0) {
    inst->host->secret_free(req->ctx, foreign);
    return LK_OK;
  }
  if (StartsWith(ref, "config:")) {
    size_t i;
    for (i = 0; i < inst->n; ++i) {
      if (strcmp(inst->keys[i], ref + 7) == 0) {
        return Reply(inst, req, out, inst->values[i], inst->lens[i], 0);
      }
    }
    return lk_error_set(err, LK_NOT_FOUND, "config key %s was not passed", ref + 7);
  }
  if (strcmp(ref, "context") == 0) {
    char buf[400];
    int n = snprintf(buf, sizeof(buf),
                     "uid=%u step=%u line=%u id=%s session=%s build=%s stage=%s "
                     "deadline=%s",
                     req->requester_uid, req->step_index, req->dockerfile_line, req->secret_id,
                     req->session_id, req->build_id, req->stage,
                     req->deadline_unix_ms == 0 ? "none" : "set");
    return Reply(inst, req, out, buf, (size_t)n, 0);
  }
  if (strcmp(ref, "metadata") == 0) {
    int32_t rc = Reply(inst, req, out, "meta", 4, 0);
    out->flags |= LK_SECRET_NO_CACHE;
    out->expires_unix_ms = 1234;
    memcpy(out->version, "v7", 3);
    return rc;
  }
  if (StartsWith(ref, "rendezvous:")) {
    /* Waits up to <ms> for another fetch to be in flight; returns the most seen at once. */
    int wait_ms = atoi(ref + 11);
    int most = __atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
    int waited;
    char buf[16];
    int n;
    for (waited = 0; waited < wait_ms && most < 2; ++waited) {
      int now = __atomic_load_n(&in_flight, __ATOMIC_SEQ_CST);
      if (now > most) most = now;
      SleepMs(1);
    }
    if (most >= 2) SleepMs(20); /* let the other call see us too */
    __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
    n = snprintf(buf, sizeof(buf), "max=%d", most);
    return Reply(inst, req, out, buf, (size_t)n, 0);
  }
  return lk_error_set(err, LK_NOT_FOUND, "no behaviour for %s", ref);
}

static int32_t List(lk_instance* inst, lk_list_emit_fn emit, void* arg, lk_error* err) {
  (void)inst;
  (void)err;
  emit(arg, "alpha");
  emit(arg, "beta");
  return LK_OK;
}

static int32_t Health(lk_instance* inst, lk_error* err) {
  size_t i;
  for (i = 0; i < inst->n; ++i) {
    if (strcmp(inst->keys[i], "name") == 0 && inst->lens[i] == 9 &&
        memcmp(inst->values[i], "unhealthy", 9) == 0) {
      return lk_error_set(err, LK_UNAVAILABLE, "backend down");
    }
  }
  return LK_OK;
}

static const lk_provider_api kApi = {
#if defined(BEHAVE_SHORT_TABLE)
    {offsetof(lk_provider_api, list), LK_ABI_MAJOR, LK_ABI_MINOR},
    "behave-short",
#elif defined(BEHAVE_SERIALIZED)
    {sizeof(lk_provider_api), LK_ABI_MAJOR, LK_ABI_MINOR},
    "behave-serialized",
#else
    {sizeof(lk_provider_api), LK_ABI_MAJOR, LK_ABI_MINOR},
    "behave",
#endif
    "1.0.0",
    LK_CAP_LIST | LK_CAP_HEALTH,
#if defined(BEHAVE_SERIALIZED)
    LK_THREADING_SERIALIZED,
#else
    LK_THREADING_CONCURRENT,
#endif
    0,
    kConfig,
    sizeof(kConfig) / sizeof(kConfig[0]),
    &Create,
    &Destroy,
    &Fetch,
    /* Present even in the short table: the host must not read them past struct_size. */
    &List,
    &Health,
};

LK_EXPORT int32_t lk_provider_entry(uint16_t host_major, uint16_t host_minor,
                                    const lk_provider_api** out) {
  (void)host_minor;
  *out = &kApi;
  return host_major == LK_ABI_MAJOR ? LK_OK : LK_FAILED_PRECONDITION;
}
