// Compiles latchkey/provider.h (and the C++ helper) as C++ and checks that the layout the C++
// compiler sees matches the C one pinned in abi_layout_test.c.
#include <cstddef>
#include <cstdio>

#include "latchkey/provider.h"
#include "latchkey/provider.hpp"

static_assert(sizeof(lk_provider_api) == 96, "C++ sees a different lk_provider_api");
static_assert(offsetof(lk_provider_api, health) == 88, "C++ sees a different lk_provider_api");
static_assert(sizeof(lk_request) == 80 && offsetof(lk_request, ctx) == 72, "lk_request");
static_assert(sizeof(lk_secret) == 104 && offsetof(lk_secret, version) == 40, "lk_secret");
static_assert(sizeof(lk_host_api) == 40 && offsetof(lk_host_api, check_deadline) == 32, "host");
static_assert(sizeof(lk_error) == 528 && offsetof(lk_error, message) == 16, "lk_error");
static_assert(sizeof(lk_kv) == 24 && sizeof(lk_config_key) == 32, "config structs");

int main() {
  std::printf("abi header compiles as C++\n");
  return 0;
}
