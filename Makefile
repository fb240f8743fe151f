# Thin wrapper around CMake. `make demo`, `make test`, `make bench` and `make install` each work
# alone on a fresh Debian 12 machine as root: they install what they need first (`make deps`,
# idempotent).
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Every Debian package the build, the tests and the demo need.
DEB_PACKAGES := cmake ninja-build g++ pkg-config clang libclang-rt-14-dev \
  libsodium-dev libseccomp-dev libyaml-cpp-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libsqlite3-dev sqlite3 libarchive-dev nlohmann-json3-dev libcli11-dev zlib1g-dev libzstd-dev libdeflate-dev \
  runc busybox-static skopeo umoci oci-image-tool binutils file util-linux iproute2 hyperfine \
  buildah python3 python3-yaml time help2man \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler python3-grpcio python3-grpc-tools \
  libcurl4-openssl-dev libssl-dev docker-registry apache2-utils openssl jq \
  golang-docker-credential-helpers pass gnupg docker.io python3-jwt python3-cryptography openssh-client

# What only the benchmarks need on top (bench/realworld.sh: the Debian base and the two peers).
BENCH_PACKAGES := mmdebstrap

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps bench-deps configure build test release release-configure demo bench install sanitize \
  fuzz format clean

all: build

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${db:Status-Status}\n' $(DEB_PACKAGES) 2>/dev/null \
	  | awk '$$2=="installed"{print $$1}' | sort | comm -13 - <(printf '%s\n' $(DEB_PACKAGES) | sort)); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "deps: all $(words $(DEB_PACKAGES)) packages installed"; fi

# The test build is unoptimised and without debug info: it compiles about 2.5 times faster than
# -O2 -g, which keeps CI well inside its time budget. `make demo`, `make bench` and `make
# install` use the optimised Release build in $(RELEASE_BUILD): the shipped binaries, the
# providers, the SDK and the benchmarks, without the tests (they run in the test and sanitizer
# builds; compiling them at -O3 as well took CI about 6 minutes). CI compiles all of it.
TEST_FLAGS := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DCMAKE_C_FLAGS_DEBUG=-O0 \
  -DLATCHKEY_BUILD_BENCH=OFF
RELEASE_BUILD ?= build-release

configure:
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) -G Ninja $(TEST_FLAGS) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	bash tests/run_shell_tests.sh $(BUILD)

release-configure:
	@[ -f $(RELEASE_BUILD)/build.ninja ] || cmake -S . -B $(RELEASE_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release -DLATCHKEY_BUILD_TESTS=OFF $(CMAKE_FLAGS)

# Everything but the tests (benchmarks too), optimised: what CI compiles so it cannot break.
release: deps release-configure
	cmake --build $(RELEASE_BUILD) -j $(JOBS)

# The demo needs only what `make install` installs (latchkey_dist), optimised.
demo: deps release-configure
	cmake --build $(RELEASE_BUILD) -j $(JOBS) --target latchkey_dist
	bash examples/demo.sh $(RELEASE_BUILD)

bench-deps: deps
	@missing=$$(dpkg-query -W -f='$${Package} $${db:Status-Status}\n' $(BENCH_PACKAGES) 2>/dev/null \
	  | awk '$$2=="installed"{print $$1}' | sort | comm -13 - <(printf '%s\n' $(BENCH_PACKAGES) | sort)); \
	if [ -n "$$missing" ]; then \
	  echo "bench-deps: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "bench-deps: all $(words $(BENCH_PACKAGES)) packages installed"; fi

bench: bench-deps release
	bash bench/run.sh $(RELEASE_BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=staging-dir]
install: deps release-configure
	cmake --build $(RELEASE_BUILD) -j $(JOBS) --target latchkey_dist
	DESTDIR="$(DESTDIR)" cmake --install $(RELEASE_BUILD) --prefix "$(PREFIX)"

sanitize: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || cmake -S . -B $(ASAN_BUILD) -G Ninja \
	  -DLATCHKEY_SANITIZE=ON -DLATCHKEY_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) --timeout 900

fuzz: deps
	bash tests/fuzz/run.sh 60

format:
	git ls-files '*.cc' '*.h' '*.hpp' '*.c' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(RELEASE_BUILD)
